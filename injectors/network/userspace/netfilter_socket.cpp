#include "injectors/network/userspace/netfilter_socket.h"

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <optional>

namespace faultline {
namespace {

// Room for one datagram: a dump answer is at most 32 KiB (the kernel's largest dump skb).
constexpr size_t kReceiveBytes = 64 * 1024;
// Answers kept queued for us: an acknowledgement takes about 1 KiB of the receive buffer.
constexpr int kReceiveBufferFloor = 1 << 20;
constexpr int kReceiveBytesPerAnswer = 2048;
constexpr int kDumpAttempts = 3;

nlmsghdr* header_of(std::vector<char>& bytes) {
  return reinterpret_cast<nlmsghdr*>(bytes.data());
}

// The kernel's own words in an extended acknowledgement (NLMSGERR_ATTR_MSG), if any.
std::string extended_ack_text(const nlmsghdr* header) {
  if (!(header->nlmsg_flags & NLM_F_ACK_TLVS)) return "";
  const auto* error = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(header));
  // With NETLINK_CAP_ACK the refused message's header alone is echoed, not its payload.
  size_t offset = sizeof(nlmsgerr);
  if (!(header->nlmsg_flags & NLM_F_CAPPED) && error->error != 0)
    offset += error->msg.nlmsg_len - sizeof(nlmsghdr);
  std::string text;
  mnl_attr_parse(
      header, static_cast<unsigned>(offset),
      [](const nlattr* attr, void* data) {
        if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
            mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
          *static_cast<std::string*>(data) = mnl_attr_get_str(attr);
        return MNL_CB_OK;
      },
      &text);
  return text;
}

std::string refusal(const NetfilterMessage& message, int error, const std::string& kernel_text) {
  if (auto it = message.foreseen.find(error); it != message.foreseen.end()) return it->second;
  return fmt::format("the kernel refused {}: {}{}", message.what, std::strerror(error),
                     kernel_text.empty() ? "" : " (" + kernel_text + ")");
}

void set_buffer(int fd, int force_option, int option, int bytes) {
  // The *FORCE options pass the system's limit (root, CAP_NET_ADMIN); the plain ones are capped.
  if (setsockopt(fd, SOL_SOCKET, force_option, &bytes, sizeof bytes) != 0)
    setsockopt(fd, SOL_SOCKET, option, &bytes, sizeof bytes);
}

}  // namespace

Result<NetfilterSocket> NetfilterSocket::open() {
  mnl_socket* sock = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
  if (sock == nullptr)
    return fail("cannot open a NETLINK_NETFILTER socket: {}", std::strerror(errno));
  NetfilterSocket out(sock);
  if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0)
    return fail("cannot bind a NETLINK_NETFILTER socket: {}", std::strerror(errno));
  // The kernel's reason in words where it gives one, and errors that echo only the header of
  // the refused message (a rule can be kilobytes).
  int on = 1;
  mnl_socket_setsockopt(sock, NETLINK_EXT_ACK, &on, sizeof on);
  mnl_socket_setsockopt(sock, NETLINK_CAP_ACK, &on, sizeof on);
  set_buffer(mnl_socket_get_fd(sock), SO_RCVBUFFORCE, SO_RCVBUF, kReceiveBufferFloor);
  return out;
}

NetfilterSocket::NetfilterSocket(NetfilterSocket&& other) noexcept
    : sock_(std::exchange(other.sock_, nullptr)), seq_(other.seq_) {}

NetfilterSocket& NetfilterSocket::operator=(NetfilterSocket&& other) noexcept {
  if (this != &other) {
    if (sock_ != nullptr) mnl_socket_close(sock_);
    sock_ = std::exchange(other.sock_, nullptr);
    seq_ = other.seq_;
  }
  return *this;
}

NetfilterSocket::~NetfilterSocket() {
  if (sock_ != nullptr) mnl_socket_close(sock_);
}

uint32_t NetfilterSocket::port_id() const {
  return mnl_socket_get_portid(sock_);
}

Result<void> NetfilterSocket::send(const std::vector<char>& bytes, const std::string& what) {
  const int fd = mnl_socket_get_fd(sock_);
  // A netlink send larger than the send buffer is refused (EMSGSIZE) rather than split.
  if (bytes.size() + 4096 > 200 * 1024)
    set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, static_cast<int>(bytes.size() + 64 * 1024));
  if (mnl_socket_sendto(sock_, bytes.data(), bytes.size()) < 0)
    return fail("cannot send {} to the kernel: {}", what, std::strerror(errno));
  return {};
}

Result<std::vector<char>> NetfilterSocket::receive(std::chrono::milliseconds timeout) {
  pollfd p{mnl_socket_get_fd(sock_), POLLIN, 0};
  const int ready = poll(&p, 1, static_cast<int>(timeout.count()));
  if (ready < 0 && errno != EINTR)
    return fail("cannot wait for the kernel: {}", std::strerror(errno));
  if (ready <= 0) return std::vector<char>{};
  std::vector<char> buffer(kReceiveBytes);
  const ssize_t n = recv(p.fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return std::vector<char>{};
    if (errno == ENOBUFS)
      return fail("the kernel's answers overflowed the netlink socket's buffer; some were lost");
    return fail("cannot read the kernel's answer: {}", std::strerror(errno));
  }
  buffer.resize(static_cast<size_t>(n));
  return buffer;
}

