#pragma once
// One game day at a time against the same hosts: a lock file per inventory (or one for runs
// on this host alone), locked with flock(2). The kernel drops a flock when its holder's last
// descriptor closes, so the lock is released on any exit, SIGKILL included; the file stays
// and names its last holder. The file is never removed (a process that opened it just before
// the removal would lock a file nobody else sees); a clean release empties it instead, so a
// file that still names a holder whose lock is free was left by a holder that died: it is
// taken over, and the take-over is reported.
//
// Only processes on this machine see the lock: two controllers on different machines with the
// same inventory are not kept apart.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace faultline {

// Where the CLI keeps the lock files (created as needed).
inline constexpr std::string_view kSuiteLockFolder = "/run/faultline/gameday";

// The lock file's name: "local.lock" without an inventory; else the inventory's file name and
// a hash of its canonical path, "inventory-yaml-9c3f5d0a6b2e4f17.lock", so that one inventory
// reached by two paths (a symlink, "./") is one lock, and two inventories of one name are two.
// The inventory must exist (its canonical path is read).
Result<std::string> suite_lock_name(const std::optional<std::string>& inventory);

class SuiteLock {
 public:
  struct Request {
    std::string folder{kSuiteLockFolder};
    std::optional<std::string> inventory;  // nullopt: runs on this host only
    std::string suite_file;
    std::chrono::system_clock::time_point started_at = std::chrono::system_clock::now();
  };

  // Takes the lock, or fails with a message naming its holder: "another game day holds the
  // lock for inventory /etc/faultline/inventory.yaml: pid 4242 on host ci-1, suite
  // /srv/nightly.yaml, since 2026-12-08T01:00:00Z (lock file /run/...); wait for it to end,
  // or stop it".
  static Result<SuiteLock> acquire(const Request& request);

  SuiteLock(SuiteLock&& other) noexcept;
  SuiteLock& operator=(SuiteLock&& other) noexcept;
  SuiteLock(const SuiteLock&) = delete;
  SuiteLock& operator=(const SuiteLock&) = delete;
  ~SuiteLock();

  const std::string& path() const { return path_; }
  // Set when a dead holder's lock was taken over: "took over the lock of pid 4242 (suite
  // /srv/nightly.yaml on host ci-1, since 2026-12-08T01:00:00Z), which is gone".
  const std::optional<std::string>& took_over() const { return took_over_; }

  // Empties the file and lets go; the destructor does it too. Idempotent.
  void release();

 private:
  SuiteLock(int fd, std::string path, std::optional<std::string> took_over)
      : fd_(fd), path_(std::move(path)), took_over_(std::move(took_over)) {}

  int fd_ = -1;
  std::string path_;
  std::optional<std::string> took_over_;
};

}  // namespace faultline
