#pragma once
// The netlink side of one NFQUEUE, with libnetfilter_queue's message helpers over a libmnl
// socket: binding the queue (copy mode, length, flags), reading the packets the kernel hands
// over, and sending verdicts, many in one sendmsg. No policy here: PacketQueue decides.
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "core/result.h"

struct mnl_socket;

namespace faultline {

// One packet as the kernel handed it over.
struct QueuedPacket {
  uint32_t id = 0;
  uint8_t hook = 0;      // NF_INET_PRE_ROUTING, NF_INET_POST_ROUTING, ...
  uint32_t length = 0;   // the whole packet, from its network header (GSO: all segments)
  uint32_t ifindex = 0;  // the device it arrives on (ingress) or leaves by (egress), 0 if none
  std::span<uint8_t> payload;  // the packet's bytes when copied (empty in meta mode)
};

struct NfqueueBinding {
  uint16_t queue_number = 0;
  uint32_t max_packets = 1000;
  // Copy each packet's bytes (needed to corrupt or duplicate it). Otherwise only its metadata,
  // and the kernel hands over whole GSO packets: far fewer verdicts.
  bool copy_payload = false;
};

class NfqueueSocket {
 public:
  // Binds the queue in the calling thread's network namespace. Refused (Error::refused) when
  // another socket holds that queue number: the caller may try another.
  static Result<std::unique_ptr<NfqueueSocket>> bind(const NfqueueBinding& binding);
  ~NfqueueSocket();  // closing the socket unbinds the queue; the kernel drops what it still held
  NfqueueSocket(const NfqueueSocket&) = delete;
  NfqueueSocket& operator=(const NfqueueSocket&) = delete;

  int fd() const;

  // Reads what waits on the socket without blocking, at most `max_messages`, and calls
  // `on_packet` for each packet. Returns the number of messages read: 0 when none waited.
  Result<size_t> receive(size_t max_messages, const std::function<void(QueuedPacket&)>& on_packet);

  // Whether one more verdict carrying `payload_bytes` fits in the pending batch (bounded in
  // bytes and in verdicts).
  bool fits(size_t payload_bytes) const;
  // Adds a verdict to the pending batch (call fits() first); with a payload, the packet leaves
  // with those bytes instead of its own.
  void add_verdict(uint32_t id, uint32_t verdict, std::span<const uint8_t> payload = {});
  bool verdicts_pending() const { return batch_used_ > 0; }
  // Sends the pending verdicts in one sendmsg.
  Result<void> flush_verdicts();

  // Tells the kernel to hand us nothing more: it lets the queue's new packets through (fail
  // open with a length of 0). What it had already handed over still waits on the socket.
  Result<void> stop_queueing();

  // Verdicts the kernel refused (an error message for one of them); none expected.
  uint64_t verdict_errors() const { return verdict_errors_; }
  // Verdicts for packets the kernel no longer held (ENOENT): it drops every queued packet of the
  // namespace when a netfilter hook there is removed (another fault's table, say).
  uint64_t verdicts_gone() const { return verdicts_gone_; }

 private:
  NfqueueSocket() = default;
  Result<void> configure(const NfqueueBinding& binding);

  mnl_socket* socket_ = nullptr;
  uint32_t portid_ = 0;
  uint16_t queue_number_ = 0;
  std::vector<char> batch_;
  size_t batch_used_ = 0;
  size_t batch_count_ = 0;
  size_t buffer_size_ = 0;
  std::vector<char> buffers_;
  std::vector<iovec> iovecs_;
  std::vector<mmsghdr> messages_;
  uint64_t verdict_errors_ = 0;
  uint64_t verdicts_gone_ = 0;
};

}  // namespace faultline
