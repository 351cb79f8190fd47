// faultline-agent's config: a good file read field by field, relative TLS paths resolved against
// the config's directory, and every mistake reported at its place (FILE:LINE:COL) with the fix.
#include "agent/daemon/agent_config.h"

#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "tests/support/temp_dir.h"

using namespace faultline;
using faultline::test::TempDir;

namespace {

constexpr const char* kLoopback = "listen: 127.0.0.1:7443\nplaintext: true\n";

AgentConfig parse_valid(const std::string& text, const std::string& file = "/etc/fl/agent.yaml") {
  AgentConfigResult parsed = parse_agent_config(text, file);
  for (const Diagnostic& d : parsed.errors) UNSCOPED_INFO(format_diagnostic(d));
  REQUIRE(parsed.errors.empty());
  REQUIRE(parsed.config.has_value());
  return std::move(*parsed.config);
}

std::vector<std::string> errors_of(const std::string& text,
                                   const std::string& file = "/etc/fl/agent.yaml") {
  const AgentConfigResult parsed = parse_agent_config(text, file);
  CHECK_FALSE(parsed.config.has_value());
  std::vector<std::string> out;
  for (const Diagnostic& d : parsed.errors) out.push_back(format_diagnostic(d));
  return out;
}

void touch(const std::string& path) {
  std::ofstream(path) << "-----BEGIN X-----\n";
}

}  // namespace

TEST_CASE("a plaintext loopback config takes the documented defaults", "[agent-config]") {
  const AgentConfig c = parse_valid(std::string("host: web-1\n") + kLoopback);
  CHECK(c.file == "/etc/fl/agent.yaml");
  CHECK(c.host == "web-1");
  CHECK(c.listen == "127.0.0.1:7443");
  CHECK(c.plaintext);
  CHECK_FALSE(c.tls.has_value());
  CHECK(c.state_file == "/var/lib/faultline/agent-state.json");
  CHECK_FALSE(c.scope_own_netns);
  CHECK(c.lease_default == std::chrono::seconds(5));
  CHECK(c.lease_max == std::chrono::seconds(60));
  CHECK(c.policy.allowed_kinds.empty());
  CHECK(c.policy.max_duration == std::chrono::minutes(10));
  CHECK(c.policy.max_faults == 8);
  CHECK_FALSE(c.policy.allow_command_probes);
  CHECK_FALSE(c.metrics.has_value());
}

TEST_CASE("unknown keys are refused at their place, with the key that was probably meant",
          "[agent-config]") {
  CHECK(errors_of(std::string(kLoopback) + "polcy: {max_faults: 2}\n") ==
        std::vector<std::string>{
            "/etc/fl/agent.yaml:3:1: error: unknown key 'polcy' in the agent config (did you "
            "mean 'policy'?); allowed keys: host, labels, listen, tls, plaintext, state_file, "
            "scope, lease, policy, metrics"});
  CHECK(errors_of(std::string(kLoopback) + "policy:\n  max_fault: 2\n") ==
        std::vector<std::string>{
            "/etc/fl/agent.yaml:4:3: error: unknown key 'max_fault' in policy (did you mean "
            "'max_faults'?); allowed keys: allowed_kinds, protected_processes, "
            "protected_containers, protected_interfaces, max_memory, protected_paths, "
            "max_duration, max_faults, allow_command_probes"});
  CHECK(errors_of(std::string(kLoopback) + "lease: {defualt: 5s}\n") ==
        std::vector<std::string>{
            "/etc/fl/agent.yaml:3:9: error: unknown key 'defualt' in lease (did you mean "
            "'default'?); allowed keys: default, max"});
  CHECK(errors_of("listen: 127.0.0.1:7443\ntls: {ca: /dev/null, cert: /dev/null, key: /dev/null, "
                  "alowed_clients: [x]}\n") ==
        std::vector<std::string>{
            "/etc/fl/agent.yaml:2:55: error: unknown key 'alowed_clients' in tls (did you mean "
            "'allowed_clients'?); allowed keys: ca, cert, key, allowed_clients"});
}

