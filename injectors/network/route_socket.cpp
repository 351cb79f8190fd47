#include "injectors/network/route_socket.h"

#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>

#include <cstring>

namespace faultline {
namespace {

struct DumpState {
  std::vector<RawMessage>* out;
  int ifindex;
};

int collect(nl_msg* msg, void* arg) {
  auto* state = static_cast<DumpState*>(arg);
  nlmsghdr* header = nlmsg_hdr(msg);
  const auto* tc = static_cast<const tcmsg*>(nlmsg_data(header));
  if (state->ifindex != 0 && tc->tcm_ifindex != state->ifindex) return NL_OK;
  RawMessage raw;
  raw.type = header->nlmsg_type;
  const auto* begin = reinterpret_cast<const uint8_t*>(header);
  raw.bytes.assign(begin, begin + header->nlmsg_len);
  state->out->push_back(std::move(raw));
  return NL_OK;
}

thread_local std::vector<std::vector<uint8_t>>* request_tap = nullptr;

}  // namespace

void RouteSocket::tap_requests(std::vector<std::vector<uint8_t>>* tap) { request_tap = tap; }

Result<RouteSocket> RouteSocket::open() {
  nl_sock* sock = nl_socket_alloc();
  if (sock == nullptr) return fail("cannot allocate a netlink socket");
  if (int rc = nl_connect(sock, NETLINK_ROUTE); rc < 0) {
    nl_socket_free(sock);
    return fail("cannot open a NETLINK_ROUTE socket: {}", nl_geterror(rc));
  }
  // Ask for the kernel's own words on errors (extended ack), as tc prints them.
  int one = 1;
  setsockopt(nl_socket_get_fd(sock), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  return RouteSocket(sock);
}

RouteSocket::RouteSocket(RouteSocket&& other) noexcept : sock_(other.sock_) {
  other.sock_ = nullptr;
}
RouteSocket& RouteSocket::operator=(RouteSocket&& other) noexcept {
  std::swap(sock_, other.sock_);
  return *this;
}
RouteSocket::~RouteSocket() {
  if (sock_ != nullptr) nl_socket_free(sock_);
}

Result<void> RouteSocket::request(nl_msg* msg, const std::string& what) {
  nlmsghdr* header = nlmsg_hdr(msg);
  header->nlmsg_flags |= NLM_F_ACK;
  if (request_tap != nullptr) {
    const auto* begin = reinterpret_cast<const uint8_t*>(header);
    request_tap->emplace_back(begin, begin + header->nlmsg_len);
  }
  const int sent = nl_send_auto(sock_, msg);
  nlmsg_free(msg);
  if (sent < 0) return fail("{}: cannot send: {}", what, nl_geterror(sent));
  const int rc = nl_wait_for_ack(sock_);
  if (rc < 0) return fail("{}: {}", what, nl_geterror(rc));
  return {};
}

Result<std::string> RouteSocket::link_kind(int ifindex) {
  rtnl_link* link = nullptr;
  if (int rc = rtnl_link_get_kernel(sock_, ifindex, nullptr, &link); rc < 0)
    return fail("cannot read link {}: {}", ifindex, nl_geterror(rc));
  const char* type = rtnl_link_get_type(link);
  std::string kind = type == nullptr ? "" : type;
  rtnl_link_put(link);
  return kind;
}

Result<std::vector<RawMessage>> RouteSocket::dump(int type, int ifindex, uint32_t parent) {
  tcmsg tc{};
  tc.tcm_family = AF_UNSPEC;
  tc.tcm_ifindex = ifindex;
  tc.tcm_parent = parent;
  nl_msg* msg = nlmsg_alloc_simple(type, NLM_F_DUMP);
  if (msg == nullptr || nlmsg_append(msg, &tc, sizeof tc, NLMSG_ALIGNTO) < 0) {
    if (msg) nlmsg_free(msg);
    return fail("cannot build a dump request");
  }
  const int sent = nl_send_auto(sock_, msg);
  nlmsg_free(msg);
  if (sent < 0) return fail("cannot send a dump request: {}", nl_geterror(sent));
  std::vector<RawMessage> out;
  DumpState state{&out, ifindex};
  nl_cb* cb = nl_cb_alloc(NL_CB_DEFAULT);
  nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, collect, &state);
  const int rc = nl_recvmsgs(sock_, cb);
  nl_cb_put(cb);
  if (rc < 0) return fail("dump failed: {}", nl_geterror(rc));
  return out;
}

}  // namespace faultline
