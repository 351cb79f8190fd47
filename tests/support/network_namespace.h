#pragma once
// Network faults act on the network namespace of the thread that calls them, so their tests run
// them inside namespaces of their own and never in the host's:
//   TestNetwork   two namespaces joined by a veth pair (10.200.0.0/24, fd00:200::/64), ready
//                 for traffic when made, both deleted (with the veth) when it goes away,
//                 whichever way the test ends;
//   NetnsThread   a thread that has joined one of them and runs what it is given there;
//   Listener      TCP ports that accept and close connections, for connect checks.
// Nothing here changes the host's own interfaces, firewall or namespaces.
#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace faultline::test {

// The path of iproute2's `ip`, or empty.
std::string ip_binary();

// Exits as skipped (77) with the reason when `ip` (iproute2) or network namespaces are missing.
void skip_unless_netns_available();

class TestNetwork {
 public:
  static constexpr const char* kAddress4A = "10.200.0.1";
  static constexpr const char* kAddress4B = "10.200.0.2";
  static constexpr const char* kAddress6A = "fd00:200::1";
  static constexpr const char* kAddress6B = "fd00:200::2";

  // `tag` names them: fl-test-TAG-PID-N-a and -b, N counting the networks this process made, so
  // no name is ever used twice. The veth ends are `device_a` and `device_b`. Returns once both
  // ends are up, no address is tentative and each side has reached the other over IPv4 and
  // IPv6. Throws if any step fails, with the command and what it printed (whatever was created
  // by then is still removed).
  explicit TestNetwork(const std::string& tag, const std::string& device_a = "veth0",
                       const std::string& device_b = "veth0");
  TestNetwork(const TestNetwork&) = delete;
  TestNetwork& operator=(const TestNetwork&) = delete;

  const std::string& a() const { return names_.a; }
  const std::string& b() const { return names_.b; }

 private:
  // The first member, so its destructor runs even when the constructor body throws.
  struct Names {
    std::string a, b;
    ~Names();
  } names_;
};

class NetnsThread {
 public:
  // Joins the named namespace (from `ip netns add`); throws if it cannot, so nothing ever runs
  // in the host's namespace by mistake.
  explicit NetnsThread(const std::string& netns);
  ~NetnsThread();
  NetnsThread(const NetnsThread&) = delete;
  NetnsThread& operator=(const NetnsThread&) = delete;

  // Runs `f` in the namespace and returns its result (or rethrows what it threw).
  template <class F>
  auto run(F f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    post([&task] { task(); });
    return result.get();
  }

 private:
  void post(std::function<void()> job);
  void loop(const std::string& netns, std::promise<std::string> joined);

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

// Listening sockets created in `ns` (IPv4 and IPv6) on each port; a thread accepts and closes.
class Listener {
 public:
  Listener(NetnsThread& ns, const std::vector<uint16_t>& ports);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

 private:
  std::vector<int> fds_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

enum class ConnectOutcome { Connected, Refused, TimedOut, Failed };
const char* to_string(ConnectOutcome outcome);

// A TCP connect from the calling thread's namespace to `address` (IPv4 or IPv6).
ConnectOutcome tcp_connect(const std::string& address, uint16_t port, int timeout_ms);

}  // namespace faultline::test