TEST_CASE("listen must be ADDRESS:PORT with a port from 1 to 65535", "[agent-config]") {
  for (const char* bad : {"7443", ":7443", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
                          "127.0.0.1:http", "127.0.0.1:123456", "127.0.0.1:-1"}) {
    INFO(bad);
    CHECK(errors_of(fmt::format("listen: '{}'\nplaintext: true\n", bad)) ==
          std::vector<std::string>{
              fmt::format("/etc/fl/agent.yaml:1:9: error: listen '{}' must be ADDRESS:PORT, e.g. "
                          "0.0.0.0:7443 or [::]:7443",
                          bad)});
  }
  CHECK(errors_of("plaintext: true\n") ==
        std::vector<std::string>{
            "/etc/fl/agent.yaml:1:1: error: the agent config is missing the required key "
            "'listen'"});
  CHECK(parse_valid("listen: '[::1]:7443'\nplaintext: true\n").listen == "[::1]:7443");
}

TEST_CASE("plaintext only on loopback, and never together with tls", "[agent-config]") {
  CHECK(errors_of("listen: 10.0.0.1:7443\nplaintext: true\n") ==
        std::vector<std::string>{
            "/etc/fl/agent.yaml:2:12: error: plaintext is allowed only on a loopback address, "
            "and listen is '10.0.0.1:7443'; give a tls section (faultline certs makes the "
            "files) or listen on 127.0.0.1"});
  CHECK(errors_of("listen: '[::]:7443'\nplaintext: true\n") ==
        std::vector<std::string>{
            "/etc/fl/agent.yaml:2:12: error: plaintext is allowed only on a loopback address, "
            "and listen is '[::]:7443'; give a tls section (faultline certs makes the files) "
            "or listen on 127.0.0.1"});
  CHECK(errors_of("listen: 127.0.0.1:7443\n") ==
        std::vector<std::string>{
            "/etc/fl/agent.yaml:1:1: error: the agent config needs a tls section (ca, cert, "
            "key); `faultline certs` makes the files. plaintext: true is allowed only for a "
            "loopback listen address"});
  CHECK(errors_of("listen: 127.0.0.1:7443\nplaintext: true\ntls: {ca: /a, cert: /b, key: /c}\n")
            .back() ==
        "/etc/fl/agent.yaml:2:12: error: plaintext and tls exclude each other; remove one");
}

TEST_CASE("relative tls paths are resolved against the config's directory", "[agent-config]") {
  TempDir dir;
  touch(dir.file("ca.pem"));
  touch(dir.file("web-1.pem"));
  touch(dir.file("web-1.key"));
  const AgentConfig c =
      parse_valid("listen: 0.0.0.0:7443\ntls:\n  ca: ca.pem\n  cert: web-1.pem\n  key: " +
                      dir.file("web-1.key") + "\n  allowed_clients: [controller, ops]\n",
                  dir.file("agent.yaml"));
  REQUIRE(c.tls.has_value());
  CHECK(c.tls->ca == dir.file("ca.pem"));
  CHECK(c.tls->cert == dir.file("web-1.pem"));
  CHECK(c.tls->key == dir.file("web-1.key"));
  CHECK(c.tls->allowed_clients == std::vector<std::string>{"controller", "ops"});
  CHECK_FALSE(c.plaintext);

  // A file that is not there is named with its resolved path, not as written.
  CHECK(errors_of("listen: 0.0.0.0:7443\ntls:\n  ca: missing.pem\n  cert: web-1.pem\n  key: "
                  "web-1.key\n",
                  dir.file("agent.yaml")) ==
        std::vector<std::string>{dir.file("agent.yaml") + ":3:7: error: tls.ca '" +
                                 dir.file("missing.pem") +
                                 "' cannot be read: No such file or directory"});
  CHECK(errors_of("listen: 0.0.0.0:7443\ntls: {ca: ca.pem}\n", dir.file("agent.yaml")) ==
        std::vector<std::string>{
            dir.file("agent.yaml") + ":2:6: error: tls is missing the required key 'cert'",
            dir.file("agent.yaml") + ":2:6: error: tls is missing the required key 'key'"});
}

TEST_CASE("lease.default may not be longer than lease.max", "[agent-config]") {
  CHECK(errors_of(std::string(kLoopback) + "lease:\n  default: 2m\n  max: 1m\n") ==
        std::vector<std::string>{
            "/etc/fl/agent.yaml:4:3: error: lease.default (2m) is longer than lease.max (1m)"});
  // Against the default max (60s), too.
  CHECK(errors_of(std::string(kLoopback) + "lease: {default: 90s}\n") ==
        std::vector<std::string>{
            "/etc/fl/agent.yaml:3:8: error: lease.default (1m30s) is longer than lease.max "
            "(1m)"});
  CHECK(errors_of(std::string(kLoopback) + "lease: {max: 50ms}\n") ==
        std::vector<std::string>{
            "/etc/fl/agent.yaml:3:14: error: lease.max must be at least 100ms (got 50ms)"});
  const AgentConfig c = parse_valid(std::string(kLoopback) + "lease: {default: 2s, max: 30s}\n");
  CHECK(c.lease_default == std::chrono::seconds(2));
  CHECK(c.lease_max == std::chrono::seconds(30));
}

