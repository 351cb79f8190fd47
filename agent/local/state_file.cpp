#include "agent/local/state_file.h"

#include <fcntl.h>
#include <fmt/chrono.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/atomic_file.h"
#include "injectors/linux/undo_steps.h"

namespace faultline {
namespace {

using nlohmann::json;

constexpr int kFormatVersion = 1;

std::string now_utc() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(now));
}

std::unexpected<Error> corrupt(const std::string& path, const std::string& what) {
  return fail(
      "state file {} is corrupt ({}); it may hold the undo of faults still applied on this host: "
      "undo by hand what it lists, then move it aside",
      path, what);
}

json entry_json(const StateEntry& e) {
  json j = {{"owner", e.owner},
            {"fault_id", e.fault_id},
            {"kind", e.kind},
            {"undo", e.undo},
            {"written_at", e.written_at}};
  if (!e.undo_errors.empty()) j["undo_errors"] = e.undo_errors;
  return j;
}

// The entry at `index`, or what is wrong with it.
Result<StateEntry> parse_entry(const json& j, size_t index) {
  if (!j.is_object()) return fail("entry {} is not an object", index);
  StateEntry e;
  for (auto [field, target] :
       {std::pair{"owner", &e.owner}, std::pair{"fault_id", &e.fault_id},
        std::pair{"kind", &e.kind}, std::pair{"written_at", &e.written_at}}) {
    const auto it = j.find(field);
    if (it == j.end() || !it->is_string()) return fail("entry {} has no '{}' text", index, field);
    *target = it->get<std::string>();
  }
  const auto undo = j.find("undo");
  if (undo == j.end() || !undo->is_array())
    return fail("entry {} has no 'undo' array of steps", index);
  e.undo = *undo;
  if (const auto errors = j.find("undo_errors"); errors != j.end()) {
    if (!errors->is_array()) return fail("entry {} has 'undo_errors' that is not a list", index);
    for (const json& message : *errors) {
      if (!message.is_string()) return fail("entry {} has 'undo_errors' that is not text", index);
      e.undo_errors.push_back(message.get<std::string>());
    }
  }
  return e;
}

}  // namespace

Result<std::vector<StateEntry>> StateFile::load() const {
  std::lock_guard lock(mutex_);
  return load_locked();
}

Result<std::vector<StateEntry>> StateFile::load_locked() const {
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::vector<StateEntry>{};
    return fail("cannot read state file {}: {}", path_, std::strerror(errno));
  }
  std::string text;
  char chunk[65536];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int saved = errno;
      ::close(fd);
      return fail("cannot read state file {}: {}", path_, std::strerror(saved));
    }
    if (n == 0) break;
    text.append(chunk, static_cast<size_t>(n));
  }
  ::close(fd);
  const json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) return corrupt(path_, "not valid JSON");
  const auto version = doc.is_object() ? doc.find("faultline_agent_state") : doc.end();
  if (!doc.is_object() || version == doc.end() || *version != kFormatVersion)
    return corrupt(path_, fmt::format("not a version {} agent state", kFormatVersion));
  const auto entries = doc.find("entries");
  if (entries == doc.end() || !entries->is_array()) return corrupt(path_, "no 'entries' list");
  std::vector<StateEntry> out;
  for (size_t i = 0; i < entries->size(); ++i) {
    auto e = parse_entry((*entries)[i], i);
    if (!e) return corrupt(path_, e.error().message);
    out.push_back(std::move(*e));
  }
  return out;
}

Result<void> StateFile::save_locked(const std::vector<StateEntry>& entries) const {
  json list = json::array();
  for (const StateEntry& e : entries) list.push_back(entry_json(e));
  const json doc = {{"faultline_agent_state", kFormatVersion}, {"entries", list}};
  return write_file_atomically(path_, undo_text(doc) + "\n");
}

Result<void> StateFile::update(const std::function<void(std::vector<StateEntry>&)>& change) {
  std::lock_guard lock(mutex_);
  std::vector<StateEntry> entries = FL_TRY(load_locked());
  change(entries);
  return save_locked(entries);
}

Result<void> StateFile::record(StateEntry entry) {
  if (!entry.undo.is_array())
    return fail("the undo plan of fault '{}' must be a JSON array of steps, not {}", entry.fault_id,
                undo_text(entry.undo));
  entry.written_at = now_utc();
  return update([&](std::vector<StateEntry>& entries) {
    for (StateEntry& e : entries)
      if (e.owner == entry.owner && e.fault_id == entry.fault_id) {
        e = std::move(entry);
        return;
      }
    entries.push_back(std::move(entry));
  });
}

Result<void> StateFile::forget(const std::string& owner, const std::string& fault_id) {
  return update([&](std::vector<StateEntry>& entries) {
    std::erase_if(entries,
                  [&](const StateEntry& e) { return e.owner == owner && e.fault_id == fault_id; });
  });
}

Result<RecoveryReport> recover(StateFile& file) {
  RecoveryReport report;
  for (StateEntry& entry : FL_TRY(file.load())) {
    const std::vector<UndoFailure> failures = perform_undo_plan(entry.undo);
    if (failures.empty()) {
      report.undone.push_back(std::move(entry));
      continue;
    }
    // Only the failed steps stay: those done are done, and a repeat could undo what is no longer
    // ours (a process stopped by someone else since).
    entry.undo = json::array();
    entry.undo_errors.clear();
    for (const UndoFailure& f : failures) {
      entry.undo.push_back(f.step);
      entry.undo_errors.push_back(f.error);
    }
    report.kept.push_back(std::move(entry));
  }
  if (report.undone.empty() && report.kept.empty()) return report;
  FL_TRY_VOID(file.update([&](std::vector<StateEntry>& entries) {
    auto same = [](const StateEntry& a, const StateEntry& b) {
      return a.owner == b.owner && a.fault_id == b.fault_id;
    };
    for (const StateEntry& done : report.undone)
      std::erase_if(entries, [&](const StateEntry& e) { return same(e, done); });
    for (const StateEntry& kept : report.kept)
      for (StateEntry& e : entries)
        if (same(e, kept)) e = kept;
  }));
  return report;
}

}  // namespace faultline
