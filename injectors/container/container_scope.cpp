#include "injectors/container/container_scope.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace faultline {

std::string ContainerScope::describe() const {
  return fmt::format("{} container {} ({})", runtime, name.empty() ? id.substr(0, 12) : name,
                     id.substr(0, 12));
}

nlohmann::json ContainerScope::to_json() const {
  return {{"runtime", runtime}, {"id", id},         {"name", name},
          {"image", image},     {"init_pid", init_pid}, {"cgroup", cgroup}};
}

}  // namespace faultline
