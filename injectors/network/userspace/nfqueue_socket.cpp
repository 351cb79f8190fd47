#include "injectors/network/userspace/nfqueue_socket.h"

// The order matters: libnetfilter_queue.h needs the kernel's types first.
#include <arpa/inet.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "injectors/network/userspace/kernel_queue_counters.h"

namespace faultline {
namespace {

// The receive buffer the kernel may fill while the thread is busy: at ~200 bytes a message in
// meta mode, tens of thousands of packets. SO_RCVBUFFORCE passes net.core.rmem_max (root).
constexpr int kReceiveBufferBytes = 8 << 20;
// Verdicts go out when this much is pending (one verdict with a full payload is ~64 KiB), or
// when this many are: enough to share a sendmsg's cost, few enough that the first of them does
// not wait long for the last under a flood (~1 us each).
constexpr size_t kBatchBytes = 128 << 10;
constexpr size_t kVerdictsPerSend = 64;
constexpr int kSendBufferBytes = 1 << 20;
// Messages read in one recvmmsg call, and each one's room: a packet with its bytes (up to the
// copy range, 0xffff) or without them (~200 bytes of attributes).
constexpr size_t kMessagesPerCall = 32;
// Each a multiple of 8, so that every message's buffer (one after another in one allocation)
// starts aligned for struct nlmsghdr.
constexpr size_t kPayloadMessageBytes = 0x10000 + 4096;
constexpr size_t kMetaMessageBytes = 4096;
constexpr uint32_t kCopyRange = 0xffff;
// NFQA_PAYLOAD is a netlink attribute: its 16-bit length includes its 4-byte header.
constexpr size_t kMaxVerdictPayload = 0xffff - 4;

size_t verdict_message_bytes(size_t payload_bytes) {
  return MNL_ALIGN(sizeof(nlmsghdr)) + MNL_ALIGN(sizeof(nfgenmsg)) +
         MNL_ALIGN(MNL_ATTR_HDRLEN + sizeof(nfqnl_msg_verdict_hdr)) +
         (payload_bytes > 0 ? MNL_ALIGN(MNL_ATTR_HDRLEN + payload_bytes) : 0);
}

// Why a BIND failed with EPERM or EBUSY: another socket has the queue (its line in /proc names
// the holder's port id), or this process lacks CAP_NET_ADMIN.
Result<void> bind_refusal(uint16_t queue_number, int error) {
  std::optional<KernelQueueCounters> holder;
  if (auto file = KernelQueueCounterFile::open()) {
    if (auto read = file->read(queue_number)) holder = *read;
  }
  if (holder || error == EBUSY)
    return refuse(
        "NFQUEUE queue {} is held by another program in this network namespace (bind: {}); "
        "choose another queue number (next_queue_number())",
        queue_number, std::strerror(error));
  return fail("cannot bind NFQUEUE queue {}: {} (needs CAP_NET_ADMIN in the network namespace)",
              queue_number, std::strerror(error));
}

}  // namespace

Result<std::unique_ptr<NfqueueSocket>> NfqueueSocket::bind(const NfqueueBinding& binding) {
  std::unique_ptr<NfqueueSocket> s(new NfqueueSocket());
  s->queue_number_ = binding.queue_number;
  s->socket_ = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
  if (s->socket_ == nullptr)
    return fail("cannot open a netfilter netlink socket for NFQUEUE: {}", std::strerror(errno));
  if (mnl_socket_bind(s->socket_, 0, MNL_SOCKET_AUTOPID) < 0)
    return fail("cannot bind a netfilter netlink socket: {}", std::strerror(errno));
  s->portid_ = mnl_socket_get_portid(s->socket_);
  const int fd = mnl_socket_get_fd(s->socket_);
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &kReceiveBufferBytes, sizeof(int)) != 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kReceiveBufferBytes, sizeof(int));
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &kSendBufferBytes, sizeof(int)) != 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kSendBufferBytes, sizeof(int));
  // A packet the kernel cannot hand over (the buffer full) is dropped and counted in /proc
  // (user dropped: netlink_lost); no error on our reads for it.
  const int on = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &on, sizeof on);

  s->batch_.resize(kBatchBytes);
  s->buffer_size_ = binding.copy_payload ? kPayloadMessageBytes : kMetaMessageBytes;
  static_assert(kPayloadMessageBytes % 8 == 0 && kMetaMessageBytes % 8 == 0);
  s->buffers_.resize(s->buffer_size_ * kMessagesPerCall);
  s->iovecs_.resize(kMessagesPerCall);
  s->messages_.resize(kMessagesPerCall);
  for (size_t i = 0; i < kMessagesPerCall; ++i) {
    s->iovecs_[i] = {s->buffers_.data() + i * s->buffer_size_, s->buffer_size_};
    s->messages_[i] = {};
    s->messages_[i].msg_hdr.msg_iov = &s->iovecs_[i];
    s->messages_[i].msg_hdr.msg_iovlen = 1;
  }
  FL_TRY_VOID(s->configure(binding));
  if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0)
    return fail("cannot make the NFQUEUE socket non-blocking: {}", std::strerror(errno));
  return s;
}

