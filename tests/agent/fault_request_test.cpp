// The agent's first look at an Apply request's containers (build_fault_request): each field over
// its limit or of the wrong form is refused as INVALID_ARGUMENT naming it, before anything looks
// for a container; a good request carries the agent's policy.protected_containers, whatever the
// controller sent.
#include "agent/daemon/fault_request.h"

#include <catch2/catch.hpp>

#include "agent/daemon/policy.h"

using namespace faultline;
using namespace std::chrono_literals;

namespace {

ApplyInput pause_in_containers() {
  ApplyInput in;
  in.owner = "run-1";
  in.fault_id = "pause-web";
  in.kind = "process_pause";
  in.params = {{"count", "1"}};
  in.duration = 10s;
  in.max_processes = 1;
  ContainerSelector web;
  web.runtime = "docker";
  web.name = "web-*";
  in.containers = web;
  in.max_containers = 2;
  return in;
}

ContainerSelector named(const std::string& name) {
  ContainerSelector s;
  s.name = name;
  return s;
}

std::string refusal(const ApplyInput& in, const AgentConfig& config = {}) {
  auto request = build_fault_request(in, config);
  REQUIRE_FALSE(request);
  CHECK(request.error().code == ServiceCode::Invalid);
  return request.error().message;
}

}  // namespace

TEST_CASE("a request's containers reach the fault with the agent's protected containers",
          "[agent-request]") {
  AgentConfig config;
  ContainerSelector etcd = named("etcd-*");
  config.policy.protected_containers = {etcd};
  ApplyInput in = pause_in_containers();
  in.protected_containers = {named("db")};
  auto request = build_fault_request(in, config);
  REQUIRE(request);
  REQUIRE(request->containers.has_value());
  CHECK(request->containers->runtime == "docker");
  CHECK(request->containers->name == "web-*");
  CHECK(request->max_containers == 2);
  REQUIRE(request->container_protection.selectors.size() == 1);
  CHECK(request->container_protection.selectors[0].name == "db");
  REQUIRE(request->container_protection.agent_policy.size() == 1);
  CHECK(request->container_protection.agent_policy[0].name == "etcd-*");

  // Without containers, the agent's list still goes with the request.
  ApplyInput host = pause_in_containers();
  host.containers.reset();
  host.max_containers = 0;
  host.selector.name = "fl-test-x";
  auto plain = build_fault_request(host, config);
  REQUIRE(plain);
  CHECK_FALSE(plain->containers.has_value());
  CHECK(plain->container_protection.agent_policy.size() == 1);
}

TEST_CASE("each bad container field of a request is refused by name", "[agent-request]") {
  ApplyInput in = pause_in_containers();
  in.containers->name = std::string(256, 'n');
  CHECK(refusal(in) == "containers.name is longer than 255 characters");

  in = pause_in_containers();
  in.containers->image = std::string(256, 'i');
  CHECK(refusal(in) == "containers.image is longer than 255 characters");

  in = pause_in_containers();
  in.containers->runtime = "rkt";
  CHECK(refusal(in) ==
        "containers.runtime 'rkt' is not known; use auto, docker, podman, containerd or cri-o");

  in = pause_in_containers();
  in.containers->id = "abc";
  CHECK(refusal(in) ==
        "containers.id 'abc' is not a container id: give at least 4 of its hex "
        "digits (docker ps shows 12)");
  in.containers->id = "Web1";
  CHECK(refusal(in) ==
        "containers.id 'Web1' is not a container id: give at least 4 of its hex "
        "digits (docker ps shows 12)");
  // containerd's ids are names: any form is taken.
  in.containers->runtime = "containerd";
  CHECK(build_fault_request(in, {}));

  in = pause_in_containers();
  for (int i = 0; i < 65; ++i) in.containers->labels[fmt::format("l{}", i)] = "v";
  CHECK(refusal(in) == "containers.labels has 65 labels; at most 64 are taken");

  in = pause_in_containers();
  in.containers->labels = {{"app", std::string(256, 'v')}};
  CHECK(refusal(in) == "containers.labels 'app' has a value longer than 255 characters");
  in.containers->labels = {{std::string(256, 'k'), "v"}};
  CHECK(refusal(in) == "containers.labels has a key of 256 characters; a key is 1 to 255");

  in = pause_in_containers();
  in.containers = ContainerSelector{.runtime = "docker"};
  CHECK(refusal(in) ==
        "containers gives no name, id, image, labels or pod: it would select "
        "every container on the host");

  in = pause_in_containers();
  in.max_containers = 0;
  CHECK(refusal(in) == "max_containers 0 is not 1 to 100000");
  in.max_containers = 100001;
  CHECK(refusal(in) == "max_containers 100001 is not 1 to 100000");

  in = pause_in_containers();
  in.params["netns"] = "/run/netns/lab";
  CHECK(refusal(in) ==
        "netns cannot be used with containers: the fault acts in each container's "
        "own network namespace");

  in = pause_in_containers();
  in.selector.cgroup = "/system.slice";
  CHECK(refusal(in) ==
        "selector.cgroup cannot be used with containers: the processes are picked "
        "in each container's own cgroup");
}

