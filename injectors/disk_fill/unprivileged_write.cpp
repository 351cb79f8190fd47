#include "injectors/disk_fill/unprivileged_write.h"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "injectors/linux/undo_steps.h"

namespace faultline {
namespace {

constexpr int kCannotDrop = 250;  // exit codes above any errno the child reports
constexpr int kCannotCreate = 251;

// The child: only system calls (the parent may have threads), exit code 0 or the errno.
[[noreturn]] void child(const char* dir, const char* fallback, uid_t uid, gid_t gid,
                        const char* data, size_t size) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::syscall(SYS_setgroups, 0, nullptr) != 0 || ::syscall(SYS_setresgid, gid, gid, gid) != 0 ||
      ::syscall(SYS_setresuid, uid, uid, uid) != 0)
    ::_exit(kCannotDrop);
  int fd = ::open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    fd = ::open(fallback, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) ::unlink(fallback);  // before it holds anything
  }
  if (fd < 0) ::_exit(errno == EACCES || errno == EPERM || errno == EROFS ? kCannotCreate : errno);
  for (size_t done = 0; done < size;) {
    const ssize_t n = ::write(fd, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ::_exit(errno);
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) ::_exit(errno);
  ::_exit(0);
}

}  // namespace

Result<WriteAttempt> write_as_nobody(const std::string& dir) {
  uid_t uid = 65534;
  gid_t gid = 65534;
  if (const passwd* pw = ::getpwnam("nobody")) {
    uid = pw->pw_uid;
    gid = pw->pw_gid;
  }
  // Written with nonzero bytes so that no filesystem can keep it as a hole.
  const std::vector<char> data(static_cast<size_t>(kProbeWriteBytes), 'x');
  const std::string fallback = fmt::format("{}/{}probe-{}", dir, kFillFilePrefix, ::getpid());
  const pid_t pid = ::fork();
  if (pid < 0) return fail("fork: {}", std::strerror(errno));
  if (pid == 0) child(dir.c_str(), fallback.c_str(), uid, gid, data.data(), data.size());
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return fail("waitpid: {}", std::strerror(errno));
  if (!WIFEXITED(status))
    return fail("the write as nobody in {} was ended by signal {}", dir, WTERMSIG(status));
  const int code = WEXITSTATUS(status);
  if (code == kCannotDrop) return fail("cannot become nobody (uid {}) to write in {}", uid, dir);
  if (code == kCannotCreate)
    return WriteAttempt{.why_not =
                            fmt::format("nobody (uid {}) may not create a file in {}", uid, dir)};
  if (code == 0) return WriteAttempt{.checked = true, .outcome = "ok"};
  const char* name = ::strerrorname_np(code);
  return WriteAttempt{.checked = true, .outcome = name ? name : fmt::format("errno {}", code)};
}

}  // namespace faultline
