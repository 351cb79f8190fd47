#include "controller/fleet/agent_client.h"

#include <agent.grpc.pb.h>
#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <set>

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

// Starts an `_async` call and waits for its answer.
template <typename T, typename Start>
Result<T> wait_for(Start&& start) {
  std::promise<Result<T>> answer;
  std::future<Result<T>> future = answer.get_future();
  start([&answer](Result<T> r) { answer.set_value(std::move(r)); });
  return future.get();
}

std::vector<FaultReport> decode_list(const v1::FaultList& reply) {
  std::vector<FaultReport> out;
  for (const v1::FaultStatus& s : reply.faults()) out.push_back(wire::decode(s));
  return out;
}

}  // namespace

struct AgentClient::Impl {
  std::string agent;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Agent::Stub> stub;
  std::string setup_error;  // credentials that could not be read: every call reports it

  // The calls waiting for an answer, so that the destructor can cancel them and wait.
  std::mutex mutex;
  std::condition_variable idle;
  std::set<grpc::ClientContext*> in_flight;

  // One call: `invoke(stub, ctx, request, reply, on_status)` starts it; `decode(reply)` makes the
  // answer. Request, reply and context live on the heap until gRPC reports the status.
  template <typename T, typename Request, typename Reply, typename Invoke, typename Decode>
  void start(std::string what, Duration timeout, Request request, Invoke invoke, Decode decode,
             Answer<T> done) {
    if (!setup_error.empty()) {
      done(fail("agent {}: {}", agent, setup_error));
      return;
    }
    struct Call {
      grpc::ClientContext ctx;
      Request request;
      Reply reply;
    };
    auto call = std::make_shared<Call>();
    Call& c = *call;
    c.request = std::move(request);
    set_deadline(c.ctx, timeout);
    {
      std::lock_guard lock(mutex);
      in_flight.insert(&c.ctx);
    }
    invoke(*stub->async(), &c.ctx, &c.request, &c.reply,
           [this, call = std::move(call), what = std::move(what), decode = std::move(decode),
            done = std::move(done)](const grpc::Status& s) mutable {
             if (s.ok()) {
               done(decode(call->reply));
             } else {
               Error e{fmt::format("agent {}: {}: {}", agent, what, status_text(s))};
               e.refused = s.error_code() == grpc::StatusCode::PERMISSION_DENIED;
               done(std::unexpected(std::move(e)));
             }
             std::lock_guard lock(mutex);
             in_flight.erase(&call->ctx);
             // The context holds a reference to the channel. Released here, before the
             // destructor may go on (it waits for `in_flight` to be empty), the client's own
             // reference is the last, and the channel is destroyed on the destructor's thread.
             // Left to gRPC, which destroys this function on its thread after the answer, the
             // context could be the last: gRPC 1.51 then destroys the process's last callback
             // channel on the very thread that serves its completion queue, which shuts that
             // queue down, fails to join itself, frees the queue and returns to it
             // ("ref_counted.h:183 assertion failed: prior > 0"; grpc/grpc#32584, #37858).
             // Under the lock: the destructor cancels the contexts in `in_flight`.
             call.reset();
             idle.notify_all();
           });
  }
};

