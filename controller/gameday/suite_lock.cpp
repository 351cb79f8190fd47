#include "controller/gameday/suite_lock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "controller/report/markup.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;

// FNV-1a, 64 bits: stable across builds and machines (std::hash is not), which is all a lock
// file's name needs.
uint64_t fnv1a(std::string_view text) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string utc_seconds(std::chrono::system_clock::time_point t) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

std::string this_host() {
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "unknown";
  return name;
}

// Who holds (or last held) the lock, as the file says.
struct Holder {
  int64_t pid = 0;
  std::string host;
  std::string suite;
  std::string since;
};

std::optional<Holder> parse_holder(const std::string& text) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto string_at = [&](const char* key) -> std::optional<std::string> {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  const auto pid = j.find("pid");
  auto host = string_at("hostname"), suite = string_at("suite"), since = string_at("started_at");
  if (pid == j.end() || !pid->is_number_integer() || !host || !suite || !since) return std::nullopt;
  return Holder{pid->get<int64_t>(), std::move(*host), std::move(*suite), std::move(*since)};
}

std::string read_all(int fd) {
  std::string text;
  char chunk[4096];
  for (off_t at = 0;;) {
    const ssize_t n = ::pread(fd, chunk, sizeof chunk, at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(chunk, static_cast<size_t>(n));
    at += n;
  }
  return text;
}

bool blank(const std::string& text) {
  return text.find_first_not_of(" \t\r\n") == std::string::npos;
}

// Whether `holder` names a process of this machine that no longer exists.
bool holder_has_exited(const Holder& h) {
  return h.host == this_host() && h.pid > 0 && h.pid <= INT_MAX &&
         ::kill(static_cast<pid_t>(h.pid), 0) != 0 && errno == ESRCH;
}

std::string held_message(const std::string& what, const std::string& path,
                         const std::string& text) {
  const std::optional<Holder> h = parse_holder(text);
  if (!h)
    return fmt::format(
        "another game day holds the lock for {} (lock file {}), and has not yet "
        "written who it is; wait for it to end, or stop it",
        what, path);
  std::string message =
      fmt::format("another game day holds the lock for {}: pid {} on host {}, suite {}, since {}",
                  what, h->pid, h->host, h->suite, h->since);
  if (holder_has_exited(*h))
    message += fmt::format(
        "; pid {} has exited, but a process it started still holds the lock "
        "file open (fuser -v {} names it)",
        h->pid, path);
  return message + fmt::format(" (lock file {}); wait for it to end, or stop it", path);
}

std::string took_over_message(const std::string& path, const std::string& text) {
  if (const std::optional<Holder> h = parse_holder(text))
    return fmt::format(
        "took over the lock of pid {} (suite {} on host {}, since {}), which is gone", h->pid,
        h->suite, h->host, h->since);
  return fmt::format(
      "took over the lock file {}, left by a holder that is gone and whose name "
      "could not be read",
      path);
}

Result<std::string> canonical_inventory(const std::string& inventory) {
  std::error_code error;
  const fs::path canonical = fs::canonical(inventory, error);
  if (error) return fail("cannot find the inventory {}: {}", inventory, error.message());
  return canonical.string();
}

}  // namespace

Result<std::string> suite_lock_name(const std::optional<std::string>& inventory) {
  if (!inventory) return std::string("local.lock");
  const std::string canonical = FL_TRY(canonical_inventory(*inventory));
  return fmt::format("{}-{:016x}.lock", slug(fs::path(canonical).filename().string(), "inventory"),
                     fnv1a(canonical));
}

Result<SuiteLock> SuiteLock::acquire(const Request& request) {
  const std::string name = FL_TRY(suite_lock_name(request.inventory));
  const std::string what =
      request.inventory
          ? fmt::format("inventory {}", FL_TRY(canonical_inventory(*request.inventory)))
          : std::string("runs on this host (no inventory)");
  std::error_code error;
  fs::create_directories(request.folder, error);
  if (error) return fail("cannot create the lock folder {}: {}", request.folder, error.message());
  const std::string path = (fs::path(request.folder) / name).string();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return fail("cannot open the lock file {}: {}", path, std::strerror(errno));
  int locked = 0;
  do locked = ::flock(fd, LOCK_EX | LOCK_NB);
  while (locked != 0 && errno == EINTR);
  if (locked != 0) {
    const int saved = errno;
    const std::string text = saved == EWOULDBLOCK ? read_all(fd) : "";
    ::close(fd);
    if (saved == EWOULDBLOCK) return fail(held_message(what, path, text));
    return fail("cannot lock {}: {}", path, std::strerror(saved));
  }
  // Ours from here: a descriptor that is closed on every way out lets go of the lock.
  const std::string left = read_all(fd);
  std::optional<std::string> took_over;
  if (!blank(left)) took_over = took_over_message(path, left);
  const nlohmann::json holder = {
      {"pid", static_cast<int64_t>(::getpid())},
      {"hostname", this_host()},
      {"suite", request.suite_file},
      {"inventory",
       request.inventory ? nlohmann::json(*request.inventory) : nlohmann::json(nullptr)},
      {"started_at", utc_seconds(request.started_at)}};
  const std::string content = holder.dump() + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, content.data(), content.size(), 0) != static_cast<ssize_t>(content.size())) {
    const int saved = errno;
    ::close(fd);
    return fail("cannot write {}: {}", path, std::strerror(saved));
  }
  return SuiteLock(fd, path, std::move(took_over));
}

SuiteLock::SuiteLock(SuiteLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      took_over_(std::move(other.took_over_)) {}

SuiteLock& SuiteLock::operator=(SuiteLock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    took_over_ = std::move(other.took_over_);
  }
  return *this;
}

SuiteLock::~SuiteLock() {
  release();
}

void SuiteLock::release() {
  if (fd_ < 0) return;
  // Emptied while still locked: the next holder then knows this one ended cleanly.
  (void)!::ftruncate(fd_, 0);
  ::close(fd_);
  fd_ = -1;
}

}  // namespace faultline