TEST_CASE("the policy's kinds and protected processes are checked", "[agent-config]") {
  CHECK(errors_of(std::string(kLoopback) + "policy:\n  allowed_kinds: []\n") ==
        std::vector<std::string>{
            "/etc/fl/agent.yaml:4:18: error: policy.allowed_kinds is empty: no fault could run; "
            "list the kinds this host allows"});
  CHECK(errors_of(std::string(kLoopback) +
                  "policy:\n  protected_processes: [{cmdline: 'post(gres'}]\n") ==
        std::vector<std::string>{
            "/etc/fl/agent.yaml:4:25: error: policy.protected_processes: cmdline regex "
            "'post(gres' is not valid: missing ): post(gres"});
  CHECK(errors_of(std::string(kLoopback) + "policy:\n  protected_processes: [{nmae: x}]\n") ==
        std::vector<std::string>{
            "/etc/fl/agent.yaml:4:26: error: unknown key 'nmae' in a protected process (did "
            "you mean 'name'?); allowed keys: name, cmdline, pidfile, parent_pidfile, cgroup",
            "/etc/fl/agent.yaml:4:25: error: a protected process needs one of name, cmdline, "
            "pidfile, parent_pidfile, cgroup"});
  CHECK(errors_of(std::string(kLoopback) + "policy:\n  protected_processes: [{}]\n") ==
        std::vector<std::string>{
            "/etc/fl/agent.yaml:4:25: error: a protected process needs one of name, cmdline, "
            "pidfile, parent_pidfile, cgroup"});
  CHECK(errors_of(std::string(kLoopback) + "policy:\n  max_faults: many\n") ==
        std::vector<std::string>{
            "/etc/fl/agent.yaml:4:15: error: policy.max_faults must be a whole number (got "
            "'many')"});
  const AgentConfig c = parse_valid(std::string(kLoopback) +
                                    "policy:\n  allowed_kinds: [process_pause]\n"
                                    "  protected_processes: [{name: postgres}, {cmdline: "
                                    "'^fl-test-( |$)'}]\n  max_duration: 30s\n  max_faults: 3\n");
  CHECK(c.policy.allowed_kinds == std::set<std::string>{"process_pause"});
  REQUIRE(c.policy.protected_processes.size() == 2);
  CHECK(c.policy.protected_processes[0].name == "postgres");
  CHECK(c.policy.protected_processes[1].cmdline == "^fl-test-( |$)");
  CHECK(c.policy.max_duration == std::chrono::seconds(30));
  CHECK(c.policy.max_faults == 3);
}

TEST_CASE("the host name, labels, state file and scope are checked", "[agent-config]") {
  CHECK(errors_of(std::string(kLoopback) + "host: 'web 1'\n") ==
        std::vector<std::string>{
            "/etc/fl/agent.yaml:3:7: error: host 'web 1' must be 1 to 63 letters, digits, '-', "
            "'.' or '_'"});
  CHECK(errors_of(std::string(kLoopback) + "state_file: state.json\n") ==
        std::vector<std::string>{
            "/etc/fl/agent.yaml:3:13: error: state_file 'state.json' must be an absolute path"});
  CHECK(errors_of(std::string(kLoopback) + "scope: {netns: mine}\n") ==
        std::vector<std::string>{
            "/etc/fl/agent.yaml:3:16: error: scope.netns 'mine' must be 'own' (only processes "
            "in the agent's network namespace) or 'all'"});
  CHECK(errors_of(std::string(kLoopback) + "labels: [app]\n") ==
        std::vector<std::string>{
            "/etc/fl/agent.yaml:3:9: error: labels must be a mapping of names to values, e.g. "
            "{role: app}"});
}

