// The userspace network backend's cost: packets per second through one NFQUEUE (PacketQueue,
// delay 0) and the CPU time its serving thread spends per packet, against the same UDP flood
// with no queue; then the lateness (time past each packet's release time) at a 10 ms delay and a
// steady rate. All between two network namespaces this benchmark makes and removes; the packets
// reach the queue through an xtables NFQUEUE rule (iptables-nft) inside the first.
//
//   nfqueue_rate_bench [SECONDS=5] [PACED_PPS=5000]
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "bench/bench_util.h"
#include "injectors/network/userspace/packet_queue.h"

using namespace faultline;
using namespace std::chrono_literals;

namespace {

using SteadyClock = std::chrono::steady_clock;

int run(const std::vector<std::string>& argv) {
  const pid_t pid = bench::spawn(argv);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

// Runs `f` on a thread that has joined namespace `ns`; false if it could not join.
bool run_in(const std::string& ns, const std::function<void()>& f) {
  bool joined = false;
  std::thread([&] {
    const int fd = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    joined = fd >= 0 && setns(fd, CLONE_NEWNET) == 0;
    if (fd >= 0) close(fd);
    if (joined) f();
  }).join();
  return joined;
}

// Two namespaces joined by a veth pair, 10.200.0.1 (fl-a) and 10.200.0.2 (fl-b); removed with
// the object.
struct Namespaces {
  std::string a, b;
  bool ok = false;
  Namespaces() {
    const std::string base = "fl-bench-nfq-" + std::to_string(getpid());
    a = base + "-a";
    b = base + "-b";
    const std::string ip = "/usr/sbin/ip";
    ok = run({ip, "netns", "add", a}) == 0 && run({ip, "netns", "add", b}) == 0 &&
         run({ip, "-n", a, "link", "add", "fl-a", "type", "veth", "peer", "name", "fl-b", "netns",
              b}) == 0 &&
         run({ip, "-n", a, "addr", "add", "10.200.0.1/24", "dev", "fl-a"}) == 0 &&
         run({ip, "-n", b, "addr", "add", "10.200.0.2/24", "dev", "fl-b"}) == 0 &&
         run({ip, "-n", a, "link", "set", "fl-a", "up"}) == 0 &&
         run({ip, "-n", b, "link", "set", "fl-b", "up"}) == 0 &&
         run({ip, "-n", a, "link", "set", "lo", "up"}) == 0 &&
         run({ip, "-n", b, "link", "set", "lo", "up"}) == 0 &&
         run({ip, "netns", "exec", a, "ping", "-c", "1", "-W", "2", "10.200.0.2"}) == 0;
  }
  ~Namespaces() {
    run({"/usr/sbin/ip", "netns", "del", a});
    run({"/usr/sbin/ip", "netns", "del", b});
  }
};

int udp_socket_in(const std::string& ns, const char* ip, uint16_t port) {
  int fd = -1;
  run_in(ns, [&] {
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_port = htons(port);
    inet_pton(AF_INET, ip, &local.sin_addr);
    bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local);
  });
  const int big = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
  return fd;
}

// CPU time (ns) of this process's thread named `comm`, from its schedstat; 0 if none.
uint64_t thread_cpu_ns(const char* comm) {
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return 0;
  uint64_t ns = 0;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    const std::string base = std::string("/proc/self/task/") + e->d_name;
    std::string name;
    std::getline(std::ifstream(base + "/comm"), name);
    if (name != comm) continue;
    std::ifstream(base + "/schedstat") >> ns;
  }
  closedir(dir);
  return ns;
}

double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct Flood {
  uint64_t sent = 0, received = 0;
  double seconds = 0, process_cpu = 0;
};

