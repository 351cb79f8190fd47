#include "controller/gameday/history.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>

#include "controller/report/markup.h"
#include "core/atomic_file.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;

// "2026-12-08T01:00:00.123Z": what the journal writes (controller/report/journal.cpp).
bool is_utc_timestamp(std::string_view t) {
  constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (t.size() != kShape.size()) return false;
  for (size_t i = 0; i < t.size(); ++i)
    if (kShape[i] == 'd' ? !std::isdigit(static_cast<unsigned char>(t[i])) : t[i] != kShape[i])
      return false;
  return true;
}

// "2026-12-08T01:00:00.123Z" -> "20261208T010000.123Z": no ':' (refused by the artifact
// stores of CI systems), and as long as every other, so names sort as times do.
std::string compact_timestamp(std::string_view t) {
  std::string out;
  for (char c : t)
    if (c != '-' && c != ':') out += c;
  return out;
}

struct JournalName {
  std::string stamp;  // "20261208T010000.123Z"
  uint64_t seed = 0;
  auto operator<=>(const JournalName&) const = default;
};

// A file name that store_journal wrote: "20261208T010000.123Z-42.json".
std::optional<JournalName> parse_journal_name(std::string_view name) {
  constexpr std::string_view kStamp = "ddddddddTdddddd.dddZ";
  constexpr std::string_view kSuffix = ".json";
  if (name.size() < kStamp.size() + 1 + 1 + kSuffix.size() || !name.ends_with(kSuffix))
    return std::nullopt;
  for (size_t i = 0; i < kStamp.size(); ++i)
    if (kStamp[i] == 'd' ? !std::isdigit(static_cast<unsigned char>(name[i]))
                         : name[i] != kStamp[i])
      return std::nullopt;
  if (name[kStamp.size()] != '-') return std::nullopt;
  const std::string_view digits =
      name.substr(kStamp.size() + 1, name.size() - kStamp.size() - 1 - kSuffix.size());
  JournalName out{std::string(name.substr(0, kStamp.size())), 0};
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), out.seed);
  if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return out;
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot read {}: {}", path, std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return fail("cannot read {}", path);
  return text.str();
}

// The fields a history needs, out of a journal's text; the error names the journal.
Result<StoredJournal> read_journal(const std::string& path, const std::string& text) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return fail("{} is not a journal: it is not a JSON object", path);
  StoredJournal out;
  out.path = path;
  auto string_at = [&](const nlohmann::json& parent, const char* key,
                       std::string_view what) -> Result<std::string> {
    const auto it = parent.find(key);
    if (it == parent.end() || !it->is_string())
      return fail("{} is not a journal: it has no {} (a string)", path, what);
    return it->get<std::string>();
  };
  out.started_at = FL_TRY(string_at(j, "started_at", "started_at"));
  if (!is_utc_timestamp(out.started_at))
    return fail("{}: started_at '{}' is not a UTC time such as 2026-12-08T01:00:00.123Z", path,
                out.started_at);
  const auto seed = j.find("seed");
  if (seed == j.end() || !seed->is_number_unsigned())
    return fail("{} is not a journal: it has no seed (a whole number)", path);
  out.seed = seed->get<uint64_t>();
  out.status = FL_TRY(string_at(j, "status", "status"));
  const auto scenario = j.find("scenario");
  if (scenario == j.end() || !scenario->is_object())
    return fail("{} is not a journal: it has no scenario (an object)", path);
  out.title = FL_TRY(string_at(*scenario, "title", "scenario.title"));
  out.scenario_file = FL_TRY(string_at(*scenario, "file", "scenario.file"));
  if (const auto ttr = j.find("time_to_recover_ms"); ttr != j.end() && ttr->is_number())
    out.time_to_recover_ms = ttr->get<double>();
  return out;
}

Result<fs::path> scenario_folder(const std::string& history_dir, std::string_view name) {
  if (name.empty() || history_slug(name) != name)
    return fail(
        "'{}' is not a history folder name; names are lower-case letters, digits and "
        "'-' (history_slug)",
        name);
  return fs::path(history_dir) / name;
}

// The journals of `folder` by age, oldest first; files of other names are not ours.
Result<std::vector<std::pair<JournalName, fs::path>>> journals_in(const fs::path& folder) {
  std::vector<std::pair<JournalName, fs::path>> out;
  std::error_code error;
  if (!fs::exists(folder, error)) return out;
  fs::directory_iterator it(folder, error);
  if (error) return fail("cannot list {}: {}", folder.string(), error.message());
  for (const fs::directory_entry& entry : it)
    if (auto name = parse_journal_name(entry.path().filename().string());
        name && entry.is_regular_file())
      out.emplace_back(std::move(*name), entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::string history_slug(std::string_view text) {
  return slug(text, "scenario");
}

Result<StoredJournal> store_journal(const std::string& history_dir, std::string_view name,
                                    const std::string& journal_path, size_t keep) {
  if (keep == 0) return fail("a history keeps at least one journal (keep: 0)");
  const fs::path folder = FL_TRY(scenario_folder(history_dir, name));
  const std::string text = FL_TRY(read_file(journal_path));
  StoredJournal stored = FL_TRY(read_journal(journal_path, text));
  if (stored.status == "running")
    return fail(
        "{} is the journal of a run that has not finished (status running); a history "
        "keeps finished runs only",
        journal_path);
  std::error_code error;
  fs::create_directories(folder, error);
  if (error) return fail("cannot create {}: {}", folder.string(), error.message());
  stored.path =
      (folder / fmt::format("{}-{}.json", compact_timestamp(stored.started_at), stored.seed))
          .string();
  FL_TRY_VOID(write_file_atomically(stored.path, text));
  FL_TRY(prune_history(history_dir, name, keep));
  return stored;
}

Result<std::vector<std::string>> prune_history(const std::string& history_dir,
                                               std::string_view name, size_t keep) {
  const fs::path folder = FL_TRY(scenario_folder(history_dir, name));
  const auto journals = FL_TRY(journals_in(folder));
  std::vector<std::string> removed;
  for (size_t i = 0; i + keep < journals.size(); ++i) {
    std::error_code error;
    fs::remove(journals[i].second, error);
    if (error) return fail("cannot remove {}: {}", journals[i].second.string(), error.message());
    removed.push_back(journals[i].second.string());
  }
  return removed;
}

Result<std::vector<std::string>> history_paths(const std::string& history_dir,
                                               std::string_view name) {
  const fs::path folder = FL_TRY(scenario_folder(history_dir, name));
  std::vector<std::string> out;
  for (const auto& [journal_name, path] : FL_TRY(journals_in(folder))) out.push_back(path.string());
  return out;
}

Result<std::vector<StoredJournal>> list_history(const std::string& history_dir,
                                                std::string_view name) {
  const fs::path folder = FL_TRY(scenario_folder(history_dir, name));
  const auto journals = FL_TRY(journals_in(folder));
  std::vector<StoredJournal> out;
  for (const auto& [journal_name, path] : journals) {
    const std::string text = FL_TRY(read_file(path.string()));
    out.push_back(FL_TRY(read_journal(path.string(), text)));
  }
  return out;
}

}  // namespace faultline
