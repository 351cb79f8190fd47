#pragma once
// The dns fault's own resolver-in-the-middle: threads inside faultline (or faultline-agent), no
// separate daemon. Its sockets live in the fault's network namespace; nftables redirects the
// namespace's DNS queries to them (redirect_script.h). A query for a matching name and type
// gets the fault (with the spec's probability, drawn from a generator seeded by the request);
// any other is forwarded, from a socket marked kResponderMark, to the resolver it was sent to,
// and that resolver's answer is returned byte for byte.
#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "core/result.h"
#include "injectors/dns/dns_spec.h"
#include "injectors/dns/endpoint.h"
#include "injectors/dns/redirect_script.h"
#include "injectors/network/netns.h"

namespace faultline {

struct ResponderCounts {
  uint64_t queries = 0;     // every query received (a UDP datagram, a message over TCP)
  uint64_t faulted = 0;     // got the fault (answered, dropped or delayed by it)
  uint64_t forwarded = 0;   // answered by the resolver they were sent to
  uint64_t failed = 0;      // not answered: resolver silent, original destination unknown
  uint64_t overloaded = 0;  // dropped: too many queries in flight at once
};

class DnsResponder {
 public:
  DnsResponder(DnsSpec spec, uint64_t seed);
  ~DnsResponder();
  DnsResponder(const DnsResponder&) = delete;
  DnsResponder& operator=(const DnsResponder&) = delete;

  // Opens the listening sockets inside `netns` (UDP and TCP, IPv4 and IPv6 where the namespace
  // has it, on ports the kernel picks) and serves them from a thread that lives there.
  Result<ResponderPorts> start(const NetnsHandle& netns);
  // Stops serving and closes every socket; waits for the queries in flight. Idempotent.
  void stop();
  ResponderCounts counts() const;

 private:
  struct Listener {
    int fd = -1;
    int family = 0;
    bool udp = false;
  };
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };

  void serve();
  void receive_datagrams(const Listener& l);
  void serve_connection(int fd, int family);
  void spawn(std::function<void()> job);
  void reap(bool all);
  // Whether this query gets the fault: its name and type match, and the draw says so.
  bool draw_fault(std::span<const uint8_t> query);
  // The fault's own answer to `query`; empty for drop (and delay, which forwards).
  std::optional<std::vector<uint8_t>> fault_reply(std::span<const uint8_t> query);
  std::optional<std::vector<uint8_t>> forward_udp(std::span<const uint8_t> query,
                                                  const Endpoint& resolver);
  std::optional<std::vector<uint8_t>> forward_tcp(std::span<const uint8_t> query,
                                                  const Endpoint& resolver);
  // Waits out the delay; false when the responder stops first.
  bool wait_delay();

  const DnsSpec spec_;
  std::mutex rng_mutex_;
  std::mt19937_64 rng_;
  std::vector<Listener> listeners_;
  int stop_fd_ = -1;  // an eventfd: readable once stop() is called, for every thread
  std::thread serving_;
  std::list<Worker> workers_;  // touched by the serving thread only
  std::atomic<uint64_t> queries_{0}, faulted_{0}, forwarded_{0}, failed_{0}, overloaded_{0};
};

}  // namespace faultline
