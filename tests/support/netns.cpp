#include "tests/support/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "tests/support/child_process.h"

namespace faultline::test {
namespace {
int sh(const std::string& command, std::string* out = nullptr) {
  auto r = run_command({"/bin/sh", "-c", command + " 2>&1"});
  if (out) *out = r.out;
  return r.exit_code;
}
}  // namespace

NamespacePair::NamespacePair() {
  skip_unless_netns_available();
  net_.emplace("pair", "fl-a", "fl-b");
}

void NamespacePair::run_in(const std::string& ns, const std::function<void()>& body) const {
  std::exception_ptr failure;
  std::thread([&] {
    try {
      const int fd = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
      const bool entered = fd >= 0 && setns(fd, CLONE_NEWNET) == 0;
      const int error = errno;
      if (fd >= 0) close(fd);
      if (!entered)
        throw std::runtime_error("cannot enter network namespace " + ns + ": " +
                                 std::strerror(error));
      body();
    } catch (...) {
      failure = std::current_exception();
    }
  }).join();
  if (failure) std::rethrow_exception(failure);
}

int NamespacePair::exec(const std::string& ns, const std::string& command, std::string* out) const {
  return sh("ip netns exec " + ns + " " + command, out);
}

}  // namespace faultline::test
