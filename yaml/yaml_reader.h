#pragma once
// Reads typed values out of YAML nodes and records a located diagnostic for anything wrong,
// so that one pass over a file reports every problem, not only the first.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "yaml/yaml_document.h"
#include "core/diagnostic.h"
#include "core/duration.h"
#include "core/percent.h"

namespace faultline {

class YamlReader {
 public:
  YamlReader(std::string file, Diagnostics& diagnostics)
      : file_(std::move(file)), diagnostics_(diagnostics) {}

  SourceLocation where(const yaml::Node& node) const;
  void error(const yaml::Node& node, std::string message);
  void error(const SourceLocation& at, std::string message);

  // Checks that `node` is a mapping whose keys are all in `allowed`; reports each unknown key
  // with a suggestion. False when it is not a mapping.
  bool mapping(const yaml::Node& node, std::string_view what,
               std::span<const std::string_view> allowed);
  bool sequence(const yaml::Node& node, std::string_view what);

  // Each reads node[key] if present, reports a wrong type or range at the value, and returns
  // nullopt when the key is absent or the value is bad. `what` names the key in messages.
  std::optional<std::string> text(const yaml::Node& map, std::string_view key,
                                  std::string_view what);
  std::optional<int64_t> integer(const yaml::Node& map, std::string_view key, std::string_view what,
                                 int64_t min, int64_t max);
  std::optional<Duration> duration(const yaml::Node& map, std::string_view key,
                                   std::string_view what, Duration min = Duration::zero());
  std::optional<Percent> percent(const yaml::Node& map, std::string_view key,
                                 std::string_view what);
  std::optional<bool> boolean(const yaml::Node& map, std::string_view key, std::string_view what);
  // A scalar or a list of scalars.
  std::vector<std::string> text_list(const yaml::Node& map, std::string_view key,
                                     std::string_view what);

  // Labels: a mapping of names to values, neither empty, such as {role: app}. An empty
  // mapping is reported too: it would select everything or nothing.
  std::map<std::string, std::string> labels(const yaml::Node& node, std::string_view what);

  // A required key: reports its absence at `map`.
  bool require(const yaml::Node& map, std::string_view key, std::string_view what);

  const std::string& file() const { return file_; }

 private:
  std::optional<std::string> scalar(const yaml::Node& value, std::string_view what);
  // Whether a key of `map` was already reported as unknown with `key` as its suggestion.
  bool suggested_instead(const yaml::Node& map, std::string_view key) const;
  static int64_t place_key(const SourceLocation& at);

  std::string file_;
  Diagnostics& diagnostics_;
  // The diagnostics reported through this reader, by place: looking one up must not walk them
  // all, or a file with an error in each of 60,000 faults takes minutes.
  std::unordered_map<int64_t, std::vector<size_t>> at_place_;
};

// Reads a whole file; nullopt after recording why it could not be read.
std::optional<std::string> read_text_file(const std::string& path, Diagnostics& errors);

// One YAML document out of `text`, or null after recording the one diagnostic that says why
// not: a syntax error (explained), a tab in the indentation, a quote never closed, or an empty
// file (`what_it_starts_with` then says how a good one begins).
std::unique_ptr<yaml::Document> load_yaml_document(std::string_view text, const std::string& file,
                                                   std::string_view what_it_starts_with,
                                                   Diagnostics& errors);

// By line, then column; the order of diagnostics at one place is kept.
void sort_by_place(Diagnostics& diagnostics);

}  // namespace faultline
