#include "injectors/dns/original_destination.h"

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

namespace faultline {
namespace {

// SO_ORIGINAL_DST (linux/netfilter_ipv4.h) and IP6T_SO_ORIGINAL_DST (ip6_tables.h) are both 80;
// those headers clash with the C library's netinet/in.h, so the number is written here.
constexpr int kSoOriginalDst = 80;

// A netlink message under construction: attributes are appended, nests closed by offset.
class NetlinkMessage {
 public:
  explicit NetlinkMessage(uint16_t type, uint16_t flags) {
    nlmsghdr h{};
    h.nlmsg_type = type;
    h.nlmsg_flags = flags;
    h.nlmsg_seq = 1;
    append(&h, sizeof h);
  }
  void append(const void* data, size_t size) {
    const auto* p = static_cast<const uint8_t*>(data);
    bytes_.insert(bytes_.end(), p, p + size);
    bytes_.resize(NLMSG_ALIGN(bytes_.size()));
  }
  void attribute(uint16_t type, const void* data, size_t size) {
    nlattr a{static_cast<uint16_t>(NLA_HDRLEN + size), type};
    append_raw(&a, sizeof a);
    append(data, size);
  }
  size_t begin_nest(uint16_t type) {
    const size_t at = bytes_.size();
    nlattr a{0, static_cast<uint16_t>(type | NLA_F_NESTED)};
    append(&a, sizeof a);
    return at;
  }
  void end_nest(size_t at) {
    const auto length = static_cast<uint16_t>(bytes_.size() - at);
    std::memcpy(bytes_.data() + at, &length, sizeof length);
  }
  std::vector<uint8_t>& finish() {
    const auto length = static_cast<uint32_t>(bytes_.size());
    std::memcpy(bytes_.data(), &length, sizeof length);
    return bytes_;
  }

