#include "controller/report/journal_header.h"

#include <simdjson.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "controller/report/run_journal.h"

namespace faultline {

Result<JournalHeader> read_journal_header(const std::string& path) {
  // simdjson's own message does not say why ("Error reading the file").
  if (access(path.c_str(), R_OK) != 0) return fail("{}: cannot read: {}", path, std::strerror(errno));
  simdjson::padded_string text;
  if (auto error = simdjson::padded_string::load(path).get(text))
    return fail("{}: cannot read: {}", path, simdjson::error_message(error));
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  if (auto error = parser.iterate(text).get(doc))
    return fail("{}: not JSON: {}", path, simdjson::error_message(error));
  JournalHeader h;
  h.path = path;
  bool versioned = false;
  // One pass over the top-level object, in the file's order; everything else is skipped.
  simdjson::ondemand::object top;
  if (auto error = doc.get_object().get(top))
    return fail("{}: not JSON, or not a journal (a JSON object): {}", path,
                simdjson::error_message(error));
  for (auto each : top) {
    simdjson::ondemand::field field;
    std::string_view key;
    if (auto error = std::move(each).get(field))
      return fail("{}: not JSON: {}", path, simdjson::error_message(error));
    if (auto error = field.unescaped_key().get(key))
      return fail("{}: not JSON: {}", path, simdjson::error_message(error));
    auto value = field.value();
    std::string_view text_value;
    if (key == "journal_version") {
      uint64_t version = 0;
      if (value.get_uint64().get(version) || version != static_cast<uint64_t>(kJournalVersion))
        return fail("{}: journal_version is not {}, the one this faultline reads", path,
                    kJournalVersion);
      versioned = true;
    } else if (key == "scenario") {
      simdjson::ondemand::object scenario;
      if (value.get_object().get(scenario)) return fail("{}: /scenario: expected an object", path);
      for (auto s : scenario) {
        std::string_view k, v;
        if (s.unescaped_key().get(k) || s.value().get_string().get(v)) continue;
        if (k == "file") h.scenario_file = v;
        if (k == "title") h.title = v;
      }
    } else if (key == "started_at" && !value.get_string().get(text_value)) {
      h.started_at = text_value;
    } else if (key == "status" && !value.get_string().get(text_value)) {
      h.status = text_value;
    } else if (key == "complete") {
      if (value.get_bool().get(h.complete)) return fail("{}: /complete: expected a boolean", path);
    } else if (key == "seed") {
      if (value.get_uint64().get(h.seed)) return fail("{}: /seed: expected a whole number", path);
    } else if (key == "time_to_recover_ms") {
      double ms = 0;
      if (!value.get_double().get(ms)) h.time_to_recover_ms = ms;
    }
  }
  if (!versioned)
    return fail("{}: not a faultline journal of version {} (no 'journal_version')", path,
                kJournalVersion);
  return h;
}

}  // namespace faultline