AgentClient::AgentClient(const AgentEndpoint& endpoint)
    : name_(endpoint.name), impl_(std::make_unique<Impl>()) {
  impl_->agent = endpoint.name;
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
  // gRPC's retry machinery buffers every call's messages in case it must send them again; the
  // controller decides itself what to ask again (renewals come every lease/4), so each call is
  // sent once.
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
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

AgentClient::~AgentClient() {
  std::unique_lock lock(impl_->mutex);
  for (grpc::ClientContext* ctx : impl_->in_flight) ctx->TryCancel();
  impl_->idle.wait(lock, [this] { return impl_->in_flight.empty(); });
}

void AgentClient::describe_async(Duration timeout, Answer<AgentDescription> done) {
  impl_->start<AgentDescription, v1::DescribeRequest, v1::DescribeReply>(
      "describe", timeout, {},
      [](auto& stub, auto* ctx, auto* req, auto* reply, auto cb) {
        stub.Describe(ctx, req, reply, std::move(cb));
      },
      [](const v1::DescribeReply& reply) -> Result<AgentDescription> {
        AgentDescription d;
        d.host = reply.host();
        for (const auto& [k, v] : reply.labels()) d.labels[k] = v;
        d.version = reply.version();
        for (const v1::FaultKind& k : reply.kinds())
          d.kinds.push_back({k.kind(), k.supported(), k.reason()});
        d.max_faults = reply.max_faults();
        d.max_duration = std::chrono::milliseconds(reply.max_duration_ms());
        d.max_lease = std::chrono::milliseconds(reply.max_lease_ms());
        d.active_faults = reply.active_faults();
        return d;
      },
      std::move(done));
}

void AgentClient::apply_async(const RemoteFault& f, Duration timeout, Answer<FaultReport> done) {
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
  wire::encode(wire::ContainerTargets{.containers = f.containers,
                                      .max_containers = f.max_containers,
                                      .protected_containers = f.protected_containers},
               request);
  request.set_max_memory(f.max_memory);
  for (const std::string& p : f.protected_paths) request.add_protected_paths(p);
  impl_->start<FaultReport, v1::ApplyRequest, v1::FaultStatus>(
      fmt::format("apply {}", f.fault_id), timeout, std::move(request),
      [](auto& stub, auto* ctx, auto* req, auto* reply, auto cb) {
        stub.Apply(ctx, req, reply, std::move(cb));
      },
      [](const v1::FaultStatus& reply) -> Result<FaultReport> { return wire::decode(reply); },
      std::move(done));
}

void AgentClient::renew_async(const std::string& owner, Duration lease, Duration timeout,
                              Answer<RenewResult> done) {
  v1::RenewRequest request;
  request.set_owner(owner);
  request.set_lease_ms(static_cast<uint64_t>(to_ms(lease)));
  impl_->start<RenewResult, v1::RenewRequest, v1::RenewReply>(
      "renew", timeout, std::move(request),
      [](auto& stub, auto* ctx, auto* req, auto* reply, auto cb) {
        stub.Renew(ctx, req, reply, std::move(cb));
      },
      [](const v1::RenewReply& reply) -> Result<RenewResult> {
        RenewResult out;
        out.renewed = reply.renewed();
        for (const v1::FaultStatus& s : reply.ended()) out.ended.push_back(wire::decode(s));
        return out;
      },
      std::move(done));
}

void AgentClient::revert_async(const std::string& owner, const std::string& fault_id,
                               Duration timeout, Answer<std::vector<FaultReport>> done) {
  v1::RevertRequest request;
  request.set_owner(owner);
  request.set_fault_id(fault_id);
  impl_->start<std::vector<FaultReport>, v1::RevertRequest, v1::FaultList>(
      fault_id.empty() ? "revert" : "revert " + fault_id, timeout, std::move(request),
      [](auto& stub, auto* ctx, auto* req, auto* reply, auto cb) {
        stub.Revert(ctx, req, reply, std::move(cb));
      },
      [](const v1::FaultList& reply) -> Result<std::vector<FaultReport>> {
        return decode_list(reply);
      },
      std::move(done));
}

void AgentClient::list_async(const std::string& owner, Duration timeout,
                             Answer<std::vector<FaultReport>> done) {
  v1::ListRequest request;
  request.set_owner(owner);
  impl_->start<std::vector<FaultReport>, v1::ListRequest, v1::FaultList>(
      "list", timeout, std::move(request),
      [](auto& stub, auto* ctx, auto* req, auto* reply, auto cb) {
        stub.List(ctx, req, reply, std::move(cb));
      },
      [](const v1::FaultList& reply) -> Result<std::vector<FaultReport>> {
        return decode_list(reply);
      },
      std::move(done));
}

void AgentClient::run_probe_async(const ProbeSpec& spec, Duration timeout,
                                  Answer<CheckResult> done) {
  impl_->start<CheckResult, v1::ProbeRequest, v1::ProbeReply>(
      fmt::format("probe {}", spec.name), timeout, wire::encode(spec),
      [](auto& stub, auto* ctx, auto* req, auto* reply, auto cb) {
        stub.RunProbe(ctx, req, reply, std::move(cb));
      },
      [](const v1::ProbeReply& reply) -> Result<CheckResult> {
        CheckResult r;
        r.ok = reply.ok();
        r.observed = reply.observed();
        if (reply.has_latency_us()) r.latency = std::chrono::microseconds(reply.latency_us());
        r.could_not_run = reply.could_not_run();
        return r;
      },
      std::move(done));
}

Result<AgentDescription> AgentClient::describe(Duration timeout) {
  return wait_for<AgentDescription>([&](auto done) { describe_async(timeout, std::move(done)); });
}

Result<FaultReport> AgentClient::apply(const RemoteFault& f, Duration timeout) {
  return wait_for<FaultReport>([&](auto done) { apply_async(f, timeout, std::move(done)); });
}

Result<RenewResult> AgentClient::renew(const std::string& owner, Duration lease, Duration timeout) {
  return wait_for<RenewResult>(
      [&](auto done) { renew_async(owner, lease, timeout, std::move(done)); });
}

Result<std::vector<FaultReport>> AgentClient::revert(const std::string& owner,
                                                     const std::string& fault_id,
                                                     Duration timeout) {
  return wait_for<std::vector<FaultReport>>(
      [&](auto done) { revert_async(owner, fault_id, timeout, std::move(done)); });
}

Result<std::vector<FaultReport>> AgentClient::list(const std::string& owner, Duration timeout) {
  return wait_for<std::vector<FaultReport>>(
      [&](auto done) { list_async(owner, timeout, std::move(done)); });
}

Result<CheckResult> AgentClient::run_probe(const ProbeSpec& spec, Duration timeout) {
  return wait_for<CheckResult>([&](auto done) { run_probe_async(spec, timeout, std::move(done)); });
}

}  // namespace faultline