Result<void> NfqueueSocket::configure(const NfqueueBinding& binding) {
  std::vector<char> buffer(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = nfq_nlmsg_put(buffer.data(), NFQNL_MSG_CONFIG, binding.queue_number);
  nlh->nlmsg_flags |= NLM_F_ACK;
  const uint32_t seq = 1;
  nlh->nlmsg_seq = seq;
  nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
  nfq_nlmsg_cfg_put_params(nlh, binding.copy_payload ? NFQNL_COPY_PACKET : NFQNL_COPY_META,
                           static_cast<int>(kCopyRange));
  nfq_nlmsg_cfg_put_qmaxlen(nlh, binding.max_packets);
  // Whole GSO packets when their bytes are not needed; otherwise the kernel segments them, so
  // each copy fits the MTU and its checksum is complete. Never fail open: a full queue drops,
  // as netem's limit does, and the kernel counts it.
  const uint32_t flags = binding.copy_payload ? 0 : NFQA_CFG_F_GSO;
  mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
  mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN));
  if (mnl_socket_sendto(socket_, nlh, nlh->nlmsg_len) < 0)
    return fail("cannot send the NFQUEUE bind request: {}", std::strerror(errno));

  // The acknowledgement; a packet may come first (the queue is bound before the kernel
  // answers): it leaves at once.
  std::vector<char> reply(kPayloadMessageBytes);
  for (;;) {
    const ssize_t n = mnl_socket_recvfrom(socket_, reply.data(), reply.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("no answer to the NFQUEUE bind request: {}", std::strerror(errno));
    int remaining = static_cast<int>(n);
    for (auto* m = reinterpret_cast<nlmsghdr*>(reply.data()); mnl_nlmsg_ok(m, remaining);
         m = mnl_nlmsg_next(m, &remaining)) {
      if (m->nlmsg_type == NLMSG_ERROR && m->nlmsg_seq == seq) {
        const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(m));
        if (e->error == 0) return {};
        const int error = -e->error;
        if (error == EPERM || error == EBUSY) return bind_refusal(binding.queue_number, error);
        if (error == EOPNOTSUPP || error == EINVAL)
          return fail(
              "the kernel refused NFQUEUE queue {}'s settings: {} (needs GSO support, "
              "Linux 3.10 or later)",
              binding.queue_number, std::strerror(error));
        return fail("cannot bind NFQUEUE queue {}: {}", binding.queue_number, std::strerror(error));
      }
      if (m->nlmsg_type == ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET)) {
        nlattr* attr[NFQA_MAX + 1] = {};
        if (nfq_nlmsg_parse(m, attr) >= 0 && attr[NFQA_PACKET_HDR] != nullptr) {
          const auto* h =
              static_cast<const nfqnl_msg_packet_hdr*>(mnl_attr_get_payload(attr[NFQA_PACKET_HDR]));
          add_verdict(ntohl(h->packet_id), NF_ACCEPT);
        }
      }
    }
    if (verdicts_pending()) FL_TRY_VOID(flush_verdicts());
  }
}

NfqueueSocket::~NfqueueSocket() {
  if (socket_ != nullptr) mnl_socket_close(socket_);
}

int NfqueueSocket::fd() const {
  return mnl_socket_get_fd(socket_);
}

