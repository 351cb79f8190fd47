#include "controller/fleet/agent_client.h"

#include <agent.grpc.pb.h>
#include <grpcpp/grpcpp.h>

#include "agent/wire/wire.h"

namespace faultline {
namespace {

namespace v1 = agent::v1;

std::string status_text(const grpc::Status& s) {
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return "unreachable: " + s.error_message();
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "no answer in time";
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::ABORTED:
      return s.error_message();
    default:
      return fmt::format("{} (gRPC status {})", s.error_message(), static_cast<int>(s.error_code()));
  }
}

void set_deadline(grpc::ClientContext& ctx, Duration timeout) {
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::duration_cast<std::chrono::system_clock::duration>(timeout));
}

}  // namespace

struct AgentClient::Impl {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Agent::Stub> stub;
  std::string setup_error;  // credentials that could not be read: every call reports it

  template <typename Fn>
  Result<void> call(const std::string& agent, std::string_view what, Duration timeout, Fn&& fn) {
    if (!setup_error.empty()) return fail("agent {}: {}", agent, setup_error);
    grpc::ClientContext ctx;
    set_deadline(ctx, timeout);
    const grpc::Status s = fn(ctx);
    if (!s.ok()) {
      Error e{fmt::format("agent {}: {}: {}", agent, what, status_text(s))};
      e.refused = s.error_code() == grpc::StatusCode::PERMISSION_DENIED;
      return std::unexpected(std::move(e));
    }
    return {};
  }
};

AgentClient::AgentClient(const AgentEndpoint& endpoint)
    : name_(endpoint.name), impl_(std::make_unique<Impl>()) {
  grpc::ChannelArguments args;
  // The agent's certificate must name the agent as the inventory does, whatever the address.
  args.SetSslTargetNameOverride(endpoint.name);
  // Come back quickly after a network cut: the renewals of a lease depend on it.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // gRPC takes this as the time one connection attempt (TCP, TLS handshake, HTTP/2 settings)
  // may last, not as a pause between attempts. At 100 ms, a busy controller making 50 TLS
  // connections at once lost most of them ("connection attempt timed out before receiving
  // SETTINGS frame") and the calls failed as unreachable; a distant agent would never connect.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 2000);
  args.SetMaxReceiveMessageSize(4 * wire::kMaxMessageBytes);
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (endpoint.tls) {
    auto c = client_credentials(*endpoint.tls);
    if (!c) {
      impl_->setup_error = c.error().message;
      credentials = grpc::InsecureChannelCredentials();
    } else {
      credentials = *c;
    }
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  impl_->channel = grpc::CreateCustomChannel(endpoint.address, credentials, args);
  impl_->stub = v1::Agent::NewStub(impl_->channel);
}

AgentClient::~AgentClient() = default;

Result<AgentDescription> AgentClient::describe(Duration timeout) {
  v1::DescribeReply reply;
  FL_TRY_VOID(impl_->call(name_, "describe", timeout, [&](grpc::ClientContext& ctx) {
    return impl_->stub->Describe(&ctx, v1::DescribeRequest{}, &reply);
  }));
  AgentDescription d;
  d.host = reply.host();
  for (const auto& [k, v] : reply.labels()) d.labels[k] = v;
  d.version = reply.version();
  for (const v1::FaultKind& k : reply.kinds()) d.kinds.push_back({k.kind(), k.supported(), k.reason()});
  d.max_faults = reply.max_faults();
  d.max_duration = std::chrono::milliseconds(reply.max_duration_ms());
  d.max_lease = std::chrono::milliseconds(reply.max_lease_ms());
  d.active_faults = reply.active_faults();
  return d;
}

Result<FaultReport> AgentClient::apply(const RemoteFault& f, Duration timeout) {
  v1::ApplyRequest request;
  request.set_owner(f.owner);
  request.set_fault_id(f.fault_id);
  request.set_kind(f.kind);
  for (const auto& [k, v] : f.params) (*request.mutable_params())[k] = v;
  *request.mutable_selector() = wire::encode(f.selector);
  if (f.duration) request.set_duration_ms(static_cast<uint64_t>(to_ms(*f.duration)));
  request.set_lease_ms(static_cast<uint64_t>(to_ms(f.lease)));
  request.set_seed(f.seed);
  request.set_max_processes(f.max_processes);
  wire::encode_protected(f.protected_processes, request);
  v1::FaultStatus reply;
  FL_TRY_VOID(impl_->call(name_, fmt::format("apply {}", f.fault_id), timeout,
                          [&](grpc::ClientContext& ctx) {
                            return impl_->stub->Apply(&ctx, request, &reply);
                          }));
  return wire::decode(reply);
}

Result<RenewResult> AgentClient::renew(const std::string& owner, Duration lease, Duration timeout) {
  v1::RenewRequest request;
  request.set_owner(owner);
  request.set_lease_ms(static_cast<uint64_t>(to_ms(lease)));
  v1::RenewReply reply;
  FL_TRY_VOID(impl_->call(name_, "renew", timeout, [&](grpc::ClientContext& ctx) {
    return impl_->stub->Renew(&ctx, request, &reply);
  }));
  RenewResult out;
  out.renewed = reply.renewed();
  for (const v1::FaultStatus& s : reply.ended()) out.ended.push_back(wire::decode(s));
  return out;
}

Result<std::vector<FaultReport>> AgentClient::revert(const std::string& owner,
                                                     const std::string& fault_id,
                                                     Duration timeout) {
  v1::RevertRequest request;
  request.set_owner(owner);
  request.set_fault_id(fault_id);
  v1::FaultList reply;
  FL_TRY_VOID(impl_->call(name_, fault_id.empty() ? "revert" : "revert " + fault_id, timeout,
                          [&](grpc::ClientContext& ctx) {
                            return impl_->stub->Revert(&ctx, request, &reply);
                          }));
  std::vector<FaultReport> out;
  for (const v1::FaultStatus& s : reply.faults()) out.push_back(wire::decode(s));
  return out;
}

Result<std::vector<FaultReport>> AgentClient::list(const std::string& owner, Duration timeout) {
  v1::ListRequest request;
  request.set_owner(owner);
  v1::FaultList reply;
  FL_TRY_VOID(impl_->call(name_, "list", timeout, [&](grpc::ClientContext& ctx) {
    return impl_->stub->List(&ctx, request, &reply);
  }));
  std::vector<FaultReport> out;
  for (const v1::FaultStatus& s : reply.faults()) out.push_back(wire::decode(s));
  return out;
}

Result<CheckResult> AgentClient::run_probe(const ProbeSpec& spec, Duration timeout) {
  const v1::ProbeRequest request = wire::encode(spec);
  v1::ProbeReply reply;
  FL_TRY_VOID(impl_->call(name_, fmt::format("probe {}", spec.name), timeout,
                          [&](grpc::ClientContext& ctx) {
                            return impl_->stub->RunProbe(&ctx, request, &reply);
                          }));
  CheckResult r;
  r.ok = reply.ok();
  r.observed = reply.observed();
  if (reply.has_latency_us()) r.latency = std::chrono::microseconds(reply.latency_us());
  r.could_not_run = reply.could_not_run();
  return r;
}

}  // namespace faultline
