#include "tests/support/network_namespace.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <stdexcept>

#include "tests/support/child_process.h"

namespace faultline::test {
namespace {

std::vector<std::string> with_ip(std::vector<std::string> args) {
  args.insert(args.begin(), ip_binary());
  return args;
}

// A setup step: throws with the command and what it printed unless it succeeds.
void ip(std::vector<std::string> args) {
  (void)run_or_throw(with_ip(std::move(args)));
}

void ip_quiet(std::vector<std::string> args) {
  (void)run_command(with_ip(std::move(args)), 10000);
}

// Runs `argv` every 50 ms until `ready` accepts its result, for at most `limit`. Throws with
// `what` and the last command's description when it never does.
void wait_until_ready(const std::string& what, const std::vector<std::string>& argv,
                      const std::function<bool(const CommandResult&)>& ready,
                      std::chrono::milliseconds limit = std::chrono::seconds(15)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  for (;;) {
    const CommandResult r = run_command(argv, 10000);
    if (ready(r)) return;
    if (std::chrono::steady_clock::now() > until)
      throw std::runtime_error(what + " within " + std::to_string(limit.count()) +
                               " ms; last check: " + describe_command(argv, r));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// Both ends are up and carry traffic: the link is operationally UP (the kernel has given it
// a queue; until then every packet sent is dropped), no address waits on duplicate address
// detection (until it passes, neighbour discovery does not answer and an IPv6 connect times
// out as if cut), and each side has reached the other over both families, so that neighbours
// are resolved and a test's first packet is sent at once.
void wait_until_carrying(const std::string& ns_a, const std::string& dev_a, const std::string& ns_b,
                         const std::string& dev_b) {
  struct End {
    const std::string& ns;
    const std::string& dev;
  };
  for (const End& e : {End{ns_a, dev_a}, End{ns_b, dev_b}}) {
    wait_until_ready(e.dev + " in " + e.ns + " did not come up",
                     with_ip({"-n", e.ns, "-o", "link", "show", "dev", e.dev}),
                     [](const CommandResult& r) {
                       return r.exit_code == 0 && r.out.find("LOWER_UP") != std::string::npos &&
                              r.out.find(" state UP ") != std::string::npos;
                     });
    wait_until_ready("IPv6 addresses of " + e.dev + " in " + e.ns + " stayed tentative",
                     with_ip({"-n", e.ns, "-6", "addr", "show", "dev", e.dev, "tentative"}),
                     [](const CommandResult& r) { return r.exit_code == 0 && r.out.empty(); });
  }
  struct Path {
    const std::string& from;
    const char* to;
  };
  for (const Path& p : {Path{ns_a, TestNetwork::kAddress4B}, Path{ns_a, TestNetwork::kAddress6B},
                        Path{ns_b, TestNetwork::kAddress4A}, Path{ns_b, TestNetwork::kAddress6A}})
    wait_until_ready(p.from + " could not reach " + p.to,
                     with_ip({"netns", "exec", p.from, "ping", "-n", "-q", "-c1", "-W1", p.to}),
                     [](const CommandResult& r) { return r.exit_code == 0; });
}

}  // namespace

std::string ip_binary() {
  for (const char* path : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"})
    if (access(path, X_OK) == 0) return path;
  return {};
}

void skip_unless_netns_available() {
  skip_unless_root("it creates network namespaces");
  if (ip_binary().empty()) {
    std::printf("SKIPPED: iproute2's ip is not installed (apt-get install iproute2)\n");
    std::fflush(stdout);
    std::_Exit(77);
  }
  if (access("/proc/self/ns/net", F_OK) != 0) {
    std::printf("SKIPPED: this kernel has no network namespaces\n");
    std::fflush(stdout);
    std::_Exit(77);
  }
}

TestNetwork::Names::~Names() {
  // Deleting a namespace deletes the veth end in it, and with it its peer.
  if (!a.empty()) ip_quiet({"netns", "delete", a});
  if (!b.empty()) ip_quiet({"netns", "delete", b});
}

TestNetwork::TestNetwork(const std::string& tag, const std::string& device_a,
                         const std::string& device_b) {
  // Never the same name twice, not even within one process (a test's sections, or a second
  // network after the first was deleted).
  static std::atomic<int> made{0};
  const std::string base =
      "fl-test-" + tag + "-" + std::to_string(getpid()) + "-" + std::to_string(made++);
  names_.a = base + "-a";
  ip({"netns", "add", names_.a});
  names_.b = base + "-b";
  ip({"netns", "add", names_.b});
  // Made inside a, its peer moved straight to b: the host's namespace never holds either end.
  ip({"-n", names_.a, "link", "add", device_a, "type", "veth", "peer", "name", device_b, "netns",
      names_.b});
  struct Side {
    const std::string& ns;
    const std::string& dev;
    const char* v4;
    const char* v6;
  };
  for (const Side& s : {Side{names_.a, device_a, kAddress4A, kAddress6A},
                        Side{names_.b, device_b, kAddress4B, kAddress6B}}) {
    ip({"-n", s.ns, "addr", "add", std::string(s.v4) + "/24", "dev", s.dev});
    ip({"-n", s.ns, "-6", "addr", "add", std::string(s.v6) + "/64", "dev", s.dev, "nodad"});
    ip({"-n", s.ns, "link", "set", "lo", "up"});
    ip({"-n", s.ns, "link", "set", s.dev, "up"});
  }
  wait_until_carrying(names_.a, device_a, names_.b, device_b);
}

NetnsThread::NetnsThread(const std::string& netns) {
  std::promise<std::string> joined;
  std::future<std::string> error = joined.get_future();
  thread_ =
      std::thread([this, netns, p = std::move(joined)]() mutable { loop(netns, std::move(p)); });
  const std::string problem = error.get();
  if (!problem.empty()) {
    thread_.join();
    throw std::runtime_error(problem);
  }
}

NetnsThread::~NetnsThread() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void NetnsThread::post(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  wake_.notify_all();
}

void NetnsThread::loop(const std::string& netns, std::promise<std::string> joined) {
  const std::string path = "/run/netns/" + netns;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    joined.set_value("cannot open " + path + ": " + std::strerror(errno));
    return;
  }
  // setns(CLONE_NEWNET) moves this thread only; the rest of the test process stays where it is.
  const bool moved = setns(fd, CLONE_NEWNET) == 0;
  const int saved = errno;
  struct stat target {
  }, mine{};
  fstat(fd, &target);
  close(fd);
  if (!moved) {
    joined.set_value("setns into " + netns + " failed: " + std::strerror(saved));
    return;
  }
  if (stat("/proc/thread-self/ns/net", &mine) != 0 || mine.st_ino != target.st_ino) {
    joined.set_value("after setns the thread is not in " + netns);
    return;
  }
  joined.set_value("");
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // stopping, and nothing left to do
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
}

Listener::Listener(NetnsThread& ns, const std::vector<uint16_t>& ports) {
  fds_ = ns.run([&] {
    std::vector<int> fds;
    for (uint16_t port : ports) {
      // One IPv6 socket that also takes IPv4 (V6ONLY off) per port.
      const int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
      const int off = 0, on = 1;
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
      sockaddr_in6 addr{};
      addr.sin6_family = AF_INET6;
      addr.sin6_addr = in6addr_any;
      addr.sin6_port = htons(port);
      if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 64) != 0) {
        const std::string why = std::strerror(errno);
        close(fd);
        for (int f : fds) close(f);
        throw std::runtime_error("listen on port " + std::to_string(port) + ": " + why);
      }
      fds.push_back(fd);
    }
    return fds;
  });
  thread_ = std::thread([this] {
    std::vector<pollfd> polls;
    for (int fd : fds_) polls.push_back({fd, POLLIN, 0});
    while (!stop_) {
      if (poll(polls.data(), polls.size(), 50) <= 0) continue;
      for (const pollfd& p : polls)
        if (p.revents & POLLIN)
          if (const int c = accept4(p.fd, nullptr, nullptr, SOCK_CLOEXEC); c >= 0) close(c);
    }
  });
}

Listener::~Listener() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  for (int fd : fds_) close(fd);
}