Result<size_t> NfqueueSocket::receive(size_t max_messages,
                                      const std::function<void(QueuedPacket&)>& on_packet) {
  const int fd = mnl_socket_get_fd(socket_);
  size_t read = 0;
  while (read < max_messages) {
    const unsigned int want =
        static_cast<unsigned int>(std::min(messages_.size(), max_messages - read));
    const int n = recvmmsg(fd, messages_.data(), want, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      // Only without NETLINK_NO_ENOBUFS: messages were lost, the kernel counts them.
      if (errno == ENOBUFS) continue;
      return fail("cannot read from NFQUEUE queue {}: {}", queue_number_, std::strerror(errno));
    }
    for (int i = 0; i < n; ++i) {
      int remaining = static_cast<int>(messages_[static_cast<size_t>(i)].msg_len);
      for (auto* m = static_cast<nlmsghdr*>(iovecs_[static_cast<size_t>(i)].iov_base);
           mnl_nlmsg_ok(m, remaining); m = mnl_nlmsg_next(m, &remaining)) {
        if (m->nlmsg_type == NLMSG_ERROR) {
          const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(m));
          if (e->error == -ENOENT)
            ++verdicts_gone_;
          else if (e->error != 0)
            ++verdict_errors_;
          continue;
        }
        if (m->nlmsg_type != ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET)) continue;
        nlattr* attr[NFQA_MAX + 1] = {};
        if (nfq_nlmsg_parse(m, attr) < 0 || attr[NFQA_PACKET_HDR] == nullptr) continue;
        const auto* h =
            static_cast<const nfqnl_msg_packet_hdr*>(mnl_attr_get_payload(attr[NFQA_PACKET_HDR]));
        QueuedPacket p;
        p.id = ntohl(h->packet_id);
        p.hook = h->hook;
        if (attr[NFQA_PAYLOAD] != nullptr)
          p.payload = {static_cast<uint8_t*>(mnl_attr_get_payload(attr[NFQA_PAYLOAD])),
                       mnl_attr_get_payload_len(attr[NFQA_PAYLOAD])};
        // NFQA_CAP_LEN is the packet's length when fewer bytes were copied (always, in meta
        // mode); otherwise the copy is the whole packet.
        p.length = attr[NFQA_CAP_LEN] != nullptr ? ntohl(mnl_attr_get_u32(attr[NFQA_CAP_LEN]))
                                                 : static_cast<uint32_t>(p.payload.size());
        const int device = p.hook == NF_INET_PRE_ROUTING || p.hook == NF_INET_LOCAL_IN
                               ? NFQA_IFINDEX_INDEV
                               : NFQA_IFINDEX_OUTDEV;
        if (attr[device] != nullptr) p.ifindex = ntohl(mnl_attr_get_u32(attr[device]));
        on_packet(p);
      }
    }
    read += static_cast<size_t>(n);
    if (static_cast<unsigned int>(n) < want) break;  // the socket is empty now
  }
  return read;
}

bool NfqueueSocket::fits(size_t payload_bytes) const {
  return batch_count_ < kVerdictsPerSend &&
         batch_used_ + verdict_message_bytes(std::min(payload_bytes, kMaxVerdictPayload)) <=
             batch_.size();
}

void NfqueueSocket::add_verdict(uint32_t id, uint32_t verdict, std::span<const uint8_t> payload) {
  nlmsghdr* nlh = nfq_nlmsg_put(batch_.data() + batch_used_, NFQNL_MSG_VERDICT, queue_number_);
  nfq_nlmsg_verdict_put(nlh, static_cast<int>(id), static_cast<int>(verdict));
  // A payload too long for one attribute cannot happen with the copy range we ask for; the
  // packet then leaves unchanged rather than not at all.
  if (!payload.empty() && payload.size() <= kMaxVerdictPayload)
    nfq_nlmsg_verdict_put_pkt(nlh, payload.data(), static_cast<uint32_t>(payload.size()));
  batch_used_ += MNL_ALIGN(nlh->nlmsg_len);
  ++batch_count_;
}

Result<void> NfqueueSocket::flush_verdicts() {
  const size_t bytes = batch_used_;
  batch_used_ = 0;
  batch_count_ = 0;
  for (int attempt = 0;; ++attempt) {
    if (mnl_socket_sendto(socket_, batch_.data(), bytes) >= 0) return {};
    // A short allocation failure in the kernel passes; anything else is reported.
    if ((errno == EINTR || errno == ENOBUFS || errno == EAGAIN) && attempt < 100) {
      if (errno != EINTR) usleep(100);
      continue;
    }
    return fail("cannot send verdicts to NFQUEUE queue {}: {}", queue_number_,
                std::strerror(errno));
  }
}

Result<void> NfqueueSocket::stop_queueing() {
  std::vector<char> buffer(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = nfq_nlmsg_put(buffer.data(), NFQNL_MSG_CONFIG, queue_number_);
  nfq_nlmsg_cfg_put_qmaxlen(nlh, 0);
  mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_FAIL_OPEN));
  mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_FAIL_OPEN));
  if (mnl_socket_sendto(socket_, nlh, nlh->nlmsg_len) < 0)
    return fail("cannot open NFQUEUE queue {} before unbinding it: {}", queue_number_,
                std::strerror(errno));
  return {};
}

}  // namespace faultline
