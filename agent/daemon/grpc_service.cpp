#include "agent/daemon/grpc_service.h"

#include <absl/status/status.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "agent/daemon/fault_request.h"
#include "agent/wire/wire.h"
#include "probes/probe.h"

namespace faultline {
namespace {

namespace v1 = agent::v1;

// An error message travels in a gRPC trailer, and a client drops trailers over its metadata
// limit (8 KiB by default) for RESOURCE_EXHAUSTED, losing the reason. Messages quote what they
// refuse, which can be a 60 KiB parameter value: cut them well below the limit.
constexpr size_t kMaxErrorMessage = 2048;

std::string bounded(const std::string& message) {
  if (message.size() <= kMaxErrorMessage) return message;
  size_t cut = kMaxErrorMessage;
  // Not inside a UTF-8 sequence.
  while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) --cut;
  return fmt::format("{} [... {} more bytes]", message.substr(0, cut), message.size() - cut);
}

grpc::Status to_status(const ServiceError& e) {
  const std::string message = bounded(e.message);
  switch (e.code) {
    case ServiceCode::Invalid:
      return {grpc::StatusCode::INVALID_ARGUMENT, message};
    case ServiceCode::Refused:
      return {grpc::StatusCode::PERMISSION_DENIED, message};
    case ServiceCode::Unavailable:
      return {grpc::StatusCode::FAILED_PRECONDITION, message};
    case ServiceCode::NotFound:
      return {grpc::StatusCode::NOT_FOUND, message};
    case ServiceCode::Failed:
      break;
  }
  return {grpc::StatusCode::ABORTED, message};
}

}  // namespace

AgentGrpcService::AgentGrpcService(const AgentConfig& config, FaultService& faults,
                                   AgentMetrics& metrics)
    : config_(config), faults_(faults), metrics_(metrics) {}

// Every RPC is counted, by method and status code, with the time it took.
template <typename Handler>
grpc::Status AgentGrpcService::serve(grpc::ServerContext* ctx, const char* rpc,
                                     Handler&& handler) const {
  const TimePoint started = Clock::now();
  grpc::Status status = answer(ctx, rpc, std::forward<Handler>(handler));
  // gRPC's codes are abseil's, number for number: "OK", "INVALID_ARGUMENT", ...
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  metrics_.rpc_done(rpc, absl::StatusCodeToString(code), Clock::now() - started);
  return status;
}

// Who is calling first, then the handler (given the client's name); whatever it throws becomes
// INTERNAL, never a crash of the agent.
template <typename Handler>
grpc::Status AgentGrpcService::answer(grpc::ServerContext* ctx, const char* rpc,
                                      Handler&& handler) const {
  try {
    std::string client;
    if (grpc::Status s = authorize(ctx, client); !s.ok()) return s;
    return handler(client);
  } catch (const std::exception& e) {
    spdlog::error("event=rpc_exception rpc={} error=\"{}\"", rpc, e.what());
    return {grpc::StatusCode::INTERNAL,
            bounded(fmt::format("{} failed inside the agent: {}", rpc, e.what()))};
  }
}

grpc::Status AgentGrpcService::authorize(grpc::ServerContext* ctx, std::string& client) const {
  client = ctx->peer();
  if (!config_.tls) return grpc::Status::OK;  // plaintext on loopback, as configured
  const auto auth = ctx->auth_context();
  std::vector<std::string> names;
  for (const char* property : {"x509_common_name", "x509_subject_alternative_name"})
    for (const grpc::string_ref& v : auth->FindPropertyValues(property))
      names.emplace_back(v.data(), v.size());
  if (!names.empty()) client = names.front();
  // The TLS handshake already refused a client without a certificate from our CA.
  if (!auth->IsPeerAuthenticated())
    return {grpc::StatusCode::UNAUTHENTICATED, "a client certificate signed by the agent's CA "
                                               "is required"};
  const auto& allowed = config_.tls->allowed_clients;
  if (allowed.empty()) return grpc::Status::OK;
  for (const std::string& n : names)
    if (std::find(allowed.begin(), allowed.end(), n) != allowed.end()) return grpc::Status::OK;
  spdlog::warn("event=refused_client client=\"{}\" peer={}", client, ctx->peer());
  return {grpc::StatusCode::PERMISSION_DENIED,
          fmt::format("client '{}' is not in this agent's tls.allowed_clients", client)};
}

grpc::Status AgentGrpcService::Describe(grpc::ServerContext* ctx, const v1::DescribeRequest*,
                                        v1::DescribeReply* reply) {
  return serve(ctx, "Describe", [&](const std::string&) {
    reply->set_host(config_.host);
    for (const auto& [k, v] : config_.labels) (*reply->mutable_labels())[k] = v;
    reply->set_version(FAULTLINE_VERSION);
    for (const KindSupport& k : faults_.kinds()) {
      v1::FaultKind* out = reply->add_kinds();
      out->set_kind(k.kind);
      out->set_supported(k.supported);
      out->set_reason(k.reason);
    }
    reply->set_max_faults(static_cast<uint32_t>(config_.policy.max_faults));
    reply->set_max_duration_ms(static_cast<uint64_t>(to_ms(config_.policy.max_duration)));
    reply->set_max_lease_ms(static_cast<uint64_t>(to_ms(config_.lease_max)));
    reply->set_active_faults(static_cast<uint32_t>(faults_.active_count()));
    return grpc::Status::OK;
  });
}