const char* to_string(ConnectOutcome outcome) {
  switch (outcome) {
    case ConnectOutcome::Connected:
      return "connected";
    case ConnectOutcome::Refused:
      return "refused";
    case ConnectOutcome::TimedOut:
      return "timed out";
    case ConnectOutcome::Failed:
      break;
  }
  return "failed";
}

ConnectOutcome tcp_connect(const std::string& address, uint16_t port, int timeout_ms) {
  sockaddr_storage storage{};
  socklen_t length = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    length = sizeof *v4;
  } else if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    length = sizeof *v6;
  } else {
    return ConnectOutcome::Failed;
  }
  const int fd = socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return ConnectOutcome::Failed;
  ConnectOutcome outcome = ConnectOutcome::Failed;
  if (connect(fd, reinterpret_cast<sockaddr*>(&storage), length) == 0) {
    outcome = ConnectOutcome::Connected;
  } else if (errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    if (poll(&p, 1, timeout_ms) == 0) {
      outcome = ConnectOutcome::TimedOut;
    } else {
      int error = 0;
      socklen_t size = sizeof error;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size);
      outcome = error == 0              ? ConnectOutcome::Connected
                : error == ECONNREFUSED ? ConnectOutcome::Refused
                                        : ConnectOutcome::Failed;
    }
  } else if (errno == ECONNREFUSED) {
    outcome = ConnectOutcome::Refused;
  }
  close(fd);
  return outcome;
}

}  // namespace faultline::test
