// faultline-agent over mutual TLS: only a client whose certificate chains to the agent's CA (and,
// with tls.allowed_clients, is named there) gets in; a controller trusts only an agent whose
// certificate chains to its CA and names the agent as the inventory does. Every refusal is
// checked to have done nothing on the host, and the agent to be serving afterwards.
#include <agent.grpc.pb.h>
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "agent/wire/tls_credentials.h"
#include "controller/fleet/agent_client.h"
#include "tests/support/agent_process.h"
#include "tests/support/child_process.h"
#include "tests/support/require_ok.h"

using namespace faultline;
using namespace faultline::test;
using namespace std::chrono_literals;
namespace v1 = faultline::agent::v1;

namespace {

// Two unrelated clusters: the agents trust `ours`; `theirs` has the same names, another CA.
struct Clusters {
  TempDir dir;
  ClusterCerts ours{dir.file("ours"), {"tls-1", "tls-2"}};
  ClusterCerts theirs{dir.file("theirs"), {"tls-1", "tls-2"}};
};

RemoteFault pause_fault(const std::string& id, const std::string& process_name) {
  RemoteFault f;
  f.owner = "run-tls";
  f.fault_id = id;
  f.kind = "process_pause";
  f.params = {{"count", "1"}};
  f.selector.name = process_name;
  f.duration = 30s;
  f.lease = 10s;
  f.max_processes = 1;
  return f;
}

v1::ApplyRequest pause_request(const std::string& id, const std::string& process_name) {
  v1::ApplyRequest r;
  r.set_owner("run-tls");
  r.set_fault_id(id);
  r.set_kind("process_pause");
  (*r.mutable_params())["count"] = "1";
  r.mutable_selector()->set_name(process_name);
  r.set_duration_ms(30'000);
  r.set_lease_ms(10'000);
  r.set_max_processes(1);
  return r;
}

std::string file(const std::string& path) {
  return read_text(path);
}

// A raw stub, for credentials AgentClient never makes (no client certificate, say).
std::unique_ptr<v1::Agent::Stub> raw_stub(const AgentProcess& agent, const std::string& name,
                                          const std::shared_ptr<grpc::ChannelCredentials>& creds) {
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride(name);
  return v1::Agent::NewStub(grpc::CreateCustomChannel(agent.address(), creds, args));
}

std::shared_ptr<grpc::ChannelCredentials> ssl(const std::string& ca, const std::string& cert = "",
                                              const std::string& key = "") {
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = file(ca);
  if (!cert.empty()) o.pem_cert_chain = file(cert);
  if (!key.empty()) o.pem_private_key = file(key);
  return grpc::SslCredentials(o);
}

struct Attempt {
  grpc::Status describe;
  grpc::Status apply;
};

// What a client with these credentials gets for Describe and for an Apply that, were it let in,
// would pause `victim`.
Attempt try_client(const AgentProcess& agent, const std::string& name,
                   const std::shared_ptr<grpc::ChannelCredentials>& creds,
                   const std::string& victim) {
  auto stub = raw_stub(agent, name, creds);
  Attempt out;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 3s);
    v1::DescribeReply reply;
    out.describe = stub->Describe(&ctx, v1::DescribeRequest{}, &reply);
  }
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 3s);
    v1::FaultStatus reply;
    out.apply = stub->Apply(&ctx, pause_request("intruder", victim), &reply);
  }
  return out;
}

// The agent answers its rightful controller, did nothing for anyone else, and logged no
// applied fault.
void check_untouched(const AgentProcess& agent, const ClusterCerts& certs,
                     const ChildProcess& victim) {
  AgentClient controller(agent.endpoint(certs.controller()));
  auto d = controller.describe(5s);
  INFO((d ? "" : d.error().message));
  REQUIRE_OK(d);
  CHECK(d->active_faults == 0);
  auto listed = controller.list("", 3s);
  REQUIRE_OK(listed);
  CHECK(listed->empty());
  CHECK(victim.state() != 'T');
  CHECK(agent.log().find("event=applied") == std::string::npos);
}

// "…ipv4:127.0.0.1:PORT: …" with the port that changes from run to run taken out.
std::string without_port(const std::string& message, const AgentProcess& agent) {
  std::string out = message;
  const std::string address = agent.address();
  for (size_t at = out.find(address); at != std::string::npos; at = out.find(address))
    out.replace(at, address.size(), "127.0.0.1:PORT");
  return out;
}

}  // namespace