TEST_CASE("metrics listen on a loopback IPv4 port of their own unless remote ones are allowed",
          "[agent-config]") {
  const AgentConfig c = parse_valid(std::string(kLoopback) + "metrics: {listen: 127.0.0.1:9464}\n");
  REQUIRE(c.metrics.has_value());
  CHECK(c.metrics->listen == "127.0.0.1:9464");
  CHECK_FALSE(c.metrics->allow_remote);
  const AgentConfig remote = parse_valid(
      std::string(kLoopback) + "metrics:\n  listen: 0.0.0.0:9464\n  allow_remote: true\n");
  CHECK(remote.metrics->listen == "0.0.0.0:9464");
  CHECK(remote.metrics->allow_remote);

  // Never the gRPC port, whatever the address.
  CHECK(errors_of(std::string(kLoopback) + "metrics: {listen: 127.0.0.1:7443}\n") ==
        std::vector<std::string>{
            "/etc/fl/agent.yaml:3:19: error: metrics.listen '127.0.0.1:7443' has the port of "
            "listen '127.0.0.1:7443', the agent's gRPC port; give the metrics a port of their "
            "own, e.g. 127.0.0.1:9464"});
  CHECK(errors_of(std::string(kLoopback) +
                  "metrics: {listen: '0.0.0.0:7443', allow_remote: true}\n") ==
        std::vector<std::string>{
            "/etc/fl/agent.yaml:3:19: error: metrics.listen '0.0.0.0:7443' has the port of "
            "listen '127.0.0.1:7443', the agent's gRPC port; give the metrics a port of their "
            "own, e.g. 127.0.0.1:9464"});
  // Not loopback: only with allow_remote.
  CHECK(errors_of(std::string(kLoopback) + "metrics:\n  listen: 10.0.0.5:9464\n") ==
        std::vector<std::string>{
            "/etc/fl/agent.yaml:4:11: error: metrics.listen '10.0.0.5:9464' is not a loopback "
            "address, and the metrics are plain HTTP with no authentication; listen on "
            "127.0.0.1, or set metrics.allow_remote: true to serve them to other hosts"});
  // An IPv4 address, not a name (the server does not resolve), with a port from 1 to 65535;
  // nothing civetweb would read as more (an 's' for TLS, a list of ports).
  for (const char* bad :
       {"localhost:9464", "9464", ":9464", "127.0.0.1:0", "127.0.0.1:9464s", "[::1]:9464",
        "::1:9464", "[127.0.0.1]:9464", "127.0.0.1:80,127.0.0.1:81"}) {
    INFO(bad);
    CHECK(errors_of(std::string(kLoopback) + fmt::format("metrics: {{listen: '{}'}}\n", bad)) ==
          std::vector<std::string>{fmt::format(
              "/etc/fl/agent.yaml:3:19: error: metrics.listen '{}' must be IPV4-ADDRESS:PORT "
              "(not a name; the metrics server has no IPv6), e.g. 127.0.0.1:9464",
              bad)});
  }
  CHECK(errors_of(std::string(kLoopback) + "metrics: {allow_remote: true}\n") ==
        std::vector<std::string>{
            "/etc/fl/agent.yaml:3:10: error: metrics is missing the required key 'listen'"});
  CHECK(errors_of(std::string(kLoopback) + "metrics: {listen: 127.0.0.1:9464, port: 1}\n") ==
        std::vector<std::string>{
            "/etc/fl/agent.yaml:3:35: error: unknown key 'port' in metrics; allowed keys: "
            "listen, allow_remote"});
}

TEST_CASE("an empty or unparsable config says so", "[agent-config]") {
  CHECK(errors_of("") == std::vector<std::string>{
                             "/etc/fl/agent.yaml:1:1: error: the file is empty; an agent config "
                             "needs at least listen and tls (see docs/agent.md)"});
  CHECK(errors_of("listen: [127.0.0.1:7443\n") ==
        std::vector<std::string>{"/etc/fl/agent.yaml:2:1: error: YAML syntax: did not find "
                                 "expected ',' or ']': a '[' is not closed; add the missing ']'"});
  const AgentConfigResult missing = read_agent_config("/nonexistent/agent.yaml");
  CHECK_FALSE(missing.config.has_value());
  REQUIRE(missing.errors.size() == 1);
  CHECK(format_diagnostic(missing.errors[0]) ==
        "/nonexistent/agent.yaml: error: cannot read the agent config: No such file or "
        "directory");
}

