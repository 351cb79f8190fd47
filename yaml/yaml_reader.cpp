#include "yaml/yaml_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>
#include <unordered_map>

#include "core/suggest.h"

namespace faultline {
namespace {
std::string_view type_name(const yaml::Node& n) {
  switch (n.kind()) {
    case yaml::Kind::map:
      return "a mapping";
    case yaml::Kind::sequence:
      return "a list";
    case yaml::Kind::scalar:
      return "a scalar";
    case yaml::Kind::null:
      return "empty";
    case yaml::Kind::undefined:
      break;
  }
  return "undefined";
}

// libyaml's words for the syntax errors people make most, with what to do about them. Matched
// on the problem and, where one problem has several causes, the context it was found in or the
// character it stopped at (`at`).
std::string explain_yaml_error(const yaml::SyntaxError& e, char at) {
  struct Hint {
    std::string_view problem;
    std::string_view context;  // empty: any
    std::string_view fix;
  };
  static constexpr Hint kHints[] = {
      {"mapping values are not allowed in this context", "",
       "a ':' where no key can start; line this key up with the keys above it, or quote a value "
       "that contains ': '"},
      {"did not find expected key", "while parsing a block mapping",
       "this line is indented like nothing above it; line it up with its sibling keys"},
      {"did not find expected '-' indicator", "while parsing a block collection",
       "this line is indented like nothing above it; line it up with its siblings (the keys of "
       "a list item line up with the key after its '- ')"},
      {"did not find expected ',' or '}'", "while parsing a flow mapping",
       "a '{' is not closed; add the missing '}'"},
      {"did not find expected ',' or ']'", "while parsing a flow sequence",
       "a '[' is not closed; add the missing ']'"},
  };
  for (const Hint& h : kHints)
    if (e.problem == h.problem && (h.context.empty() || e.context == h.context))
      return fmt::format("YAML syntax: {}: {}", e.problem, h.fix);
  // A ']' or '}' where a value should start (`a: ]`): libyaml says only that no value was found.
  if (e.problem == "did not find expected node content" && (at == ']' || at == '}'))
    return fmt::format("YAML syntax: {}: this closes what it did not open; close each '[' with "
                       "']' and each '{{' with '}}'",
                       e.problem);
  if (e.context.empty()) return fmt::format("YAML syntax: {}", e.problem);
  return fmt::format("YAML syntax: {} {} (line {})", e.problem, e.context, e.context_at.line + 1);
}

// The column of a tab in the indentation of `line` (1-based), or 0.
int tab_in_indentation(std::string_view text, int line) {
  size_t start = 0;
  for (int l = 1; l < line && start != std::string_view::npos; ++l) {
    start = text.find('\n', start);
    if (start != std::string_view::npos) ++start;
  }
  if (start == std::string_view::npos) return 0;
  for (size_t i = start; i < text.size() && (text[i] == ' ' || text[i] == '\t'); ++i)
    if (text[i] == '\t') return static_cast<int>(i - start) + 1;
  return 0;
}

}  // namespace

SourceLocation YamlReader::where(const yaml::Node& node) const {
  if (!node.defined()) return {file_, 1, 1};
  const yaml::Mark m = node.mark();
  return {file_, m.line + 1, m.column + 1};
}

void YamlReader::error(const yaml::Node& node, std::string message) {
  error(where(node), std::move(message));
}

void YamlReader::error(const SourceLocation& at, std::string message) {
  at_place_[place_key(at)].push_back(diagnostics_.size());
  diagnostics_.push_back({at, std::move(message)});
}

int64_t YamlReader::place_key(const SourceLocation& at) {
  return (static_cast<int64_t>(at.line) << 32) | static_cast<uint32_t>(at.column);
}

bool YamlReader::suggested_instead(const yaml::Node& map, std::string_view key) const {
  const std::string_view candidates[] = {key};
  const std::string suggestion = did_you_mean(key, candidates);  // " (did you mean 'key'?)"
  for (auto it = map.begin(); it != map.end(); ++it) {
    const auto reported = at_place_.find(place_key(where(it->first)));
    if (reported == at_place_.end()) continue;
    for (size_t i : reported->second)
      if (diagnostics_[i].message.find(suggestion) != std::string::npos) return true;
  }
  return false;
}

bool YamlReader::mapping(const yaml::Node& node, std::string_view what,
                         std::span<const std::string_view> allowed) {
  if (!node.is_map()) {
    error(node,
          fmt::format("{} must be a mapping of keys to values, not {}", what, type_name(node)));
    return false;
  }
  // A lookup reads only the first of two equal keys, so a second `faults:` would be silently
  // ignored.
  std::map<std::string, int, std::less<>> first_line;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const yaml::Node key = it->first;
    if (!key.is_scalar()) {
      error(key, fmt::format("{} has a key that is not a plain name", what));
      continue;
    }
    const std::string name = key.scalar();
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

bool YamlReader::sequence(const yaml::Node& node, std::string_view what) {
  if (!node.is_sequence()) {
    error(node, fmt::format("{} must be a list, not {}; start each item with '- '", what,
                            type_name(node)));
    return false;
  }
  return true;
}

bool YamlReader::require(const yaml::Node& map, std::string_view key, std::string_view what) {
  if (map.is_map() && map[key]) return true;
  // A misspelt key (`fualts`) was already reported with this key as the suggestion; saying that
  // the key is also missing would only repeat it.
  if (map.is_map() && suggested_instead(map, key)) return false;
  error(map, fmt::format("{} is missing the required key '{}'", what, key));
  return false;
}

std::optional<std::string> YamlReader::scalar(const yaml::Node& value, std::string_view what) {
  if (!value.is_scalar()) {
    error(value, fmt::format("{} must be a single value, not {}", what, type_name(value)));
    return std::nullopt;
  }
  return value.scalar();
}

std::optional<std::string> YamlReader::text(const yaml::Node& map, std::string_view key,
                                            std::string_view what) {
  const yaml::Node value = map[key];
  if (!value) return std::nullopt;
  return scalar(value, what);
}

std::optional<int64_t> YamlReader::integer(const yaml::Node& map, std::string_view key,
                                           std::string_view what, int64_t min, int64_t max) {
  const yaml::Node value = map[key];
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

std::optional<Duration> YamlReader::duration(const yaml::Node& map, std::string_view key,
                                             std::string_view what, Duration min) {
  const yaml::Node value = map[key];
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

std::optional<Percent> YamlReader::percent(const yaml::Node& map, std::string_view key,
                                           std::string_view what) {
  const yaml::Node value = map[key];
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

std::optional<bool> YamlReader::boolean(const yaml::Node& map, std::string_view key,
                                        std::string_view what) {
  const yaml::Node value = map[key];
  if (!value) return std::nullopt;
  auto s = scalar(value, what);
  if (!s) return std::nullopt;
  if (*s == "true") return true;
  if (*s == "false") return false;
  error(value, fmt::format("{} must be true or false (got '{}')", what, *s));
  return std::nullopt;
}

std::vector<std::string> YamlReader::text_list(const yaml::Node& map, std::string_view key,
                                               std::string_view what) {
  std::vector<std::string> out;
  const yaml::Node value = map[key];
  if (!value) return out;
  if (value.is_scalar()) return {value.scalar()};
  if (!sequence(value, what)) return out;
  for (const yaml::Node& item : value)
    if (auto s = scalar(item, fmt::format("each item of {}", what))) out.push_back(*s);
  return out;
}

std::map<std::string, std::string> YamlReader::labels(const yaml::Node& node,
                                                      std::string_view what) {
  std::map<std::string, std::string> labels;
  if (!node.is_map()) {
    error(node, fmt::format("{} must be a mapping of label names to values, such as "
                            "{{role: app}}",
                            what));
    return labels;
  }
  if (node.size() == 0)
    error(node, fmt::format("{} is empty; give at least one label, such as {{role: app}}, "
                            "or leave labels out",
                            what));
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.is_scalar() || it->first.scalar().empty()) {
      error(it->first, fmt::format("{} has a label whose name is not a plain word", what));
      continue;
    }
    const std::string key = it->first.scalar();
    if (!it->second.is_scalar() || it->second.scalar().empty()) {
      error(it->second, fmt::format("{}.{} must be a single, non-empty value", what, key));
      continue;
    }
    if (!labels.try_emplace(key, it->second.scalar()).second)
      error(it->first, fmt::format("{} gives label '{}' twice; keep one value", what, key));
  }
  return labels;
}

std::optional<std::string> read_text_file(const std::string& path, Diagnostics& errors) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    errors.push_back({{path, 0, 0}, fmt::format("cannot read the file: {}", std::strerror(errno))});
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::unique_ptr<yaml::Document> load_yaml_document(std::string_view text, const std::string& file,
                                                   std::string_view what_it_starts_with,
                                                   Diagnostics& errors) {
  auto parsed = yaml::Document::parse(text);
  if (auto* e = std::get_if<yaml::SyntaxError>(&parsed)) {
    const int line = e->at.line + 1;
    if (e->context == "while scanning a quoted scalar") {
      const size_t quote = e->context_at.pos;
      errors.push_back({{file, e->context_at.line + 1, e->context_at.column + 1},
                        fmt::format("YAML syntax: the quoted string that starts here is never "
                                    "closed; add the closing {}",
                                    quote < text.size() ? text[quote] : '"')});
    } else if (const int tab = tab_in_indentation(text, line); tab > 0) {
      // libyaml names a tab in the indentation only sometimes.
      errors.push_back({{file, line, tab},
                        "YAML syntax: a tab indents this line; YAML indents with spaces only"});
    } else {
      const char at = e->at.pos < text.size() ? text[e->at.pos] : '\0';
      errors.push_back({{file, line, e->at.column + 1}, explain_yaml_error(*e, at)});
    }
    return nullptr;
  }
  auto doc = std::move(std::get<std::unique_ptr<yaml::Document>>(parsed));
  if (doc->root().is_null()) {
    errors.push_back({{file, 1, 1}, fmt::format("the file is empty; {}", what_it_starts_with)});
    return nullptr;
  }
  return doc;
}

void sort_by_place(Diagnostics& diagnostics) {
  std::stable_sort(
      diagnostics.begin(), diagnostics.end(), [](const Diagnostic& a, const Diagnostic& b) {
        return std::tie(a.where.line, a.where.column) < std::tie(b.where.line, b.where.column);
      });
}

}  // namespace faultline
