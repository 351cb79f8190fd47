#include "tests/support/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
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

NamespacePair::NamespacePair()
    : a_("fl-test-a-" + std::to_string(getpid())), b_("fl-test-b-" + std::to_string(getpid())) {
  skip_unless_root("it creates network namespaces");
  std::string out;
  if (sh("ip netns add " + a_, &out) != 0) {
    std::printf("SKIPPED: cannot create a network namespace here: %s\n", out.c_str());
    std::_Exit(77);
  }
  const std::string setup =
      "ip netns add " + b_ + " && ip -n " + a_ + " link add fl-a type veth peer name fl-b netns " +
      b_ + " && ip -n " + a_ + " link set lo up && ip -n " + b_ + " link set lo up" + " && ip -n " +
      a_ + " addr add 10.200.0.1/24 dev fl-a && ip -n " + b_ + " addr add 10.200.0.2/24 dev fl-b" +
      " && ip -n " + a_ + " addr add fd00:200::1/64 dev fl-a nodad && ip -n " + b_ +
      " addr add fd00:200::2/64 dev fl-b nodad" + " && ip -n " + a_ +
      " link set fl-a up && ip -n " + b_ + " link set fl-b up";
  // One ping each way resolves the neighbours, so later test packets are sent at once.
  const std::string warm = "ip netns exec " + a_ + " ping -c1 -W2 10.200.0.2 >/dev/null && " +
                           "ip netns exec " + a_ + " ping -c1 -W2 fd00:200::2 >/dev/null";
  if (sh(setup, &out) != 0 || sh(warm, &out) != 0) {
    this->~NamespacePair();
    throw std::runtime_error("network namespace setup failed: " + out);
  }
}

NamespacePair::~NamespacePair() {
  // Deleting the namespaces removes the veth pair and every qdisc and table inside them.
  sh("ip netns del " + a_ + " 2>/dev/null; ip netns del " + b_ + " 2>/dev/null; true");
}

void NamespacePair::run_in(const std::string& ns, const std::function<void()>& body) const {
  std::exception_ptr failure;
  std::thread([&] {
    try {
      const int fd = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) throw std::runtime_error("cannot enter " + ns);
      close(fd);
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