TEST_CASE("a request's protected containers are bounded and checked", "[agent-request]") {
  ApplyInput in = pause_in_containers();
  for (int i = 0; i < 65; ++i) in.protected_containers.push_back(named(fmt::format("c{}", i)));
  CHECK(refusal(in) == "protected_containers has 65 entries; at most 64 are taken");

  in = pause_in_containers();
  in.protected_containers = {named("db"), ContainerSelector{.runtime = "podman"}};
  CHECK(refusal(in) == "protected_containers[1] protects nothing; give name, id, image or labels");

  in = pause_in_containers();
  in.protected_containers = {named(std::string(256, 'p'))};
  CHECK(refusal(in) == "protected_containers[0].name is longer than 255 characters");
}

TEST_CASE("an agent scoped to its own network namespace refuses container faults",
          "[agent-request]") {
  AgentConfig config;
  config.scope_own_netns = true;
  const ApplyInput in = pause_in_containers();
  auto request = build_fault_request(in, config);
  REQUIRE(request);
  auto checked = check_policy(config, in, *request, 0);
  REQUIRE_FALSE(checked);
  CHECK(checked.error().code == ServiceCode::Refused);
  CHECK(checked.error().message ==
        "refused by this agent's scope: containers are not allowed "
        "when scope.netns is 'own' (each has a network namespace of "
        "its own)");
}

TEST_CASE("a request's resource bounds are checked and joined with the agent's policy",
          "[agent-request]") {
  AgentConfig config;
  config.policy.max_memory = MemoryBound{.bytes = 1LL << 30};
  config.policy.protected_paths = {"/var/lib/db"};
  ApplyInput in;
  in.owner = "run-1";
  in.fault_id = "burn";
  in.kind = "cpu_stress";
  in.duration = 10s;
  in.max_memory = "50%";
  in.protected_paths = {"/srv"};
  auto request = build_fault_request(in, config);
  REQUIRE(request);
  const ResourceBounds& b = request->resource_bounds;
  CHECK(b.max_memory->percent == Percent::whole(50));
  CHECK(b.agent_max_memory->bytes == 1LL << 30);
  REQUIRE(b.protected_paths.size() == 2);
  CHECK(b.protected_paths[0].path == "/srv");
  CHECK(b.protected_paths[0].source == "blast_radius.protected_paths");
  CHECK(b.protected_paths[1].path == "/var/lib/db");
  CHECK(b.protected_paths[1].source == "the agent's policy.protected_paths");
  // A controller cannot loosen the agent's bound: both are checked.
  CHECK(check_memory_bound(2LL << 30, b).error().message ==
        "would hold 2.00 GiB of memory, more than the agent's policy.max_memory 1GiB; ask for "
        "less or raise it");

  in.max_memory = "lots";
  CHECK(refusal(in, config).starts_with("max_memory: 'lots' is not a size"));
  in.max_memory = "";
  in.protected_paths = {"/srv", "../etc"};
  CHECK(refusal(in, config) ==
        "protected_paths[1]: '../etc' is not an absolute path without '.' or '..' parts; write "
        "e.g. /var/lib/postgresql");
}
