#include "agent/local/undo_keeper.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

namespace faultline {

std::string lock_path_of(const std::string& state_path) {
  return state_path + ".lock";
}

Result<std::unique_ptr<UndoKeeper>> UndoKeeper::open(const std::string& path, Duration wait,
                                                     bool remove_when_empty) {
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return fail("cannot create {} for the undo state: {}; create it (writable by root)",
                dir.string(), ec.message());
  const std::string lock = lock_path_of(path);
  const TimePoint until = Clock::now() + wait;
  for (;;) {
    const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
      return fail("cannot open the lock {} of the undo state: {}", lock, std::strerror(errno));
    while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK && errno != EINTR) {
        const int saved = errno;
        ::close(fd);
        return fail("cannot lock {}: {}", lock, std::strerror(saved));
      }
      if (Clock::now() >= until) {
        ::close(fd);
        return fail(
            "{} is in use by another faultline process (or by the guardian of one that "
            "died, still undoing its faults); wait for it, or stop it",
            path);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    // The holder we waited for may have removed the lock file before letting go (a run's own
    // file, all undone; `recover` clearing an empty one): a lock on a file that no longer has
    // the name guards nothing, so take the one the name has now.
    struct stat held {
    }, named{};
    if (::fstat(fd, &held) == 0 && ::stat(lock.c_str(), &named) == 0 &&
        held.st_dev == named.st_dev && held.st_ino == named.st_ino)
      return std::unique_ptr<UndoKeeper>(new UndoKeeper(path, fd, remove_when_empty));
    ::close(fd);
  }
}

UndoKeeper::~UndoKeeper() {
  // Not closed cleanly (a revert failed, or an early return): the guardian, seeing our end of
  // its pipe close when we exit, tries the file once more.
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

void UndoKeeper::start_guardian() {
  if (guardian_.pipe < 0)
    guardian_ = faultline::start_guardian(file_.path(), lock_fd_, remove_when_empty_);
}

Result<void> UndoKeeper::keep(StateEntry entry) {
  return file_.record(std::move(entry));
}

Result<void> UndoKeeper::release(const std::string& owner, const std::string& fault_id) {
  return file_.forget(owner, fault_id);
}

size_t UndoKeeper::close() {
  auto left = file_.load();
  const size_t remaining = left ? left->size() : 1;
  // Something is still applied (a revert failed): the guardian stays armed and tries once more
  // when we exit, and the file stays for `faultline recover`.
  if (remaining > 0) return remaining;
  dismiss_guardian(guardian_);
  if (remove_when_empty_) {
    // Unlinked while we still hold the lock: nobody can take it in between and find no file.
    (void)::unlink(file_.path().c_str());
    (void)::unlink(lock_path_of(file_.path()).c_str());
  }
  return 0;
}

bool abandoned(const std::string& state_path) {
  const int fd = ::open(lock_path_of(state_path).c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT;  // no lock at all: nobody keeps it
  const bool free = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  ::close(fd);  // releases the lock if we took it
  return free;
}

}  // namespace faultline
