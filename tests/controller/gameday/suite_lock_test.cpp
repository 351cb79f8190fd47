// One game day at a time: a second acquire fails naming the holder, a holder killed with
// SIGKILL lets go and its lock is taken over (and said so), a clean release leaves nothing to
// take over. Holders in other processes are tests/support/suite_lock_holder.cpp.
#include "controller/gameday/suite_lock.h"

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <climits>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using test::ChildProcess;

// Tuesday 8 December 2026, 01:00:00 UTC.
constexpr int64_t kStartedAt = 1796691600;

std::chrono::system_clock::time_point started_at() {
  return std::chrono::system_clock::time_point(std::chrono::seconds(kStartedAt));
}

std::string hostname() {
  char name[HOST_NAME_MAX + 1] = {};
  gethostname(name, sizeof name - 1);
  return name;
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

SuiteLock::Request request(const test::TempDir& dir, std::optional<std::string> inventory,
                           std::string suite) {
  return {dir.file("locks"), std::move(inventory), std::move(suite), started_at()};
}

// Waits until the lock file names `pid`: the holder writes it once the lock is its own.
void wait_for_holder(const std::string& path, pid_t pid) {
  const std::string needle = fmt::format("\"pid\":{},", pid);
  for (int i = 0; i < 500; ++i) {
    if (read(path).find(needle) != std::string::npos) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL("the holder " << pid << " never wrote " << path << "; it holds: " << read(path));
}

}  // namespace

TEST_CASE("a second acquire fails and names the holder, and a release lets the next one in",
          "[gameday][lock]") {
  const test::TempDir dir;
  const std::string path = dir.file("locks/local.lock");
  auto first = SuiteLock::acquire(request(dir, std::nullopt, "/srv/gameday/nightly.yaml"));
  REQUIRE(first.has_value());
  CHECK(first->path() == path);
  CHECK_FALSE(first->took_over().has_value());
  CHECK(read(path) == fmt::format("{{\"hostname\":\"{}\",\"inventory\":null,\"pid\":{},"
                                  "\"started_at\":\"2026-12-08T01:00:00Z\",\"suite\":\"/srv/"
                                  "gameday/nightly.yaml\"}}\n",
                                  hostname(), getpid()));
  // flock(2) locks an open file, not a process: a second open in this process is refused too.
  const auto second = SuiteLock::acquire(request(dir, std::nullopt, "/srv/gameday/other.yaml"));
  REQUIRE_FALSE(second.has_value());
  CHECK(second.error().message ==
        fmt::format("another game day holds the lock for runs on this host (no inventory): pid "
                    "{} on host {}, suite /srv/gameday/nightly.yaml, since 2026-12-08T01:00:00Z "
                    "(lock file {}); wait for it to end, or stop it",
                    getpid(), hostname(), path));
  // The refused attempt changed nothing.
  CHECK(read(path).find("nightly.yaml") != std::string::npos);

  first->release();
  CHECK(read(path).empty());
  first->release();  // idempotent
  auto third = SuiteLock::acquire(request(dir, std::nullopt, "/srv/gameday/other.yaml"));
  REQUIRE(third.has_value());
  CHECK_FALSE(third->took_over().has_value());
  // Moving the lock moves the holding: the moved-from one releases nothing.
  SuiteLock moved = std::move(*third);
  third->release();
  CHECK(read(path).find("other.yaml") != std::string::npos);
  CHECK_FALSE(SuiteLock::acquire(request(dir, std::nullopt, "x")).has_value());
}

TEST_CASE("a holder killed with SIGKILL lets go, and its lock is taken over", "[gameday][lock]") {
  const test::TempDir dir;
  const std::string inventory = dir.file("inventory.yaml");
  std::ofstream(inventory) << "agents: []\n";
  const std::string name = suite_lock_name(inventory).value();
  const std::string path = dir.file("locks/" + name);
  ChildProcess holder(
      FAULTLINE_SUITE_LOCK_HOLDER, "fl-test-lock-holder",
      {dir.file("locks"), inventory, "/srv/gameday/nightly.yaml", std::to_string(kStartedAt)});
  wait_for_holder(path, holder.pid());

  const auto refused = SuiteLock::acquire(request(dir, inventory, "/srv/gameday/mine.yaml"));
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().message ==
        fmt::format("another game day holds the lock for inventory {}: pid {} on host {}, suite "
                    "/srv/gameday/nightly.yaml, since 2026-12-08T01:00:00Z (lock file {}); wait "
                    "for it to end, or stop it",
                    inventory, holder.pid(), hostname(), path));

  REQUIRE(::kill(holder.pid(), SIGKILL) == 0);
  REQUIRE(holder.wait_exit(5000));
  CHECK(holder.killed_by() == SIGKILL);
  auto taken = SuiteLock::acquire(request(dir, inventory, "/srv/gameday/mine.yaml"));
  REQUIRE(taken.has_value());
  REQUIRE(taken->took_over().has_value());
  CHECK(*taken->took_over() ==
        fmt::format("took over the lock of pid {} (suite /srv/gameday/nightly.yaml on host {}, "
                    "since 2026-12-08T01:00:00Z), which is gone",
                    holder.pid(), hostname()));
  CHECK(read(path).find("/srv/gameday/mine.yaml") != std::string::npos);
}

