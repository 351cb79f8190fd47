#include "controller/scenario/yaml_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

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
// yaml-cpp's own words for the syntax errors people make most, with what to do about them.
std::string explain_yaml_error(const std::string& message) {
  struct Hint {
    std::string_view yaml_cpp;
    std::string_view fix;
  };
  static constexpr Hint kHints[] = {
      {"illegal map value",
       "a ':' where no key can start; line this key up with the keys above it, or quote a value "
       "that contains ': '"},
      {"end of map not found",
       "this line is indented like nothing above it; line it up with its sibling keys"},
      {"end of sequence not found",
       "this line is indented like nothing above it; line it up with its siblings (the keys of "
       "a list item line up with the key after its '- ')"},
      {"end of map flow not found", "a '{' is not closed; add the missing '}'"},
      {"end of sequence flow not found", "a '[' is not closed; add the missing ']'"},
      {"illegal flow end",
       "this closes what it did not open; close each '[' with ']' and each '{' with '}'"},
  };
  for (const Hint& h : kHints)
    if (message == h.yaml_cpp) return fmt::format("YAML syntax: {}: {}", message, h.fix);
  return fmt::format("YAML syntax: {}", message);
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

// yaml-cpp accepts a quoted scalar that is never closed and reads the rest of the file into it,
// which would show up only as keys reported missing. Finds the first such quote.
// Aliases make the document a graph (even a cycle, or an exponential "billion laughs"): each
// collection is walked once, and the walk as a whole is bounded.
struct Walk {
  std::vector<YAML::Node> seen;
  size_t budget = 100000;
  bool first_visit(const YAML::Node& node) {
    if (budget == 0) return false;
    --budget;
    for (const YAML::Node& s : seen)
      if (s.is(node)) return false;
    seen.push_back(node);
    return true;
  }
};

std::optional<YAML::Mark> unclosed_quote(const YAML::Node& node, std::string_view text,
                                         Walk& walk) {
  if (node.IsScalar()) {
    const YAML::Mark m = node.Mark();
    if (m.is_null() || m.pos < 0 || static_cast<size_t>(m.pos) >= text.size()) return std::nullopt;
    const char quote = text[static_cast<size_t>(m.pos)];
    if (quote != '"' && quote != '\'') return std::nullopt;
    for (size_t i = static_cast<size_t>(m.pos) + 1; i < text.size(); ++i) {
      if (quote == '"' && text[i] == '\\') {
        ++i;  // an escaped character, perhaps a quote
      } else if (text[i] == quote) {
        if (quote == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
          ++i;  // '' is a quote inside a single-quoted scalar
          continue;
        }
        return std::nullopt;
      }
    }
    return m;
  }
  if (!walk.first_visit(node)) return std::nullopt;
  if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (auto m = unclosed_quote(it->first, text, walk)) return m;
      if (auto m = unclosed_quote(it->second, text, walk)) return m;
    }
  } else if (node.IsSequence()) {
    for (const YAML::Node& item : node)
      if (auto m = unclosed_quote(item, text, walk)) return m;
  }
  return std::nullopt;
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
    // A copy (a Node is a handle): yaml-cpp's operator-> returns a temporary proxy, and a
    // reference to its member dangled at the end of this line (ASan: stack-use-after-scope).
    const YAML::Node key = it->first;
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

std::map<std::string, std::string> YamlReader::labels(const YAML::Node& node,
                                                      std::string_view what) {
  std::map<std::string, std::string> labels;
  if (!node.IsMap()) {
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
    if (!it->first.IsScalar() || it->first.Scalar().empty()) {
      error(it->first, fmt::format("{} has a label whose name is not a plain word", what));
      continue;
    }
    const std::string key = it->first.Scalar();
    if (!it->second.IsScalar() || it->second.Scalar().empty()) {
      error(it->second, fmt::format("{}.{} must be a single, non-empty value", what, key));
      continue;
    }
    if (!labels.try_emplace(key, it->second.Scalar()).second)
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

std::optional<YAML::Node> load_yaml_document(const std::string& text, const std::string& file,
                                             std::string_view what_it_starts_with,
                                             Diagnostics& errors) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    const int line = e.mark.line + 1;
    // yaml-cpp names a tab in the indentation only sometimes ("illegal map value" otherwise).
    if (const int tab = tab_in_indentation(text, line); tab > 0)
      errors.push_back({{file, line, tab},
                        "YAML syntax: a tab indents this line; YAML indents with spaces only"});
    else
      errors.push_back({{file, line, e.mark.column + 1}, explain_yaml_error(e.msg)});
    return std::nullopt;
  }
  if (!root || root.IsNull()) {
    errors.push_back({{file, 1, 1}, fmt::format("the file is empty; {}", what_it_starts_with)});
    return std::nullopt;
  }
  Walk walk;
  if (auto quote = unclosed_quote(root, text, walk)) {
    errors.push_back({{file, quote->line + 1, quote->column + 1},
                      fmt::format("YAML syntax: the quoted string that starts here is never "
                                  "closed; add the closing {}",
                                  text[static_cast<size_t>(quote->pos)])});
    return std::nullopt;
  }
  return root;
}

void sort_by_place(Diagnostics& diagnostics) {
  std::stable_sort(
      diagnostics.begin(), diagnostics.end(), [](const Diagnostic& a, const Diagnostic& b) {
        return std::tie(a.where.line, a.where.column) < std::tie(b.where.line, b.where.column);
      });
}

}  // namespace faultline