grpc::Status AgentGrpcService::Apply(grpc::ServerContext* ctx, const v1::ApplyRequest* request,
                                     v1::FaultStatus* reply) {
  return serve(ctx, "Apply", [&](const std::string& client) {
    ApplyInput in;
    in.owner = request->owner();
    in.fault_id = request->fault_id();
    in.kind = request->kind();
    if (request->params_size() > 64)
      return grpc::Status{grpc::StatusCode::INVALID_ARGUMENT, "more than 64 parameters"};
    for (const auto& [k, v] : request->params()) in.params[k] = v;
    in.selector = wire::decode(request->selector());
    auto protected_processes = wire::decode_protected(*request);
    if (!protected_processes)
      return grpc::Status{grpc::StatusCode::INVALID_ARGUMENT,
                          bounded(protected_processes.error().message)};
    in.protected_processes = std::move(*protected_processes);
    auto containers = wire::decode_container_targets(*request);
    if (!containers)
      return grpc::Status{grpc::StatusCode::INVALID_ARGUMENT, bounded(containers.error().message)};
    in.containers = std::move(containers->containers);
    in.max_containers = containers->max_containers;
    in.protected_containers = std::move(containers->protected_containers);
    if (request->protected_paths_size() > 64)
      return grpc::Status{grpc::StatusCode::INVALID_ARGUMENT,
                          fmt::format("protected_paths has {} entries; at most 64 are taken",
                                      request->protected_paths_size())};
    in.max_memory = request->max_memory().substr(0, 64);
    for (const std::string& p : request->protected_paths())
      in.protected_paths.push_back(p.substr(0, 4097));
    if (request->duration_ms() > 0) {
      if (request->duration_ms() > 365ULL * 24 * 3600 * 1000)
        return grpc::Status{grpc::StatusCode::INVALID_ARGUMENT, "duration_ms is over a year"};
      in.duration = std::chrono::milliseconds(request->duration_ms());
    }
    if (request->lease_ms() > 0 && request->lease_ms() < 24ULL * 3600 * 1000)
      in.lease = std::chrono::milliseconds(request->lease_ms());
    in.seed = request->seed();
    in.max_processes = std::max<int64_t>(0, request->max_processes());
    auto applied = faults_.apply(in);
    if (!applied) {
      spdlog::warn("event=apply_failed client=\"{}\" owner={:.128} fault={:.128} kind={:.64} "
                   "error=\"{}\"",
                   client, in.owner, in.fault_id, in.kind, applied.error().message);
      return to_status(applied.error());
    }
    spdlog::info("event=applied client=\"{}\" owner={} fault={} kind={} summary=\"{}\"", client,
                 in.owner, in.fault_id, in.kind, applied->summary);
    *reply = wire::encode(*applied);
    return grpc::Status::OK;
  });
}

grpc::Status AgentGrpcService::Renew(grpc::ServerContext* ctx, const v1::RenewRequest* request,
                                     v1::RenewReply* reply) {
  return serve(ctx, "Renew", [&](const std::string&) {
    std::optional<Duration> lease;
    if (request->lease_ms() > 0 && request->lease_ms() < 24ULL * 3600 * 1000)
      lease = std::chrono::milliseconds(request->lease_ms());
    auto renewed = faults_.renew(request->owner(), lease);
    if (!renewed) return to_status(renewed.error());
    reply->set_renewed(static_cast<uint32_t>(renewed->renewed));
    for (const FaultReport& r : renewed->ended) *reply->add_ended() = wire::encode(r);
    return grpc::Status::OK;
  });
}

grpc::Status AgentGrpcService::Revert(grpc::ServerContext* ctx, const v1::RevertRequest* request,
                                      v1::FaultList* reply) {
  return serve(ctx, "Revert", [&](const std::string&) {
    auto reverted = faults_.revert(request->owner(), request->fault_id());
    if (!reverted) return to_status(reverted.error());
    for (const FaultReport& r : *reverted) *reply->add_faults() = wire::encode(r);
    return grpc::Status::OK;
  });
}

grpc::Status AgentGrpcService::List(grpc::ServerContext* ctx, const v1::ListRequest* request,
                                    v1::FaultList* reply) {
  return serve(ctx, "List", [&](const std::string&) {
    if (!request->owner().empty() && !valid_id(request->owner()))
      return grpc::Status{grpc::StatusCode::INVALID_ARGUMENT, "owner must be a valid id"};
    for (const FaultReport& r : faults_.list(request->owner())) *reply->add_faults() = wire::encode(r);
    return grpc::Status::OK;
  });
}

grpc::Status AgentGrpcService::RunProbe(grpc::ServerContext* ctx,
                                        const v1::ProbeRequest* request, v1::ProbeReply* reply) {
  return serve(ctx, "RunProbe", [&](const std::string&) {
    auto spec = wire::decode(*request);
    if (!spec)
      return grpc::Status{grpc::StatusCode::INVALID_ARGUMENT, bounded(spec.error().message)};
    // A command probe is a shell command run as root: only where the host's owner said so.
    if (spec->type == ProbeType::Command && !config_.policy.allow_command_probes)
      return grpc::Status{grpc::StatusCode::PERMISSION_DENIED,
                          "refused by this agent's policy: command probes are off "
                          "(policy.allow_command_probes: false)"};
    const CheckResult r = make_probe(*spec)->check();
    reply->set_ok(r.ok);
    reply->set_observed(wire::valid_utf8(r.observed));
    if (r.latency)
      reply->set_latency_us(static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(*r.latency).count()));
    reply->set_could_not_run(r.could_not_run);
    return grpc::Status::OK;
  });
}

}  // namespace faultline
