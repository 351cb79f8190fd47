#include "containers/resolve.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <set>

#include "containers/cgroup_scan.h"
#include "containers/containerd_client.h"
#include "containers/engine_api.h"
#include "containers/pin.h"

namespace faultline {
namespace {

// Each runtime's API gets this long to answer; a host with a hung dockerd still gets a plan.
constexpr Duration kApiTimeout = std::chrono::seconds(5);

bool image_matches(const std::string& pattern, const std::string& image) {
  if (glob_matches(pattern, image)) return true;
  // A pattern without a tag matches every tag of that image ("nginx" matches "nginx:1.25").
  if (pattern.find(':') == std::string::npos && pattern.find('*') == std::string::npos) {
    const size_t colon = image.rfind(':');
    const size_t slash = image.rfind('/');
    if (colon != std::string::npos && (slash == std::string::npos || colon > slash))
      return image.substr(0, colon) == pattern;
  }
  return false;
}

bool label_is(const Container& c, std::string_view key, const std::string& pattern) {
  const auto it = c.labels.find(std::string(key));
  return it != c.labels.end() && glob_matches(pattern, it->second);
}

std::string protected_reason(const Container& c, const ContainerProtection& protection) {
  for (const ContainerSelector& s : protection.agent_policy)
    if (container_matches(s, c))
      return fmt::format("protected by the agent's policy ({})", s.describe());
  for (const ContainerSelector& s : protection.selectors)
    if (container_matches(s, c))
      return fmt::format("protected by blast_radius.protected_containers ({})", s.describe());
  return "";
}

void add_engine(const std::string& runtime, std::vector<Container>& out,
                std::vector<RuntimeAnswer>& answers) {
  const std::string path = engine_socket_path(runtime);
  RuntimeAnswer answer{.runtime = runtime, .source = fmt::format("{} API at {}", runtime, path)};
  auto listed = engine_containers(runtime, path, kApiTimeout);
  if (!listed)
    answer.problem = listed.error().message;
  else if (!*listed)
    answer.problem = "no API socket answers there";
  else {
    answer.containers = (*listed)->size();
    for (Container& c : **listed) out.push_back(std::move(c));
  }
  answers.push_back(std::move(answer));
}

void add_containerd(std::vector<Container>& out, std::vector<RuntimeAnswer>& answers) {
  const std::string path = containerd_socket_path();
  RuntimeAnswer answer{.runtime = "containerd",
                       .source = fmt::format("containerd API at {}", path)};
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    answer.problem = "no API socket answers there";
  } else if (auto listed = containerd_containers(path, kApiTimeout); !listed) {
    answer.problem = listed.error().message;
  } else {
    answer.containers = listed->size();
    for (Container& c : *listed) out.push_back(std::move(c));
  }
  answers.push_back(std::move(answer));
}

}  // namespace

bool container_matches(const ContainerSelector& s, const Container& c) {
  if (s.runtime != "auto" && s.runtime != c.runtime) return false;
  if (s.id && !(s.id->size() >= 4 && c.id.starts_with(*s.id))) return false;
  if (s.name && !glob_matches(*s.name, c.name)) return false;
  if (s.image && !image_matches(*s.image, c.image)) return false;
  for (const auto& [key, value] : s.labels) {
    const auto it = c.labels.find(key);
    if (it == c.labels.end() || it->second != value) return false;
  }
  if (s.pod_namespace && !label_is(c, kPodNamespaceLabel, *s.pod_namespace)) return false;
  if (s.pod_name && !label_is(c, kPodNameLabel, *s.pod_name)) return false;
  if (s.pod_container && !label_is(c, kPodContainerLabel, *s.pod_container)) return false;
  return true;
}

std::vector<Container> list_containers(const std::string& runtime,
                                       std::vector<RuntimeAnswer>& answers) {
  std::vector<Container> out;
  const bool any = runtime == "auto";
  if (any || runtime == "docker") add_engine("docker", out, answers);
  if (any || runtime == "podman") add_engine("podman", out, answers);
  if (any || runtime == "containerd") add_containerd(out, answers);
  // Containers that no API reported (CRI-O, podman without its service, a runtime whose socket
  // is elsewhere) are still found by their cgroup path, with their id alone.
  std::set<std::string> known;
  for (const Container& c : out) known.insert(c.id);
  size_t found = 0;
  for (Container& c : cgroup_containers()) {
    if (known.contains(c.id) || (!any && c.runtime != runtime)) continue;
    out.push_back(std::move(c));
    ++found;
  }
  answers.push_back({.runtime = any ? "any" : runtime, .source = "cgroup path",
                     .containers = found});
  return out;
}

Result<ContainerResolution> resolve_containers(const ContainerSelector& selector,
                                               const ContainerProtection& protection) {
  ContainerResolution r;
  for (Container& c : list_containers(selector.runtime, r.runtimes)) {
    if (!container_matches(selector, c)) continue;
    if (std::string why = protected_reason(c, protection); !why.empty()) {
      r.excluded.push_back({std::move(c), std::move(why)});
      continue;
    }
    auto pinned = pin_container(c);
    if (!pinned) {
      r.excluded.push_back({std::move(c), pinned.error().message});
      continue;
    }
    r.matched.push_back(std::move(*pinned));
  }
  std::sort(r.matched.begin(), r.matched.end(),
            [](const ContainerScope& a, const ContainerScope& b) { return a.id < b.id; });
  return r;
}

std::vector<Protection::ContainerCgroup> protected_container_cgroups(
    const ContainerProtection& protection) {
  std::vector<Protection::ContainerCgroup> out;
  if (protection.selectors.empty() && protection.agent_policy.empty()) return out;
  std::vector<RuntimeAnswer> answers;
  for (const Container& c : list_containers("auto", answers)) {
    const std::string why = protected_reason(c, protection);
    if (why.empty()) continue;
    auto pinned = pin_container(c);
    if (!pinned || pinned->cgroup.empty() || pinned->cgroup == "/") continue;
    out.push_back({pinned->cgroup, fmt::format("inside {}, {}", pinned->describe(), why)});
  }
  return out;
}

Result<std::vector<ContainerScope>> choose_containers(const ContainerResolution& resolution,
                                                      const ContainerSelector& selector,
                                                      int64_t max_containers,
                                                      std::mt19937_64& rng) {
  if (resolution.matched.empty()) {
    std::string why;
    for (const ExcludedContainer& e : resolution.excluded)
      why += fmt::format("; {} {}: {}", e.container.runtime,
                         e.container.name.empty() ? e.container.id : e.container.name, e.reason);
    for (const RuntimeAnswer& a : resolution.runtimes)
      if (!a.problem.empty()) why += fmt::format("; {}: {}", a.source, a.problem);
    return fail("no running container matches {}{}", selector.describe(), why);
  }
  const int64_t n = selector.count.of(static_cast<int64_t>(resolution.matched.size()));
  if (max_containers > 0 && n > max_containers)
    return fail(
        "{} selects {} containers ({} of {} matching), more than blast_radius.max_containers "
        "allows ({}); raise max_containers or select fewer (count: 1)",
        selector.describe(), n, selector.count.text(), resolution.matched.size(), max_containers);
  std::vector<ContainerScope> chosen = resolution.matched;
  std::shuffle(chosen.begin(), chosen.end(), rng);
  chosen.resize(static_cast<size_t>(std::min<int64_t>(n, static_cast<int64_t>(chosen.size()))));
  std::sort(chosen.begin(), chosen.end(),
            [](const ContainerScope& a, const ContainerScope& b) { return a.id < b.id; });
  return chosen;
}

}  // namespace faultline
