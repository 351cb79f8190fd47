#pragma once
// The agent API over gRPC: each call checks who is calling (mutual TLS, and the optional allow
// list), checks its input, and hands it to the FaultService. No exception crosses an RPC.
#include <agent.grpc.pb.h>

#include <string>
#include <vector>

#include "agent/daemon/agent_config.h"
#include "agent/daemon/fault_service.h"
#include "agent/daemon/metrics/agent_metrics.h"

namespace faultline {

class AgentGrpcService final : public agent::v1::Agent::Service {
 public:
  AgentGrpcService(const AgentConfig& config, FaultService& faults, AgentMetrics& metrics);

  grpc::Status Describe(grpc::ServerContext* ctx, const agent::v1::DescribeRequest* request,
                        agent::v1::DescribeReply* reply) override;
  grpc::Status Apply(grpc::ServerContext* ctx, const agent::v1::ApplyRequest* request,
                     agent::v1::FaultStatus* reply) override;
  grpc::Status Renew(grpc::ServerContext* ctx, const agent::v1::RenewRequest* request,
                     agent::v1::RenewReply* reply) override;
  grpc::Status Revert(grpc::ServerContext* ctx, const agent::v1::RevertRequest* request,
                      agent::v1::FaultList* reply) override;
  grpc::Status List(grpc::ServerContext* ctx, const agent::v1::ListRequest* request,
                    agent::v1::FaultList* reply) override;
  grpc::Status RunProbe(grpc::ServerContext* ctx, const agent::v1::ProbeRequest* request,
                        agent::v1::ProbeReply* reply) override;

 private:
  // PERMISSION_DENIED unless the client's certificate names an allowed client.
  grpc::Status authorize(grpc::ServerContext* ctx, std::string& client) const;
  template <typename Handler>
  grpc::Status serve(grpc::ServerContext* ctx, const char* rpc, Handler&& handler) const;
  template <typename Handler>
  grpc::Status answer(grpc::ServerContext* ctx, const char* rpc, Handler&& handler) const;

  const AgentConfig& config_;
  FaultService& faults_;
  AgentMetrics& metrics_;
};

}  // namespace faultline