TEST_CASE("the policy's protected containers are read, each criterion as written",
          "[agent-config]") {
  const AgentConfig c =
      parse_valid(std::string(kLoopback) +
                  "policy:\n"
                  "  protected_containers:\n"
                  "    - {name: 'etcd-*'}\n"
                  "    - {runtime: docker, image: registry.local/vault, id: 3f2a}\n"
                  "    - {labels: {io.kubernetes.pod.namespace: kube-system}}\n"
                  "    - {runtime: containerd, id: web1}\n");
  const auto& p = c.policy.protected_containers;
  REQUIRE(p.size() == 4);
  CHECK(p[0].runtime == "auto");
  CHECK(p[0].name == "etcd-*");
  CHECK_FALSE(p[0].image.has_value());
  CHECK(p[1].runtime == "docker");
  CHECK(p[1].image == "registry.local/vault");
  CHECK(p[1].id == "3f2a");
  CHECK(p[2].labels ==
        std::map<std::string, std::string>{{"io.kubernetes.pod.namespace", "kube-system"}});
  // containerd's ids are the names their creator chose.
  CHECK(p[3].runtime == "containerd");
  CHECK(p[3].id == "web1");
  CHECK(parse_valid(std::string(kLoopback)).policy.protected_containers.empty());
}

TEST_CASE("a bad protected container is refused at its place", "[agent-config]") {
  const std::string policy = std::string(kLoopback) + "policy:\n  protected_containers:\n";
  CHECK(errors_of(policy + "    - {name: web, id: web}\n") ==
        std::vector<std::string>{
            "/etc/fl/agent.yaml:5:23: error: policy.protected_containers[0].id 'web' is not a "
            "container id: give at least 4 of its hex digits (docker ps shows 12)"});
  CHECK(errors_of(policy + "    - {name: web}\n    - {runtime: rkt, name: db}\n") ==
        std::vector<std::string>{
            "/etc/fl/agent.yaml:6:17: error: policy.protected_containers[1].runtime 'rkt' is not "
            "known; use auto, docker, podman, containerd or cri-o"});
  CHECK(errors_of(policy + "    - {image: " + std::string(256, 'i') + "}\n") ==
        std::vector<std::string>{
            "/etc/fl/agent.yaml:5:15: error: policy.protected_containers[0].image is longer than "
            "255 characters"});
  CHECK(errors_of(policy + "    - {runtime: docker}\n") ==
        std::vector<std::string>{
            "/etc/fl/agent.yaml:5:7: error: policy.protected_containers[0] protects nothing; "
            "give name, id, image or labels"});
  CHECK(errors_of(policy + "    - {nmae: web}\n") ==
        std::vector<std::string>{
            "/etc/fl/agent.yaml:5:8: error: unknown key 'nmae' in policy.protected_containers[0] "
            "(did you mean 'name'?); allowed keys: runtime, name, id, image, labels",
            "/etc/fl/agent.yaml:5:7: error: policy.protected_containers[0] protects nothing; "
            "give name, id, image or labels"});
  std::string many = policy;
  for (int i = 0; i < 65; ++i) many += fmt::format("    - {{name: c{}}}\n", i);
  CHECK(errors_of(many) == std::vector<std::string>{
                               "/etc/fl/agent.yaml:5:5: error: policy.protected_containers has 65 "
                               "entries; at most 64 are taken"});
  std::string labels = policy + "    - labels:\n";
  for (int i = 0; i < 65; ++i) labels += fmt::format("        l{}: v\n", i);
  CHECK(errors_of(labels) ==
        std::vector<std::string>{"/etc/fl/agent.yaml:6:9: error: policy.protected_containers[0]."
                                 "labels has 65 labels; at most 64 are taken"});
}

TEST_CASE("policy.max_memory and policy.protected_paths bound the resource faults",
          "[agent-config]") {
  const AgentConfig c = parse_valid(std::string(kLoopback) +
                                    "policy:\n  max_memory: 25%\n  protected_paths: [/, /var/lib/db]\n");
  REQUIRE(c.policy.max_memory.has_value());
  CHECK(c.policy.max_memory->percent == Percent::whole(25));
  CHECK(c.policy.protected_paths == std::vector<std::string>{"/", "/var/lib/db"});
  CHECK(parse_valid(std::string(kLoopback) + "policy: {max_memory: 2GiB}\n").policy.max_memory->bytes ==
        2LL * 1024 * 1024 * 1024);
  CHECK(errors_of(std::string(kLoopback) + "policy:\n  max_memory: 0\n  protected_paths: [db]\n") ==
        std::vector<std::string>{
            "/etc/fl/agent.yaml:4:15: error: policy.max_memory: must be above 0 (got 0)",
            "/etc/fl/agent.yaml:5:21: error: policy.protected_paths[0]: 'db' is not an absolute "
            "path without '.' or '..' parts; write e.g. /var/lib/postgresql"});
}
