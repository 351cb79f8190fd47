#include "controller/scenario/parse_containers.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

#include "controller/scenario/parse_hosts.h"
#include "injectors/container/container_limits.h"

namespace faultline::scenario_parts {
namespace {

constexpr std::string_view kContainerKeys[] = {"runtime", "name",  "id",      "image",
                                               "label",   "labels", "count", "percent"};
constexpr std::string_view kPodKeys[] = {"runtime", "namespace", "name",
                                         "container", "count", "percent"};
constexpr std::string_view kProtectedKeys[] = {"runtime", "name", "id", "image", "label",
                                               "labels"};

void parse_runtime(YamlReader& r, const yaml::Node& node, const std::string& what,
                   ContainerSelector& s) {
  auto runtime = r.text(node, "runtime", what + ".runtime");
  if (!runtime) return;
  if (std::find(std::begin(kContainerRuntimes), std::end(kContainerRuntimes), *runtime) ==
      std::end(kContainerRuntimes)) {
    r.error(node["runtime"], fmt::format("{}.runtime '{}' is not known; use auto, docker, podman, "
                                         "containerd or cri-o",
                                         what, *runtime));
    return;
  }
  s.runtime = *runtime;
}

// `label: {app: web}` and `labels: {app: web}` are the same; a label written as "app=web" too.
void parse_labels(YamlReader& r, const yaml::Node& node, const std::string& what,
                  ContainerSelector& s) {
  for (std::string_view key : {"label", "labels"}) {
    const yaml::Node value = node[key];
    if (!value) continue;
    if (value.is_scalar()) {
      const std::string text = value.scalar();
      const size_t eq = text.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
        r.error(value, fmt::format("{}.{} '{}' is not a label; write {{app: web}} or app=web",
                                   what, key, text));
        continue;
      }
      s.labels[text.substr(0, eq)] = text.substr(eq + 1);
      continue;
    }
    for (auto& [k, v] : r.labels(value, fmt::format("{}.{}", what, key))) s.labels[k] = v;
  }
}

void parse_count(YamlReader& r, const yaml::Node& node, const std::string& what,
                 ContainerSelector& s) {
  if (node["count"] && node["percent"]) {
    r.error(node["percent"], fmt::format("{} has both count and percent; keep one (neither: "
                                         "every matching container)",
                                         what));
  } else if (auto n = r.integer(node, "count", what + ".count", 1, 100000)) {
    s.count = Count{.mode = Count::Mode::Number, .number = *n};
  } else if (auto p = host_share(r, node, "percent", what + ".percent")) {
    s.count = Count{.mode = Count::Mode::Share, .share = *p};
  }
}

void parse_fields(YamlReader& r, const yaml::Node& node, const std::string& what,
                  ContainerSelector& s) {
  parse_runtime(r, node, what, s);
  s.name = r.text(node, "name", what + ".name");
  s.image = r.text(node, "image", what + ".image");
  s.id = r.text(node, "id", what + ".id");
  parse_labels(r, node, what, s);
  // Sizes: what the agents that resolve it would refuse.
  if (auto problem = container_selector_problem(s, what); problem) {
    const yaml::Node at = node[problem->field];
    r.error(at ? at : (node["label"] ? node["label"] : node), problem->message);
  }
}

}  // namespace

ContainerSelector parse_containers(YamlReader& r, const yaml::Node& node, const std::string& what,
                                   bool pods) {
  ContainerSelector s;
  const std::span<const std::string_view> keys = pods ? std::span<const std::string_view>(kPodKeys)
                                                     : std::span<const std::string_view>(kContainerKeys);
  if (!r.mapping(node, what, keys)) return s;
  if (pods) {
    parse_runtime(r, node, what, s);
    s.pod_namespace = r.text(node, "namespace", what + ".namespace");
    s.pod_name = r.text(node, "name", what + ".name");
    s.pod_container = r.text(node, "container", what + ".container");
    if (auto problem = container_selector_problem(s, what); problem) {
      const std::string key = problem->field.starts_with("pod_") ? problem->field.substr(4)
                                                                  : problem->field;
      // The agent names the field as its wire does (pod_namespace); the file says namespace.
      std::string message = problem->message;
      if (const size_t at = message.find(".pod_"); at != std::string::npos) message.erase(at + 1, 4);
      r.error(node[key] ? node[key] : node, std::move(message));
    }
    if (!s.pod_namespace && !s.pod_name && !s.pod_container)
      r.error(node, fmt::format("{} does not say which pods; give namespace, name (a glob such "
                                "as checkout-*), container, or several of them",
                                what));
  } else {
    parse_fields(r, node, what, s);
    if (!node["name"] && !node["id"] && !node["image"] && !node["label"] && !node["labels"])
      r.error(node, fmt::format("{} does not say which containers; give name, id, image or "
                                "labels (or several: a container then needs all)",
                                what));
  }
  parse_count(r, node, what, s);
  return s;
}

ContainerSelector parse_protected_container(YamlReader& r, const yaml::Node& node,
                                            const std::string& what) {
  ContainerSelector s;
  if (!r.mapping(node, what, kProtectedKeys)) return s;
  parse_fields(r, node, what, s);
  if (!node["name"] && !node["id"] && !node["image"] && !node["label"] && !node["labels"])
    r.error(node, fmt::format("{} protects nothing; give name, id, image or labels", what));
  return s;
}

}  // namespace faultline::scenario_parts