// UDP datagrams of 64 bytes from a to b for `seconds`: as fast as the sender can (pps 0), or
// at `pps` on a fixed schedule. The receiver in b counts them.
Flood flood(const Namespaces& net, double seconds, uint64_t pps) {
  const int tx = udp_socket_in(net.a, "10.200.0.1", 0);
  const int rx = udp_socket_in(net.b, "10.200.0.2", 9000);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(9000);
  inet_pton(AF_INET, "10.200.0.2", &to.sin_addr);
  std::atomic<bool> sending{true};
  std::atomic<uint64_t> received{0};
  std::thread receiver([&] {
    char buffer[256];
    auto quiet_since = SteadyClock::now();
    for (;;) {
      pollfd p{rx, POLLIN, 0};
      if (poll(&p, 1, 10) > 0) {
        while (recv(rx, buffer, sizeof buffer, MSG_DONTWAIT) > 0) received.fetch_add(1);
        quiet_since = SteadyClock::now();
      } else if (!sending && SteadyClock::now() - quiet_since > 200ms) {
        break;  // 200 ms after the last datagram: the flood is over
      }
    }
  });
  Flood f;
  const double cpu0 = process_cpu_seconds();
  const auto start = SteadyClock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  char payload[64] = {};
  auto next = start;
  const auto gap = pps > 0 ? std::chrono::nanoseconds(1'000'000'000 / pps) : 0ns;
  while (SteadyClock::now() < end) {
    if (pps > 0) {
      std::this_thread::sleep_until(next);
      next += gap;
    }
    if (sendto(tx, payload, sizeof payload, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) > 0)
      ++f.sent;
  }
  f.seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  sending = false;
  receiver.join();
  f.process_cpu = process_cpu_seconds() - cpu0;
  f.received = received;
  close(tx);
  close(rx);
  return f;
}

std::unique_ptr<PacketQueue> start_queue(const Namespaces& net, Duration delay) {
  PacketQueueConfig config;
  config.queue_number = next_queue_number();
  config.max_packets = 4096;
  config.options.delay = delay;
  config.seed = 1;
  Result<std::unique_ptr<PacketQueue>> queue = fail("not started");
  run_in(net.a, [&] { queue = PacketQueue::start(config); });
  if (!queue) {
    std::fprintf(stderr, "cannot start the queue: %s\n", queue.error().message.c_str());
    return nullptr;
  }
  // Only the flood's datagrams are queued.
  if (run({"/usr/sbin/ip",
           "netns",
           "exec",
           net.a,
           "/usr/sbin/iptables-nft",
           "-t",
           "mangle",
           "-A",
           "POSTROUTING",
           "-o",
           "fl-a",
           "-p",
           "udp",
           "--dport",
           "9000",
           "-j",
           "NFQUEUE",
           "--queue-num",
           std::to_string(config.queue_number),
           "--queue-bypass"}) != 0) {
    std::fprintf(stderr, "cannot add the NFQUEUE rule (iptables-nft)\n");
    return nullptr;
  }
  return std::move(*queue);
}

// The floor under any lateness: how late an absolute CLOCK_MONOTONIC timerfd wakes a thread
// blocked in epoll_wait (what the serving thread does), in us, for `count` 1 ms sleeps.
bench::Stats timer_floor_us(int count) {
  const int timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event e{};
  e.events = EPOLLIN;
  epoll_ctl(ep, EPOLL_CTL_ADD, timer, &e);
  std::vector<double> late;
  for (int i = 0; i < count; ++i) {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    const int64_t at = now.tv_sec * 1'000'000'000LL + now.tv_nsec + 1'000'000;
    itimerspec spec{};
    spec.it_value = {at / 1'000'000'000, at % 1'000'000'000};
    timerfd_settime(timer, TFD_TIMER_ABSTIME, &spec, nullptr);
    epoll_wait(ep, &e, 1, -1);
    clock_gettime(CLOCK_MONOTONIC, &now);
    late.push_back(static_cast<double>(now.tv_sec * 1'000'000'000LL + now.tv_nsec - at) / 1e3);
    uint64_t expirations = 0;
    if (read(timer, &expirations, sizeof expirations) < 0) break;
  }
  close(timer);
  close(ep);
  return bench::stats(late);
}

void flush_rules(const Namespaces& net) {
  run({"/usr/sbin/ip", "netns", "exec", net.a, "/usr/sbin/iptables-nft", "-t", "mangle", "-F"});
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 5.0;
  const uint64_t paced_pps = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 5000;
  if (geteuid() != 0) {
    std::fprintf(stderr, "needs root (network namespaces, NFQUEUE)\n");
    return 1;
  }
  Namespaces net;
  if (!net.ok) {
    std::fprintf(stderr, "cannot make the namespaces\n");
    return 1;
  }

  const Flood bare = flood(net, seconds, 0);

  auto queue = start_queue(net, 0ns);
  if (!queue) return 1;
  const uint64_t cpu0 = thread_cpu_ns("fl-nfqueue");
  const Flood queued = flood(net, seconds, 0);
  const uint64_t serving_ns = thread_cpu_ns("fl-nfqueue") - cpu0;
  const PacketQueueStats fast = queue->stats();
  (void)queue->stop();
  flush_rules(net);

  queue = start_queue(net, 10ms);
  if (!queue) return 1;
  const uint64_t cpu1 = thread_cpu_ns("fl-nfqueue");
  const Flood paced = flood(net, seconds, paced_pps);
  const uint64_t paced_ns = thread_cpu_ns("fl-nfqueue") - cpu1;
  const PacketQueueStats slow = queue->stats();
  (void)queue->stop();
  flush_rules(net);

  const bench::Stats timer = timer_floor_us(2000);

  auto pps = [](const Flood& f) { return static_cast<double>(f.received) / f.seconds; };
  auto per_packet_us = [](double cpu_seconds, uint64_t packets) {
    return packets > 0 ? cpu_seconds * 1e6 / static_cast<double>(packets) : 0.0;
  };
  std::printf("UDP flood (64-byte datagrams) between two namespaces, %.0f s each, %u CPUs:\n",
              seconds, std::thread::hardware_concurrency());
  std::printf("  no queue:              %10.0f pps received (%llu sent), process CPU %.2f us/pkt\n",
              pps(bare), static_cast<unsigned long long>(bare.sent),
              per_packet_us(bare.process_cpu, bare.received));
  std::printf(
      "  NFQUEUE, delay 0:      %10.0f pps received (%llu sent), process CPU %.2f us/pkt; "
      "%.2fx the bare rate\n",
      pps(queued), static_cast<unsigned long long>(queued.sent),
      per_packet_us(queued.process_cpu, queued.received), pps(queued) / pps(bare));
  std::printf(
      "    serving thread:      %.2f us of CPU per packet (%.0f%% of a core; includes the "
      "kernel's path after each verdict, run in its sendmsg)\n",
      per_packet_us(static_cast<double>(serving_ns) / 1e9, fast.released),
      100.0 * static_cast<double>(serving_ns) / 1e9 / queued.seconds);
  std::printf(
      "    queue: received %llu, released %llu, held max %llu, queue full %llu, netlink "
      "lost %llu; lateness p50 %.1f us, p99 %.1f us, max %.1f us\n",
      static_cast<unsigned long long>(fast.received),
      static_cast<unsigned long long>(fast.released),
      static_cast<unsigned long long>(fast.held_max),
      static_cast<unsigned long long>(fast.queue_full),
      static_cast<unsigned long long>(fast.netlink_lost), fast.lateness.p50_us,
      fast.lateness.p99_us, fast.lateness.max_us);
  std::printf(
      "  NFQUEUE, delay 10ms at %llu pps: %.0f pps received; serving thread %.2f us/pkt; "
      "held max %llu; lateness p50 %.1f us, p99 %.1f us, max %.1f us over %llu packets\n",
      static_cast<unsigned long long>(paced_pps), pps(paced),
      per_packet_us(static_cast<double>(paced_ns) / 1e9, slow.released),
      static_cast<unsigned long long>(slow.held_max), slow.lateness.p50_us, slow.lateness.p99_us,
      slow.lateness.max_us, static_cast<unsigned long long>(slow.lateness.samples));
  std::printf(
      "  floor: an absolute timerfd wakes a thread in epoll_wait p50 %.1f us, p99 %.1f "
      "us, max %.1f us late (2000 sleeps of 1 ms)\n",
      timer.median, timer.p99, timer.max);
  return 0;
}
