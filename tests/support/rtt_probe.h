#pragma once
// Round trips measured the way a user would see them, for the network fault tests: ping (ICMP),
// a TCP connect (SYN to SYN-ACK or RST: one round trip), a UDP echo, and UDP datagrams counted at
// the receiver (loss). Each sends only between the test's own namespaces.
#include <sys/socket.h>

#include <atomic>
#include <mutex>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/network_namespace.h"
#include "tests/support/netns.h"

namespace faultline::test {

// Each reply's RTT in ms, of `count` pings sent from namespace `from` (`interval` in seconds).
std::vector<double> ping_rtts(const NamespacePair& net, const std::string& from,
                              const std::string& address, int count, const char* interval = "0.02");
// The RTT in ms of one TCP connect from the calling thread's namespace (-1 when none came).
double tcp_connect_ms(const std::string& address, uint16_t port, int timeout_ms = 3000);
// `count` TCP connects, one after another.
std::vector<double> tcp_connect_rtts(const std::string& address, uint16_t port, int count);

// A UDP echo server on `port` (IPv4 and IPv6) in the namespace of `ns`; a thread answers.
class UdpEcho {
 public:
  UdpEcho(NetnsThread& ns, uint16_t port);
  ~UdpEcho();
  UdpEcho(const UdpEcho&) = delete;
  UdpEcho& operator=(const UdpEcho&) = delete;

 private:
  std::vector<int> fds_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};
// `count` echo round trips in ms from the calling thread's namespace (one not answered within
// `timeout_ms` is skipped).
std::vector<double> udp_echo_rtts(const std::string& address, uint16_t port, int count,
                                  int timeout_ms = 2000);

// A UDP sink on `port` in the namespace of `ns` that counts what arrives, and how long each
// datagram of send_udp took on the way (both ends read the same monotonic clock).
class UdpSink {
 public:
  UdpSink(NetnsThread& ns, uint16_t port, int family = AF_INET);
  ~UdpSink();
  UdpSink(const UdpSink&) = delete;
  UdpSink& operator=(const UdpSink&) = delete;
  uint64_t received() const { return received_; }
  std::vector<double> one_way_ms() const;

 private:
  int fd_ = -1;
  mutable std::mutex mutex_;
  std::vector<double> one_way_ms_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> received_{0};
  std::thread thread_;
};
// Sends `count` small datagrams from the calling thread's namespace, `gap_us` apart.
void send_udp(const std::string& address, uint16_t port, int count, int gap_us = 20);

double median(std::vector<double> v);
double mean(const std::vector<double>& v);
double stddev(const std::vector<double>& v);

}  // namespace faultline::test
