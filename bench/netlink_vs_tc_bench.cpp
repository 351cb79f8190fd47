// Applying and reverting a scoped network fault over netlink (faultline's tree: htb root, class,
// tbf, u32 filters incl. the SSH exclusions) against two peers measured in the same run, inside
// a network namespace this benchmark makes and removes:
// - the floor: the very messages faultline sent (RouteSocket's tap), replayed on one bare libnl
//   socket, each sent and acknowledged; what the kernel and libnl cost with nothing of ours;
// - `tc`, building the same tree one command at a time.
// tbf stands in for netem, which this machine's kernel lacks; the netlink work is the same.
#include <fcntl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "bench/bench_util.h"
#include "injectors/bandwidth/bandwidth.h"
#include "injectors/network/route_socket.h"
#include "injectors/network/tc_tree.h"

using namespace faultline;
using Ms = std::chrono::duration<double, std::milli>;

namespace {

int run(const std::vector<std::string>& argv) {
  const pid_t pid = bench::spawn(argv);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int tc(const std::string& args) {
  std::vector<std::string> argv = {"/usr/sbin/tc"};
  size_t start = 0;
  while (start < args.size()) {
    size_t space = args.find(' ', start);
    if (space == std::string::npos) space = args.size();
    argv.push_back(args.substr(start, space - start));
    start = space + 1;
  }
  return run(argv);
}

// Sends each message and waits for its acknowledgement, as RouteSocket::request does; false on
// the first the kernel refuses.
bool replay(nl_sock* sock, const std::vector<std::vector<uint8_t>>& messages) {
  for (const std::vector<uint8_t>& bytes : messages) {
    nl_msg* msg = nlmsg_convert(reinterpret_cast<nlmsghdr*>(const_cast<uint8_t*>(bytes.data())));
    if (msg == nullptr) return false;
    const int sent = nl_send_auto(sock, msg);
    nlmsg_free(msg);
    if (sent < 0 || nl_wait_for_ack(sock) < 0) return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 50;
  const std::string ns = "fl-bench-" + std::to_string(getpid());
  if (run({"/usr/sbin/ip", "netns", "add", ns}) != 0) {
    std::fprintf(stderr, "cannot create a network namespace (run as root)\n");
    return 1;
  }
  const int fd = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "cannot enter the namespace\n");
    run({"/usr/sbin/ip", "netns", "del", ns});
    return 1;
  }
  run({"/usr/sbin/ip", "link", "add", "fl-a", "type", "veth", "peer", "name", "fl-b"});
  run({"/usr/sbin/ip", "link", "set", "fl-a", "up"});

  NetworkScope scope;
  scope.destination = {*parse_cidr("10.200.0.2/32")};
  scope.ports = {{8080, 8080}};
  scope.protocol = "tcp";
  // The same qdisc the bandwidth kind installs for rate 1mbit burst 32kb limit 128kb.
  const FaultQdisc qdisc = make_tbf_qdisc({1'000'000, 32 * 1024, 128 * 1024});
  std::vector<double> ours_apply, ours_revert, tc_apply, tc_revert, floor_apply, floor_revert;
  // What faultline sends for one apply and one revert, as it sends it.
  std::vector<std::vector<uint8_t>> apply_messages, revert_messages;
  nl_sock* bare = nl_socket_alloc();
  if (bare == nullptr || nl_connect(bare, NETLINK_ROUTE) < 0) {
    std::fprintf(stderr, "cannot open a NETLINK_ROUTE socket\n");
    run({"/usr/sbin/ip", "netns", "del", ns});
    return 1;
  }
  for (int i = 0; i < runs; ++i) {
    {
      ScopedQdiscTree tree("fl-a");
      std::vector<std::vector<uint8_t>> applied, reverted;
      RouteSocket::tap_requests(i == 0 ? &applied : nullptr);
      auto t0 = Clock::now();
      if (auto r = tree.apply(scope, qdisc); !r) {
        std::fprintf(stderr, "apply: %s\n", r.error().message.c_str());
        break;
      }
      auto t1 = Clock::now();
      RouteSocket::tap_requests(i == 0 ? &reverted : nullptr);
      (void)tree.revert();
      auto t2 = Clock::now();
      RouteSocket::tap_requests(nullptr);
      ours_apply.push_back(Ms(t1 - t0).count());
      ours_revert.push_back(Ms(t2 - t1).count());
      if (i == 0) {
        apply_messages = std::move(applied);
        revert_messages = std::move(reverted);
      }
    }
    {
      auto t0 = Clock::now();
      const bool applied = replay(bare, apply_messages);
      auto t1 = Clock::now();
      const bool reverted = replay(bare, revert_messages);
      auto t2 = Clock::now();
      if (!applied || !reverted) {
        std::fprintf(stderr, "the kernel refused a replayed message\n");
        break;
      }
      floor_apply.push_back(Ms(t1 - t0).count());
      floor_revert.push_back(Ms(t2 - t1).count());
    }
    auto t0 = Clock::now();
    tc("qdisc replace dev fl-a root handle fa01: htb default 0");
    tc("class add dev fl-a parent fa01: classid fa01:1 htb rate 100gbit quantum 60000");
    tc("qdisc add dev fl-a parent fa01:1 handle fa02: tbf rate 1mbit burst 32kb limit 128kb");
    tc("filter add dev fl-a parent fa01: protocol ip prio 1 u32 match ip protocol 6 0xff "
       "match ip dport 22 0xffff flowid fa01:");
    tc("filter add dev fl-a parent fa01: protocol ip prio 1 u32 match ip protocol 6 0xff "
       "match ip sport 22 0xffff flowid fa01:");
    tc("filter add dev fl-a parent fa01: protocol ipv6 prio 2 u32 match ip6 protocol 6 0xff "
       "match ip6 dport 22 0xffff flowid fa01:");
    tc("filter add dev fl-a parent fa01: protocol ipv6 prio 2 u32 match ip6 protocol 6 0xff "
       "match ip6 sport 22 0xffff flowid fa01:");
    tc("filter add dev fl-a parent fa01: protocol ip prio 3 u32 match ip protocol 6 0xff "
       "match ip dst 10.200.0.2/32 match ip dport 8080 0xffff flowid fa01:1");
    auto t1 = Clock::now();
    tc("qdisc del dev fl-a root");
    auto t2 = Clock::now();
    tc_apply.push_back(Ms(t1 - t0).count());
    tc_revert.push_back(Ms(t2 - t1).count());
  }
  nl_socket_free(bare);
  run({"/usr/sbin/ip", "netns", "del", ns});
  if (ours_apply.size() != static_cast<size_t>(runs) || floor_apply.size() != ours_apply.size())
    return 1;
  const auto oa = bench::stats(ours_apply), orv = bench::stats(ours_revert),
             fa = bench::stats(floor_apply), frv = bench::stats(floor_revert),
             ta = bench::stats(tc_apply), trv = bench::stats(tc_revert);
  std::printf("scoped network fault (htb + class + tbf + 5 u32 filters), %d runs:\n", runs);
  std::printf("  faultline over netlink: apply median %.3f ms (p95 %.3f), revert median %.3f ms\n",
              oa.median, oa.p95, orv.median);
  std::printf("  floor, bare libnl:      apply median %.3f ms (p95 %.3f), revert median %.3f ms "
              "(%zu + %zu messages)\n",
              fa.median, fa.p95, frv.median, apply_messages.size(), revert_messages.size());
  std::printf("  the same with `tc`:     apply median %.3f ms (p95 %.3f), revert median %.3f ms\n",
              ta.median, ta.p95, trv.median);
  std::printf("  apply+revert: %.2fx the floor (target <= 1.3x); %.1fx faster than tc (target >= "
              "20x)\n",
              (oa.median + orv.median) / (fa.median + frv.median),
              (ta.median + trv.median) / (oa.median + orv.median));
  return 0;
}
