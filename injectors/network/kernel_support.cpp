#include "injectors/network/kernel_support.h"

#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <sched.h>

#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "injectors/network/route_socket.h"

namespace faultline {
namespace {

// Adds a default-option qdisc of `kind` as root of the namespace's loopback.
Result<void> try_kind(const std::string& kind) {
  RouteSocket sock = FL_TRY(RouteSocket::open());
  nl_msg* msg = nlmsg_alloc_simple(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL);
  tcmsg tc{};
  tc.tcm_family = AF_UNSPEC;
  tc.tcm_ifindex = 1;  // lo is always 1 in a new namespace
  tc.tcm_handle = 0x10000;
  tc.tcm_parent = TC_H_ROOT;
  nlmsg_append(msg, &tc, sizeof tc, NLMSG_ALIGNTO);
  nla_put_string(msg, TCA_KIND, kind.c_str());
  if (kind == "netem") {
    tc_netem_qopt q{};
    q.limit = 1000;
    nla_put(msg, TCA_OPTIONS, sizeof q, &q);
  } else if (kind == "htb") {
    nlattr* o = nla_nest_start(msg, TCA_OPTIONS);
    tc_htb_glob glob{};
    glob.version = TC_HTB_PROTOVER;
    glob.rate2quantum = 10;
    nla_put(msg, TCA_HTB_INIT, sizeof glob, &glob);
    nla_nest_end(msg, o);
  } else if (kind == "tbf") {
    nlattr* o = nla_nest_start(msg, TCA_OPTIONS);
    tc_tbf_qopt q{};
    q.rate.rate = 125000;
    q.rate.linklayer = TC_LINKLAYER_ETHERNET;
    q.limit = 10000;
    q.buffer = 1000000;
    nla_put(msg, TCA_TBF_PARMS, sizeof q, &q);
    nla_put_u32(msg, TCA_TBF_BURST, 10000);
    nla_nest_end(msg, o);
  }
  return sock.request(msg, "probe");
}

}  // namespace

bool has_net_admin() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "CapEff:") {
      unsigned long long caps = 0;
      status >> std::hex >> caps;
      return (caps >> 12) & 1;  // CAP_NET_ADMIN
    }
  }
  return false;
}

Result<void> qdisc_kind_available(const std::string& kind) {
  static std::mutex mutex;
  static std::map<std::string, Result<void>> known;
  std::lock_guard lock(mutex);
  if (auto it = known.find(kind); it != known.end()) return it->second;
  if (!has_net_admin())
    return fail("CAP_NET_ADMIN is needed to change traffic control; run faultline as root");
  Result<void> result;
  // A thread of our own moves into a fresh network namespace; the process stays where it is.
  std::thread([&] {
    if (unshare(CLONE_NEWNET) != 0) {
      result = fail("cannot create a network namespace to test for {}", kind);
      return;
    }
    result = try_kind(kind);
  }).join();
  if (!result) {
    if (kind == "netem")
      result = fail(
          "this kernel has no netem qdisc (sch_netem): load it with 'modprobe "
          "sch_netem'; on RHEL-family kernels it is in the kernel-modules-extra "
          "package, on Debian/Ubuntu in linux-modules-extra or the standard image");
    else
      result = fail("this kernel cannot create a {} qdisc ({}): load it with 'modprobe sch_{}'",
                    kind, result.error().message, kind);
  }
  known.emplace(kind, result);
  return result;
}

}  // namespace faultline
