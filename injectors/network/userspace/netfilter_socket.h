#pragma once
// A NETLINK_NETFILTER socket (libmnl) for nf_tables and nfnetlink_queue: a batch of messages sent
// as one transaction with every answer checked, one request with its acknowledgement, or a dump.
// Messages go in as bytes (built with libnftnl or libnetfilter_queue by the caller); no libmnl
// type appears in this header.
//
// The kernel handles what a netlink socket sends while sendmsg runs, so every answer is queued
// by the time the send returns; reading waits anyway, but never longer than kAnswerTimeout, so
// a missing answer is an error instead of a hang.
#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/result.h"

struct mnl_socket;

namespace faultline {

inline constexpr std::chrono::milliseconds kAnswerTimeout{5000};

struct NetfilterMessage {
  std::vector<char> bytes;  // one netlink message; its sequence number and NLM_F_ACK are set here
  std::string what;         // what it asks for, for errors: "creating table inet t"
  // The whole error message for an errno the caller foresees (e.g. EEXIST on a new table).
  std::map<int, std::string> foreseen;
  // Errnos that mean what was asked is so already (ENOENT when deleting): counted as success.
  // Alone in its transaction only: any refusal undoes the whole transaction.
  std::set<int> already_done;
};

class NetfilterSocket {
 public:
  // A socket in the network namespace of the calling thread (close-on-exec).
  static Result<NetfilterSocket> open();
  NetfilterSocket(NetfilterSocket&& other) noexcept;
  NetfilterSocket& operator=(NetfilterSocket&& other) noexcept;
  ~NetfilterSocket();

  // Sends `messages` between NFNL_MSG_BATCH_BEGIN and _END as one nf_tables transaction: all of
  // it takes effect, or none. Each message is acknowledged; the error names the first message
  // the kernel refused, with the errno text and the kernel's own words when it gave some.
  Result<void> transact(std::vector<NetfilterMessage> messages);
  // Sends one message outside a batch (e.g. an NFQUEUE config command) and waits for its ack.
  Result<void> request(NetfilterMessage message);
  // Sends a dump request (NLM_F_DUMP set by the caller) and returns every answer until
  // NLMSG_DONE, each from its nlmsghdr on; a dump the kernel interrupted is asked again.
  Result<std::vector<std::vector<char>>> dump(std::vector<char> request, const std::string& what);

  // The socket's netlink port id: the owner the kernel records for an owned table.
  uint32_t port_id() const;

 private:
  explicit NetfilterSocket(mnl_socket* sock) : sock_(sock) {}
  Result<void> send(const std::vector<char>& bytes, const std::string& what);
  // Reads acknowledgements until each of `expected` (sequence number -> message) has one or the
  // kernel refused one; then takes whatever else is queued, so no stale answer stays behind.
  Result<void> read_acks(const std::map<uint32_t, const NetfilterMessage*>& expected,
                         uint32_t batch_seq);
  // Reads one datagram, waiting up to `timeout`; empty when none came.
  Result<std::vector<char>> receive(std::chrono::milliseconds timeout);
  uint32_t next_seq() { return seq_++; }

  mnl_socket* sock_ = nullptr;
  uint32_t seq_ = 1;
};

}  // namespace faultline