TEST_CASE("a controller with a certificate from the agent's CA describes, applies and reverts",
          "[agent][tls]") {
  skip_unless_root("the agent pauses a process");
  Clusters c;
  AgentProcess agent(c.dir, "tls-1", c.ours.agent_config("tls-1"));
  REQUIRE_OK(agent.start());
  ChildProcess child("/bin/sleep", "fl-test-tls-ok", {"1000"});
  AgentClient client(agent.endpoint(c.ours.controller()));
  auto d = client.describe(3s);
  INFO(agent.log());
  REQUIRE_OK(d);
  CHECK(d->host == "tls-1");
  CHECK(agent.log().find("tls=mutual") != std::string::npos);
  CHECK(agent.log().find("event=plaintext") == std::string::npos);

  auto applied = client.apply(pause_fault("pause", "fl-test-tls-ok"), 5s);
  REQUIRE_OK(applied);
  CHECK(applied->active);
  CHECK(child.state() == 'T');
  // The log names the client by its certificate, not by its address.
  CHECK(agent.log().find("event=applied client=\"controller\"") != std::string::npos);
  auto reverted = client.revert("run-tls", "pause", 5s);
  REQUIRE_OK(reverted);
  REQUIRE(reverted->size() == 1);
  CHECK((*reverted)[0].ended_by == "controller");
  CHECK(child.state() != 'T');
  CHECK(agent.stop() == 0);
}

