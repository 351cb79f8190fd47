#include "injectors/container/container_selector.h"

#include <fmt/format.h>

namespace faultline {

std::string ContainerSelector::describe() const {
  std::string out = "runtime=" + runtime;
  const auto add = [&](std::string_view key, const std::optional<std::string>& value) {
    if (value) out += fmt::format(" {}={}", key, *value);
  };
  add("name", name);
  add("id", id);
  add("image", image);
  for (const auto& [key, value] : labels) out += fmt::format(" label {}={}", key, value);
  add("pod.namespace", pod_namespace);
  add("pod.name", pod_name);
  add("pod.container", pod_container);
  return out;
}

bool glob_matches(std::string_view pattern, std::string_view text) {
  // Iterative matching with one backtrack point: linear enough for names, and no recursion.
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace faultline