Result<void> NetfilterSocket::read_acks(const std::map<uint32_t, const NetfilterMessage*>& expected,
                                        uint32_t batch_seq) {
  std::set<uint32_t> answered;
  std::optional<std::string> refused;
  const auto deadline = std::chrono::steady_clock::now() + kAnswerTimeout;
  auto take = [&](std::vector<char>& data) {
    int left = static_cast<int>(data.size());
    for (auto* h = reinterpret_cast<const nlmsghdr*>(data.data()); mnl_nlmsg_ok(h, left);
         h = mnl_nlmsg_next(h, &left)) {
      if (h->nlmsg_type != NLMSG_ERROR || refused) continue;
      if (h->nlmsg_len < mnl_nlmsg_size(sizeof(nlmsgerr) - sizeof(nlmsghdr))) continue;
      const auto* error = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(h));
      if (batch_seq != 0 && h->nlmsg_seq == batch_seq && error->error != 0) {
        // About the transaction as a whole: no permission, or its commit failed.
        refused =
            fmt::format("the kernel refused the transaction: {}{}", std::strerror(-error->error),
                        extended_ack_text(h).empty() ? "" : " (" + extended_ack_text(h) + ")");
        continue;
      }
      const auto it = expected.find(h->nlmsg_seq);
      if (it == expected.end()) continue;  // an answer to an earlier request: stale
      if (error->error == 0 || it->second->already_done.contains(-error->error))
        answered.insert(h->nlmsg_seq);
      else
        refused = refusal(*it->second, -error->error, extended_ack_text(h));
    }
  };
  while (!refused && answered.size() < expected.size()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return fail("the kernel answered {} of {} messages within {} ms", answered.size(),
                  expected.size(), kAnswerTimeout.count());
    std::vector<char> data = FL_TRY(receive(left));
    take(data);
  }
  // Whatever else the kernel queued for this request (the acks of messages after a refused one)
  // is read now, or a later request would find it first.
  for (;;) {
    auto data = receive(std::chrono::milliseconds(0));
    if (!data || data->empty()) break;
  }
  if (refused) return fail("{}", *refused);
  return {};
}

Result<void> NetfilterSocket::transact(std::vector<NetfilterMessage> messages) {
  std::vector<char> batch(MNL_SOCKET_BUFFER_SIZE);
  const uint32_t begin_seq = next_seq();
  nftnl_batch_begin(batch.data(), begin_seq);
  batch.resize(header_of(batch)->nlmsg_len);
  std::map<uint32_t, const NetfilterMessage*> expected;
  for (NetfilterMessage& m : messages) {
    nlmsghdr* h = header_of(m.bytes);
    h->nlmsg_seq = next_seq();
    h->nlmsg_flags |= NLM_F_ACK;
    expected[h->nlmsg_seq] = &m;
    batch.insert(batch.end(), m.bytes.begin(), m.bytes.begin() + h->nlmsg_len);
  }
  std::vector<char> end(MNL_SOCKET_BUFFER_SIZE);
  nftnl_batch_end(end.data(), next_seq());
  batch.insert(batch.end(), end.begin(), end.begin() + header_of(end)->nlmsg_len);

  const int room =
      std::max(kReceiveBufferFloor, static_cast<int>(messages.size()) * kReceiveBytesPerAnswer);
  set_buffer(mnl_socket_get_fd(sock_), SO_RCVBUFFORCE, SO_RCVBUF, room);
  FL_TRY_VOID(send(batch, "an nf_tables transaction"));
  return read_acks(expected, begin_seq);
}

Result<void> NetfilterSocket::request(NetfilterMessage message) {
  nlmsghdr* h = header_of(message.bytes);
  h->nlmsg_seq = next_seq();
  h->nlmsg_flags |= NLM_F_ACK;
  FL_TRY_VOID(send(std::vector<char>(message.bytes.begin(), message.bytes.begin() + h->nlmsg_len),
                   message.what));
  return read_acks({{h->nlmsg_seq, &message}}, 0);
}

Result<std::vector<std::vector<char>>> NetfilterSocket::dump(std::vector<char> request,
                                                             const std::string& what) {
  for (int attempt = 1;; ++attempt) {
    nlmsghdr* h = header_of(request);
    h->nlmsg_seq = next_seq();
    const uint32_t seq = h->nlmsg_seq;
    FL_TRY_VOID(send(std::vector<char>(request.begin(), request.begin() + h->nlmsg_len), what));
    std::vector<std::vector<char>> answers;
    bool done = false, interrupted = false;
    const auto deadline = std::chrono::steady_clock::now() + kAnswerTimeout;
    while (!done) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        return fail("{}: the kernel did not finish the dump within {} ms", what,
                    kAnswerTimeout.count());
      std::vector<char> data = FL_TRY(receive(left));
      int bytes = static_cast<int>(data.size());
      for (auto* m = reinterpret_cast<const nlmsghdr*>(data.data()); mnl_nlmsg_ok(m, bytes);
           m = mnl_nlmsg_next(m, &bytes)) {
        if (m->nlmsg_seq != seq) continue;  // stale
        interrupted |= (m->nlmsg_flags & NLM_F_DUMP_INTR) != 0;
        if (m->nlmsg_type == NLMSG_DONE) {
          done = true;
          break;
        }
        if (m->nlmsg_type == NLMSG_ERROR) {
          const auto* error = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(m));
          if (error->error == 0) continue;
          return fail("the kernel refused {}: {}", what, std::strerror(-error->error));
        }
        const auto* start = reinterpret_cast<const char*>(m);
        answers.emplace_back(start, start + m->nlmsg_len);
      }
    }
    // The ruleset changed while the kernel was dumping it: the answers may be inconsistent.
    if (!interrupted) return answers;
    if (attempt == kDumpAttempts)
      return fail("{}: the ruleset kept changing during {} dumps", what, kDumpAttempts);
  }
}

}  // namespace faultline