TEST_CASE("a client without a certificate is refused in the handshake", "[agent][tls]") {
  skip_unless_root("the agent runs faults as root");
  Clusters c;
  AgentProcess agent(c.dir, "tls-1", c.ours.agent_config("tls-1"));
  REQUIRE_OK(agent.start());
  ChildProcess victim("/bin/sleep", "fl-test-tls-victim", {"1000"});
  // It trusts the agent (the right CA) but has nothing to show for itself.
  const Attempt a = try_client(agent, "tls-1", ssl(c.ours.ca()), "fl-test-tls-victim");
  CHECK(a.describe.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(a.apply.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(a.describe.error_message().starts_with("failed to connect to all addresses"));
  // The agent says why, in its log.
  CHECK(agent.log().find("Handshake failed with fatal error SSL_ERROR_SSL: error:0A0000C7:SSL "
                         "routines::peer did not return a certificate") != std::string::npos);
  check_untouched(agent, c.ours, victim);
  CHECK(agent.stop() == 0);
}

TEST_CASE("a client certificate from another CA is refused in the handshake", "[agent][tls]") {
  skip_unless_root("the agent runs faults as root");
  Clusters c;
  AgentProcess agent(c.dir, "tls-1", c.ours.agent_config("tls-1"));
  REQUIRE_OK(agent.start());
  ChildProcess victim("/bin/sleep", "fl-test-tls-victim", {"1000"});
  // A controller of the other cluster that trusts this agent's CA: only its own certificate is
  // wrong, and that alone keeps it out.
  const Attempt a = try_client(
      agent, "tls-1", ssl(c.ours.ca(), c.theirs.cert("controller"), c.theirs.key("controller")),
      "fl-test-tls-victim");
  CHECK(a.describe.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(a.apply.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(a.describe.error_message().starts_with("failed to connect to all addresses"));
  CHECK(agent.log().find("Handshake failed with fatal error SSL_ERROR_SSL: error:0A000086:SSL "
                         "routines::certificate verify failed") != std::string::npos);
  // Through the controller's own client, too.
  AgentClient other(
      agent.endpoint({c.ours.ca(), c.theirs.cert("controller"), c.theirs.key("controller")}));
  auto d = other.describe(3s);
  REQUIRE_FALSE(d);
  CHECK(d.error().message.starts_with("agent tls-1: describe: unreachable: "));
  CHECK_FALSE(other.apply(pause_fault("intruder", "fl-test-tls-victim"), 3s));
  check_untouched(agent, c.ours, victim);
  CHECK(agent.stop() == 0);
}

TEST_CASE("another agent's certificate (serverAuth only) does not make a client", "[agent][tls]") {
  skip_unless_root("the agent runs faults as root");
  Clusters c;
  AgentProcess agent(c.dir, "tls-1", c.ours.agent_config("tls-1"));
  REQUIRE_OK(agent.start());
  ChildProcess victim("/bin/sleep", "fl-test-tls-victim", {"1000"});
  // tls-2's key pair is from the right CA, but its certificate is for serving, not for
  // calling: a host that was broken into cannot drive its neighbours' agents with it.
  const Attempt a =
      try_client(agent, "tls-1", ssl(c.ours.ca(), c.ours.cert("tls-2"), c.ours.key("tls-2")),
                 "fl-test-tls-victim");
  CHECK(a.describe.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(a.apply.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(a.describe.error_message().starts_with("failed to connect to all addresses"));
  // OpenSSL checks the purpose of a client's chain (extendedKeyUsage clientAuth).
  CHECK(agent.log().find("Handshake failed with fatal error SSL_ERROR_SSL: error:0A000086:SSL "
                         "routines::certificate verify failed") != std::string::npos);
  check_untouched(agent, c.ours, victim);
  CHECK(agent.stop() == 0);
}

TEST_CASE("a plaintext client cannot talk to a TLS agent", "[agent][tls]") {
  skip_unless_root("the agent runs faults as root");
  Clusters c;
  AgentProcess agent(c.dir, "tls-1", c.ours.agent_config("tls-1"));
  REQUIRE_OK(agent.start());
  ChildProcess victim("/bin/sleep", "fl-test-tls-victim", {"1000"});
  const Attempt a =
      try_client(agent, "tls-1", grpc::InsecureChannelCredentials(), "fl-test-tls-victim");
  CHECK(a.describe.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(a.apply.error_code() == grpc::StatusCode::UNAVAILABLE);
  AgentClient plain(agent.endpoint());
  auto d = plain.describe(3s);
  REQUIRE_FALSE(d);
  CHECK(d.error().message.starts_with("agent tls-1: describe: unreachable: "));
  check_untouched(agent, c.ours, victim);
  CHECK(agent.stop() == 0);
}

TEST_CASE("the controller refuses an agent whose certificate its CA did not sign", "[agent][tls]") {
  skip_unless_root("the agent runs faults as root");
  Clusters c;
  AgentProcess agent(c.dir, "tls-1", c.ours.agent_config("tls-1"));
  REQUIRE_OK(agent.start());
  ChildProcess victim("/bin/sleep", "fl-test-tls-victim", {"1000"});
  // The controller's own certificate is one the agent accepts; the agent is the impostor here,
  // as far as this controller (which trusts only the other CA) knows.
  AgentClient client(
      agent.endpoint({c.theirs.ca(), c.ours.cert("controller"), c.ours.key("controller")}));
  auto d = client.describe(3s);
  REQUIRE_FALSE(d);
  CHECK(without_port(d.error().message, agent) ==
        "agent tls-1: describe: unreachable: failed to connect to all addresses; last error: "
        "UNKNOWN: ipv4:127.0.0.1:PORT: Ssl handshake failed: SSL_ERROR_SSL: "
        "error:0A000086:SSL routines::certificate verify failed");
  auto applied = client.apply(pause_fault("p", "fl-test-tls-victim"), 3s);
  REQUIRE_FALSE(applied);
  CHECK(applied.error().message.starts_with("agent tls-1: apply p: unreachable: "));
  CHECK_FALSE(applied.error().refused);
  check_untouched(agent, c.ours, victim);
  CHECK(agent.stop() == 0);
}

TEST_CASE("an agent whose certificate names another host is refused", "[agent][tls]") {
  skip_unless_root("the agent runs faults as root");
  Clusters c;
  // The agent at this address presents tls-1's certificate, but the inventory says tls-2 is
  // there: a swapped address or a host pretending to be another.
  AgentProcess agent(c.dir, "tls-1", c.ours.agent_config("tls-1"));
  REQUIRE_OK(agent.start());
  ChildProcess victim("/bin/sleep", "fl-test-tls-victim", {"1000"});
  AgentClient client(agent.endpoint(c.ours.controller(), "tls-2"));
  auto d = client.describe(3s);
  REQUIRE_FALSE(d);
  CHECK(without_port(d.error().message, agent) ==
        "agent tls-2: describe: unreachable: failed to connect to all addresses; last error: "
        "UNKNOWN: ipv4:127.0.0.1:PORT: Peer name tls-2 is not in peer certificate");
  CHECK_FALSE(client.apply(pause_fault("p", "fl-test-tls-victim"), 3s));
  check_untouched(agent, c.ours, victim);
  CHECK(agent.stop() == 0);
}

TEST_CASE("tls.allowed_clients keeps out a valid certificate whose name is not listed",
          "[agent][tls]") {
  skip_unless_root("the agent runs faults as root");
  Clusters c;
  ChildProcess victim("/bin/sleep", "fl-test-tls-victim", {"1000"});
  {
    AgentProcess agent(c.dir, "tls-1", c.ours.agent_config("tls-1", {"someone-else"}));
    REQUIRE_OK(agent.start());
    AgentClient client(agent.endpoint(c.ours.controller()));
    auto d = client.describe(3s);
    REQUIRE_FALSE(d);
    CHECK(d.error().refused);
    CHECK(d.error().message ==
          "agent tls-1: describe: client 'controller' is not in this agent's "
          "tls.allowed_clients");
    auto applied = client.apply(pause_fault("p", "fl-test-tls-victim"), 3s);
    REQUIRE_FALSE(applied);
    CHECK(applied.error().refused);
    CHECK(applied.error().message ==
          "agent tls-1: apply p: client 'controller' is not in this agent's "
          "tls.allowed_clients");
    // Every method asks, not only the ones that change the host.
    auto listed = client.list("", 3s);
    REQUIRE_FALSE(listed);
    CHECK(listed.error().message ==
          "agent tls-1: list: client 'controller' is not in this agent's tls.allowed_clients");
    auto renewed = client.renew("run-tls", 5s, 3s);
    REQUIRE_FALSE(renewed);
    CHECK(renewed.error().message ==
          "agent tls-1: renew: client 'controller' is not in this agent's tls.allowed_clients");
    auto reverted = client.revert("run-tls", "", 3s);
    REQUIRE_FALSE(reverted);
    CHECK(reverted.error().message ==
          "agent tls-1: revert: client 'controller' is not in this agent's tls.allowed_clients");
    {
      auto stub = raw_stub(agent, "tls-1",
                           ssl(c.ours.ca(), c.ours.cert("controller"), c.ours.key("controller")));
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + 3s);
      v1::ProbeRequest probe;
      probe.mutable_tcp()->set_host("127.0.0.1");
      probe.mutable_tcp()->set_port(1);
      v1::ProbeReply reply;
      const grpc::Status s = stub->RunProbe(&ctx, probe, &reply);
      CHECK(s.error_code() == grpc::StatusCode::PERMISSION_DENIED);
      CHECK(s.error_message() == "client 'controller' is not in this agent's tls.allowed_clients");
    }
    CHECK(victim.state() != 'T');
    CHECK(agent.log().find("event=refused_client client=\"controller\"") != std::string::npos);
    CHECK(agent.log().find("event=applied") == std::string::npos);
    CHECK(agent.stop() == 0);
  }
  {
    AgentProcess agent(c.dir, "tls-2", c.ours.agent_config("tls-2", {"ops", "controller"}));
    REQUIRE_OK(agent.start());
    AgentClient client(agent.endpoint(c.ours.controller()));
    auto d = client.describe(3s);
    INFO((d ? "" : d.error().message));
    REQUIRE_OK(d);
    CHECK(d->host == "tls-2");
    auto applied = client.apply(pause_fault("p", "fl-test-tls-victim"), 5s);
    REQUIRE_OK(applied);
    CHECK(victim.state() == 'T');
    REQUIRE_OK(client.revert("run-tls", "p", 5s));
    CHECK(victim.state() != 'T');
    CHECK(agent.stop() == 0);
  }
}

TEST_CASE("an agent refuses to start in plaintext on a non-loopback address", "[agent][tls]") {
  TempDir dir;
  const std::string config = dir.file("agent.yaml");
  const std::string listen = "0.0.0.0:" + std::to_string(free_port());
  write_text(config, "host: tls-1\nlisten: " + listen + "\nstate_file: " + dir.file("state.json") +
                         "\nplaintext: true\n");
  // Not --check: the real start, which must stop before it listens (or it would run until the
  // timeout and be killed).
  const CommandResult r = run_command({FAULTLINE_AGENT_BINARY, "--config", config}, 10000);
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err == config +
                     ":4:12: error: plaintext is allowed only on a loopback address, and listen "
                     "is '" +
                     listen +
                     "'; give a tls section (faultline certs makes the files) or listen on "
                     "127.0.0.1\n");
  CHECK_FALSE(std::filesystem::exists(dir.file("state.json")));
}
