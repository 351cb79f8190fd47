#include "controller/scenario/scalar_items.h"

#include <fmt/format.h>

namespace faultline::scenario_parts {

std::vector<std::pair<std::string, yaml::Node>> scalar_items(YamlReader& r, const yaml::Node& value,
                                                             const std::string& what) {
  std::vector<std::pair<std::string, yaml::Node>> out;
  if (value.is_scalar()) return {{value.scalar(), value}};
  if (!r.sequence(value, what)) return out;
  for (const yaml::Node& item : value) {
    if (item.is_scalar())
      out.emplace_back(item.scalar(), item);
    else
      r.error(item, fmt::format("each item of {} must be a single value", what));
  }
  return out;
}

}  // namespace faultline::scenario_parts