 private:
  void append_raw(const void* data, size_t size) {
    const auto* p = static_cast<const uint8_t*>(data);
    bytes_.insert(bytes_.end(), p, p + size);
  }
  std::vector<uint8_t> bytes_;
};

// The attribute `type` among those in `area`, or an empty span.
std::span<const uint8_t> find_attribute(std::span<const uint8_t> area, uint16_t type) {
  while (area.size() >= NLA_HDRLEN) {
    nlattr a{};
    std::memcpy(&a, area.data(), sizeof a);
    if (a.nla_len < NLA_HDRLEN || a.nla_len > area.size()) break;
    if ((a.nla_type & NLA_TYPE_MASK) == type)
      return area.subspan(NLA_HDRLEN, a.nla_len - NLA_HDRLEN);
    area = area.subspan(std::min<size_t>(NLA_ALIGN(a.nla_len), area.size()));
  }
  return {};
}

const void* address_bytes(const Endpoint& e) {
  if (e.family() == AF_INET) return &reinterpret_cast<const sockaddr_in*>(&e.storage)->sin_addr;
  return &reinterpret_cast<const sockaddr_in6*>(&e.storage)->sin6_addr;
}

// Closes a descriptor when it goes out of scope.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

Result<Endpoint> tcp_original_destination(int fd, int family) {
  sockaddr_storage original{};
  socklen_t length = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  const int level = family == AF_INET ? SOL_IP : SOL_IPV6;
  if (getsockopt(fd, level, kSoOriginalDst, &original, &length) != 0)
    return fail("the connection's original destination is not known (SO_ORIGINAL_DST: {})",
                std::strerror(errno));
  return Endpoint::of(reinterpret_cast<const sockaddr*>(&original), length);
}

Result<Endpoint> udp_original_destination(const Endpoint& local, const Endpoint& peer) {
  const bool v4 = local.family() == AF_INET;
  const size_t address_size = v4 ? 4 : 16;
  NetlinkMessage m((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET, NLM_F_REQUEST);
  nfgenmsg g{static_cast<uint8_t>(local.family()), NFNETLINK_V0, 0};
  m.append(&g, sizeof g);
  // The reply tuple: from the responder (where the redirect sent the datagram) to the client.
  const size_t tuple = m.begin_nest(CTA_TUPLE_REPLY);
  const size_t ip = m.begin_nest(CTA_TUPLE_IP);
  m.attribute(v4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC, address_bytes(local), address_size);
  m.attribute(v4 ? CTA_IP_V4_DST : CTA_IP_V6_DST, address_bytes(peer), address_size);
  m.end_nest(ip);
  const size_t proto = m.begin_nest(CTA_TUPLE_PROTO);
  const uint8_t udp = IPPROTO_UDP;
  const uint16_t source_port = htons(local.port()), destination_port = htons(peer.port());
  m.attribute(CTA_PROTO_NUM, &udp, sizeof udp);
  m.attribute(CTA_PROTO_SRC_PORT, &source_port, sizeof source_port);
  m.attribute(CTA_PROTO_DST_PORT, &destination_port, sizeof destination_port);
  m.end_nest(proto);
  m.end_nest(tuple);
  const std::vector<uint8_t>& request = m.finish();

  const Fd sock{::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER)};
  if (sock.fd < 0) return fail("cannot open a conntrack socket: {}", std::strerror(errno));
  const timeval timeout{1, 0};  // the kernel answers at once; never hang a query on it
  setsockopt(sock.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(sock.fd, request.data(), request.size(), 0, reinterpret_cast<sockaddr*>(&kernel),
               sizeof kernel) < 0)
    return fail("conntrack lookup failed: {}", std::strerror(errno));
  alignas(nlmsghdr) uint8_t buffer[4096];
  const ssize_t n = ::recv(sock.fd, buffer, sizeof buffer, 0);
  if (n < static_cast<ssize_t>(sizeof(nlmsghdr)))
    return fail("conntrack did not answer: {}", n < 0 ? std::strerror(errno) : "short reply");
  nlmsghdr h{};
  std::memcpy(&h, buffer, sizeof h);
  if (h.nlmsg_type == NLMSG_ERROR) {
    nlmsgerr e{};
    std::memcpy(&e, buffer + NLMSG_HDRLEN, std::min<size_t>(sizeof e, n - NLMSG_HDRLEN));
    return fail("conntrack has no entry for {} -> {}: {}", peer.text(), local.text(),
                std::strerror(-e.error));
  }
  const size_t header = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg));
  if (h.nlmsg_len > static_cast<size_t>(n) || h.nlmsg_len < header)
    return fail("conntrack's answer is malformed");
  const std::span<const uint8_t> attributes(buffer + header, h.nlmsg_len - header);
  const auto original = find_attribute(attributes, CTA_TUPLE_ORIG);
  const auto address =
      find_attribute(find_attribute(original, CTA_TUPLE_IP), v4 ? CTA_IP_V4_DST : CTA_IP_V6_DST);
  const auto port = find_attribute(find_attribute(original, CTA_TUPLE_PROTO), CTA_PROTO_DST_PORT);
  if (address.size() != address_size || port.size() != 2)
    return fail("conntrack's entry for {} -> {} lacks its original destination", peer.text(),
                local.text());
  sockaddr_storage out{};
  uint16_t port_be = 0;
  std::memcpy(&port_be, port.data(), 2);
  if (v4) {
    auto* a = reinterpret_cast<sockaddr_in*>(&out);
    a->sin_family = AF_INET;
    a->sin_port = port_be;
    std::memcpy(&a->sin_addr, address.data(), 4);
    return Endpoint::of(reinterpret_cast<sockaddr*>(&out), sizeof(sockaddr_in));
  }
  auto* a = reinterpret_cast<sockaddr_in6*>(&out);
  a->sin6_family = AF_INET6;
  a->sin6_port = port_be;
  std::memcpy(&a->sin6_addr, address.data(), 16);
  return Endpoint::of(reinterpret_cast<sockaddr*>(&out), sizeof(sockaddr_in6));
}

}  // namespace faultline