TEST_CASE("a process the holder forked keeps the lock after the holder exits", "[gameday][lock]") {
  const test::TempDir dir;
  const std::string path = dir.file("locks/local.lock");
  ChildProcess holder(
      FAULTLINE_SUITE_LOCK_HOLDER, "fl-test-lock-holder",
      {dir.file("locks"), "-", "/srv/gameday/nightly.yaml", std::to_string(kStartedAt), "--fork"});
  REQUIRE(holder.wait_exit(5000));
  CHECK(holder.exit_code() == 0);
  wait_for_holder(path, holder.pid());
  const auto refused = SuiteLock::acquire(request(dir, std::nullopt, "/srv/gameday/mine.yaml"));
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().message ==
        fmt::format("another game day holds the lock for runs on this host (no inventory): pid "
                    "{} on host {}, suite /srv/gameday/nightly.yaml, since 2026-12-08T01:00:00Z; "
                    "pid {} has exited, but a process it started still holds the lock file open "
                    "(fuser -v {} names it) (lock file {}); wait for it to end, or stop it",
                    holder.pid(), hostname(), holder.pid(), path, path));
}

TEST_CASE("a lock file that names no one is taken over as such", "[gameday][lock]") {
  const test::TempDir dir;
  fs::create_directories(dir.file("locks"));
  std::ofstream(dir.file("locks/local.lock")) << "garbage";
  auto lock = SuiteLock::acquire(request(dir, std::nullopt, "/srv/s.yaml"));
  REQUIRE(lock.has_value());
  CHECK(lock->took_over() == "took over the lock file " + dir.file("locks/local.lock") +
                                 ", left by a holder that is gone and whose name could not be "
                                 "read");
}

TEST_CASE("lock names: one per inventory, however it is reached", "[gameday][lock]") {
  const test::TempDir dir;
  fs::create_directories(dir.file("a"));
  fs::create_directories(dir.file("b"));
  std::ofstream(dir.file("a/inventory.yaml")) << "agents: []\n";
  std::ofstream(dir.file("b/inventory.yaml")) << "agents: []\n";
  fs::create_symlink(dir.file("a/inventory.yaml"), dir.file("link.yaml"));
  CHECK(suite_lock_name(std::nullopt).value() == "local.lock");
  const std::string a = suite_lock_name(dir.file("a/inventory.yaml")).value();
  CHECK(a.size() == std::string("inventory-yaml-").size() + 16 + std::string(".lock").size());
  CHECK(a.starts_with("inventory-yaml-"));
  CHECK(a.ends_with(".lock"));
  CHECK(suite_lock_name(dir.file("a/../a/./inventory.yaml")).value() == a);
  CHECK(suite_lock_name(dir.file("link.yaml")).value() == a);
  CHECK(suite_lock_name(dir.file("b/inventory.yaml")).value() != a);
  CHECK(suite_lock_name(dir.file("none.yaml")).error().message ==
        "cannot find the inventory " + dir.file("none.yaml") + ": No such file or directory");
}

TEST_CASE("a lock folder that cannot be made is said so", "[gameday][lock]") {
  const test::TempDir dir;
  std::ofstream(dir.file("file")) << "";
  SuiteLock::Request r{dir.file("file/locks"), std::nullopt, "/srv/s.yaml", started_at()};
  const auto lock = SuiteLock::acquire(r);
  REQUIRE_FALSE(lock.has_value());
  CHECK(lock.error().message ==
        "cannot create the lock folder " + dir.file("file/locks") + ": Not a directory");
}

}  // namespace faultline
