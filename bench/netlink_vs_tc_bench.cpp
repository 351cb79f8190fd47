// Applying and reverting a scoped network fault over netlink (faultline's tree: htb root, class,
// tbf, u32 filters incl. the SSH exclusions) against building the same tree by running `tc`, in
// the same run, inside a network namespace this benchmark makes and removes. tbf stands in for
// netem, which this machine's kernel lacks; the netlink work is the same.
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "bench/bench_util.h"
#include "injectors/bandwidth/bandwidth.h"
#include <sys/wait.h>
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
  std::vector<double> ours_apply, ours_revert, tc_apply, tc_revert;
  for (int i = 0; i < runs; ++i) {
    {
      ScopedQdiscTree tree("fl-a");
      auto t0 = Clock::now();
      if (auto r = tree.apply(scope, qdisc); !r) {
        std::fprintf(stderr, "apply: %s\n", r.error().message.c_str());
        break;
      }
      auto t1 = Clock::now();
      (void)tree.revert();
      auto t2 = Clock::now();
      ours_apply.push_back(Ms(t1 - t0).count());
      ours_revert.push_back(Ms(t2 - t1).count());
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
  run({"/usr/sbin/ip", "netns", "del", ns});
  const auto oa = bench::stats(ours_apply), orv = bench::stats(ours_revert),
             ta = bench::stats(tc_apply), trv = bench::stats(tc_revert);
  std::printf("scoped network fault (htb + class + tbf + 5 u32 filters), %d runs:\n", runs);
  std::printf("  faultline over netlink: apply median %.3f ms (p95 %.3f), revert median %.3f ms\n",
              oa.median, oa.p95, orv.median);
  std::printf("  the same with `tc`:     apply median %.3f ms (p95 %.3f), revert median %.3f ms\n",
              ta.median, ta.p95, trv.median);
  std::printf("  apply+revert: %.1fx faster than tc (target >= 20x); apply under 1 ms: %s\n",
              (ta.median + trv.median) / (oa.median + orv.median), oa.median < 1.0 ? "yes" : "no");
  return 0;
}
