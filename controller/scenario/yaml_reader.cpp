#include "controller/scenario/yaml_reader.h"

#include <map>

#include "core/suggest.h"

namespace faultline {
namespace {
std::string_view type_name(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Null:
      return "empty";
    default:
      return "undefined";
  }
}

// Whether a key of `map` was already reported as unknown with `key` as its suggestion.
bool suggested_instead(const YamlReader& reader, const Diagnostics& reported, const YAML::Node& map,
                       std::string_view key) {
  const std::string_view candidates[] = {key};
  const std::string suggestion = did_you_mean(key, candidates);  // " (did you mean 'key'?)"
  for (auto it = map.begin(); it != map.end(); ++it) {
    const SourceLocation at = reader.where(it->first);
    for (const Diagnostic& d : reported)
      if (d.where.line == at.line && d.where.column == at.column &&
          d.message.find(suggestion) != std::string::npos)
        return true;
  }
  return false;
}
}  // namespace

SourceLocation YamlReader::where(const YAML::Node& node) const {
  if (!node.IsDefined()) return {file_, 1, 1};
  const YAML::Mark m = node.Mark();
  if (m.is_null()) return {file_, 1, 1};
  return {file_, m.line + 1, m.column + 1};
}

void YamlReader::error(const YAML::Node& node, std::string message) {
  error(where(node), std::move(message));
}

void YamlReader::error(const SourceLocation& at, std::string message) {
  diagnostics_.push_back({at, std::move(message)});
}

bool YamlReader::mapping(const YAML::Node& node, std::string_view what,
                         std::span<const std::string_view> allowed) {
  if (!node.IsMap()) {
    error(node,
          fmt::format("{} must be a mapping of keys to values, not {}", what, type_name(node)));
    return false;
  }
  // yaml-cpp keeps every duplicate key but reads only the first, so a second `faults:` would be
  // silently ignored.
  std::map<std::string, int, std::less<>> first_line;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node& key = it->first;
    if (!key.IsScalar()) {
      error(key, fmt::format("{} has a key that is not a plain name", what));
      continue;
    }
    const std::string name = key.Scalar();
    if (auto [first, inserted] = first_line.try_emplace(name, where(key).line); !inserted) {
      error(key, fmt::format("key '{}' appears twice in {} (first at line {}); merge them into one",
                             name, what, first->second));
      continue;
    }
    bool known = false;
    for (std::string_view a : allowed) known |= a == name;
    if (!known)
      error(key, fmt::format("unknown key '{}' in {}{}; allowed keys: {}", name, what,
                             did_you_mean(name, allowed), fmt::join(allowed, ", ")));
  }
  return true;
}

bool YamlReader::sequence(const YAML::Node& node, std::string_view what) {
  if (!node.IsSequence()) {
    error(node, fmt::format("{} must be a list, not {}; start each item with '- '", what,
                            type_name(node)));
    return false;
  }
  return true;
}

bool YamlReader::require(const YAML::Node& map, std::string_view key, std::string_view what) {
  if (map.IsMap() && map[std::string(key)]) return true;
  // A misspelt key (`fualts`) was already reported with this key as the suggestion; saying that
  // the key is also missing would only repeat it.
  if (map.IsMap() && suggested_instead(*this, diagnostics_, map, key)) return false;
  error(map, fmt::format("{} is missing the required key '{}'", what, key));
  return false;
}

std::optional<std::string> YamlReader::scalar(const YAML::Node& value, std::string_view what) {
  if (!value.IsScalar()) {
    error(value, fmt::format("{} must be a single value, not {}", what, type_name(value)));
    return std::nullopt;
  }
  return value.Scalar();
}

std::optional<std::string> YamlReader::text(const YAML::Node& map, std::string_view key,
                                            std::string_view what) {
  const YAML::Node value = map[std::string(key)];
  if (!value) return std::nullopt;
  return scalar(value, what);
}

std::optional<int64_t> YamlReader::integer(const YAML::Node& map, std::string_view key,
                                           std::string_view what, int64_t min, int64_t max) {
  const YAML::Node value = map[std::string(key)];
  if (!value) return std::nullopt;
  auto s = scalar(value, what);
  if (!s) return std::nullopt;
  int64_t v = 0;
  try {
    size_t used = 0;
    v = std::stoll(*s, &used);
    if (used != s->size()) throw std::invalid_argument("trailing");
  } catch (const std::exception&) {
    error(value, fmt::format("{} must be a whole number (got '{}')", what, *s));
    return std::nullopt;
  }
  if (v < min || v > max) {
    error(value, fmt::format("{} must be between {} and {} (got {})", what, min, max, v));
    return std::nullopt;
  }
  return v;
}

std::optional<Duration> YamlReader::duration(const YAML::Node& map, std::string_view key,
                                             std::string_view what, Duration min) {
  const YAML::Node value = map[std::string(key)];
  if (!value) return std::nullopt;
  auto s = scalar(value, what);
  if (!s) return std::nullopt;
  auto d = parse_duration(*s);
  if (!d) {
    error(value, fmt::format("{}: {}", what, d.error().message));
    return std::nullopt;
  }
  if (*d < min) {
    error(value, fmt::format("{} must be at least {} (got {})", what, format_duration(min),
                             format_duration(*d)));
    return std::nullopt;
  }
  return *d;
}

std::optional<Percent> YamlReader::percent(const YAML::Node& map, std::string_view key,
                                           std::string_view what) {
  const YAML::Node value = map[std::string(key)];
  if (!value) return std::nullopt;
  auto s = scalar(value, what);
  if (!s) return std::nullopt;
  auto p = parse_percent(*s);
  if (!p) {
    error(value, fmt::format("{}: {}", what, p.error().message));
    return std::nullopt;
  }
  if (p->basis_points > 10000) {
    error(value, fmt::format("{} must be between 0% and 100% (got {})", what, format_percent(*p)));
    return std::nullopt;
  }
  return *p;
}

std::optional<bool> YamlReader::boolean(const YAML::Node& map, std::string_view key,
                                        std::string_view what) {
  const YAML::Node value = map[std::string(key)];
  if (!value) return std::nullopt;
  auto s = scalar(value, what);
  if (!s) return std::nullopt;
  if (*s == "true") return true;
  if (*s == "false") return false;
  error(value, fmt::format("{} must be true or false (got '{}')", what, *s));
  return std::nullopt;
}

std::vector<std::string> YamlReader::text_list(const YAML::Node& map, std::string_view key,
                                               std::string_view what) {
  std::vector<std::string> out;
  const YAML::Node value = map[std::string(key)];
  if (!value) return out;
  if (value.IsScalar()) return {value.Scalar()};
  if (!sequence(value, what)) return out;
  for (const YAML::Node& item : value)
    if (auto s = scalar(item, fmt::format("each item of {}", what))) out.push_back(*s);
  return out;
}

}  // namespace faultline
