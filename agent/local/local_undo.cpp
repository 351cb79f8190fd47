#include "agent/local/local_undo.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <set>

namespace faultline {

std::string local_undo_dir() {
  const char* dir = std::getenv("FAULTLINE_RUN_DIR");
  return fmt::format("{}/local", dir != nullptr && *dir == '/' ? dir : "/run/faultline");
}

Result<std::unique_ptr<UndoKeeper>> open_local_keeper(const std::string& command) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  return UndoKeeper::open(fmt::format("{}/{}-{}-{}.json", local_undo_dir(), command, getpid(), ms),
                          Duration::zero(), true);
}

std::vector<Leftover> find_leftovers() {
  std::vector<Leftover> out;
  std::error_code ec;
  for (const auto& item : std::filesystem::directory_iterator(local_undo_dir(), ec)) {
    const std::string path = item.path().string();
    if (item.path().extension() != ".json" || !abandoned(path)) continue;
    auto entries = StateFile(path).load();
    if (entries && entries->empty()) continue;
    out.push_back({path, entries ? std::move(*entries) : std::vector<StateEntry>{},
                   entries ? "" : entries.error().message});
  }
  std::sort(out.begin(), out.end(),
            [](const Leftover& a, const Leftover& b) { return a.path < b.path; });
  return out;
}

size_t remove_empty_leftovers() {
  std::set<std::string> state_paths;
  std::error_code ec;
  for (const auto& item : std::filesystem::directory_iterator(local_undo_dir(), ec)) {
    std::string path = item.path().string();
    if (path.ends_with(".lock")) path.resize(path.size() - 5);
    if (path.ends_with(".json")) state_paths.insert(path);
  }
  size_t removed = 0;
  for (const std::string& path : state_paths) {
    // Held while we look and unlink: a run that still holds it is alive.
    auto keeper = UndoKeeper::open(path, Duration::zero(), true);
    if (!keeper) continue;
    auto entries = (*keeper)->file().load();
    if (!entries || !entries->empty()) continue;  // recover's business, or unreadable: kept
    if ((*keeper)->close() == 0) ++removed;
  }
  return removed;
}

size_t warn_about_leftovers(std::FILE* out) {
  const std::vector<Leftover> left = find_leftovers();
  for (const Leftover& l : left) {
    std::vector<std::string> names;
    for (const StateEntry& e : l.entries)
      names.push_back(fmt::format("{} '{}'", e.kind, e.fault_id));
    std::fprintf(out,
                 "faultline: warning: a faultline that is gone left %s on this host (%s); "
                 "`faultline recover` puts %s back\n",
                 l.error.empty() ? fmt::format("{} fault(s) applied: {}", l.entries.size(),
                                               fmt::join(names, ", "))
                                       .c_str()
                                 : fmt::format("an undo file it cannot read: {}", l.error).c_str(),
                 l.path.c_str(), l.entries.size() == 1 ? "it" : "them");
  }
  return left.size();
}

}  // namespace faultline
