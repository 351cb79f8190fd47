// Containers as targets, without a runtime: the scenario's containers:/pods: keys and their exact
// errors, glob and selector matching, which runtime a cgroup path names, the Engine API's list
// reply, and choosing containers within max_containers. The runtimes themselves are tested in
// container_targets_test.sh.
#include <catch2/catch.hpp>
#include <random>

#include "containers/cgroup_scan.h"
#include "containers/engine_api.h"
#include "containers/resolve.h"
#include "controller/scenario/parse.h"

namespace faultline {
namespace {

std::string scenario_with(const std::string& targets, const std::string& blast = "",
                          const std::string& fault = "process_kill: {count: 1}") {
  return "version: 1\ntitle: t\ntargets:\n" + targets +
         "\nblast_radius: {max_duration: 1m" + blast +
         "}\nsteady_state:\n  - name: p\n    command: {run: 'true'}\n    expect: {exit_code: 0}\n"
         "faults:\n  - name: f\n    target: web\n    at: 0s\n    duration: 5s\n    " +
         fault + "\n";
}

std::vector<std::string> errors_of(const std::string& text) {
  const ParsedScenario parsed = parse_scenario_text(text, "t.yaml");
  std::vector<std::string> out;
  for (const Diagnostic& d : parsed.errors) out.push_back(format_diagnostic(d));
  return out;
}

Scenario valid(const std::string& text) {
  ParsedScenario parsed = parse_scenario_text(text, "t.yaml");
  for (const Diagnostic& d : parsed.errors) UNSCOPED_INFO(format_diagnostic(d));
  REQUIRE(parsed.scenario);
  return std::move(*parsed.scenario);
}

TEST_CASE("containers: and pods: parse into a container selector", "[containers]") {
  const Scenario s = valid(scenario_with(
      "  web: {containers: {runtime: docker, name: 'web-*', image: nginx, label: app=web, "
      "labels: {tier: front}, percent: 50%}, processes: {name: nginx}}",
      ", max_containers: 3, protected_containers: [{image: 'postgres*'}, {label: {app: db}}]"));
  const ContainerSelector& c = *s.targets[0].containers;
  CHECK(c.runtime == "docker");
  CHECK(c.name == "web-*");
  CHECK(c.image == "nginx");
  CHECK(c.labels == std::map<std::string, std::string>{{"app", "web"}, {"tier", "front"}});
  CHECK(c.count.mode == Count::Mode::Share);
  CHECK(c.count.share == Percent::whole(50));
  CHECK(s.targets[0].processes.name == "nginx");
  CHECK(s.blast_radius.max_containers == 3);
  REQUIRE(s.blast_radius.container_protection.selectors.size() == 2);
  CHECK(s.blast_radius.container_protection.selectors[0].image == "postgres*");
  CHECK(s.blast_radius.container_protection.selectors[1].labels.at("app") == "db");

  const Scenario p = valid(scenario_with(
      "  web: {pods: {namespace: shop, name: 'checkout-*', container: app, count: 2}}",
      ", max_containers: 2"));
  const ContainerSelector& pods = *p.targets[0].containers;
  CHECK(pods.selects_pods());
  CHECK(pods.pod_namespace == "shop");
  CHECK(pods.pod_name == "checkout-*");
  CHECK(pods.pod_container == "app");
  CHECK(pods.count.mode == Count::Mode::Number);
  CHECK(pods.count.number == 2);
  CHECK(p.blast_radius.max_containers == 2);
  // By default a fault may touch one container, as it may one process.
  CHECK(valid(scenario_with("  web: {containers: {name: web}}")).blast_radius.max_containers == 1);
}

TEST_CASE("containers: and pods: mistakes are reported at their place", "[containers]") {
  CHECK(errors_of(scenario_with("  web: {containers: {runtime: lxc, name: web}}")) ==
        std::vector<std::string>{"t.yaml:4:31: error: target 'web'.containers.runtime 'lxc' is "
                                 "not known; use auto, docker, podman, containerd or cri-o"});
  CHECK(errors_of(scenario_with("  web: {containers: {count: 1}}")) ==
        std::vector<std::string>{"t.yaml:4:21: error: target 'web'.containers does not say which "
                                 "containers; give name, id, image or labels (or several: a "
                                 "container then needs all)"});
  CHECK(errors_of(scenario_with("  web: {containers: {id: xyz}}")) ==
        std::vector<std::string>{"t.yaml:4:26: error: target 'web'.containers.id 'xyz' is not a "
                                 "container id: give at least 4 of its hex digits (docker ps "
                                 "shows 12)"});
  CHECK(errors_of(scenario_with("  web: {containers: {name: a}, pods: {namespace: b}}")) ==
        std::vector<std::string>{"t.yaml:4:38: error: target 'web' has both containers and pods; "
                                 "a pod selector is a container selector, keep one"});
  CHECK(errors_of(scenario_with("  web: {pods: {runtime: docker}}")) ==
        std::vector<std::string>{"t.yaml:4:15: error: target 'web'.pods does not say which pods; "
                                 "give namespace, name (a glob such as checkout-*), container, or "
                                 "several of them"});
  CHECK(errors_of(scenario_with("  web: {containers: {label: app}}")) ==
        std::vector<std::string>{"t.yaml:4:29: error: target 'web'.containers.label 'app' is not "
                                 "a label; write {app: web} or app=web"});
  CHECK(errors_of(scenario_with("  web: {containers: {name: " + std::string(256, 'n') + "}}")) ==
        std::vector<std::string>{"t.yaml:4:28: error: target 'web'.containers.name is longer "
                                 "than 255 characters"});
  CHECK(errors_of(scenario_with("  web: {pods: {namespace: " + std::string(256, 'n') + "}}")) ==
        std::vector<std::string>{"t.yaml:4:27: error: target 'web'.pods.namespace is longer "
                                 "than 255 characters"});
  CHECK(errors_of(scenario_with("  web: {containers: {name: a}, processes: {cgroup: /x}}")) ==
        std::vector<std::string>{"t.yaml:4:52: error: target 'web'.processes.cgroup cannot be "
                                 "used with containers: the processes are picked in each "
                                 "container's own cgroup"});
  CHECK(errors_of(scenario_with("  web: {containers: {name: a}}", "",
                                "dns: {names: a.example, action: nxdomain, netns: x}")) ==
        std::vector<std::string>{"t.yaml:15:54: error: fault 'f' acts in the network namespace "
                                 "of each container of target 'web'; remove netns"});
}

TEST_CASE("globs: '*' is any run of characters, nothing else is special", "[containers]") {
  CHECK(glob_matches("checkout-*", "checkout-7d9f-abcde"));
  CHECK(glob_matches("*-db", "orders-db"));
  CHECK(glob_matches("a*b*c", "aXbYbZc"));
  CHECK(glob_matches("*", ""));
  CHECK(glob_matches("web", "web"));
  CHECK_FALSE(glob_matches("web", "web1"));
  CHECK_FALSE(glob_matches("checkout-*", "checkou"));
  CHECK_FALSE(glob_matches("a?c", "abc"));
  CHECK_FALSE(glob_matches("a*b*c", "aXbYbZ"));
}

TEST_CASE("a container matches when every criterion does", "[containers]") {
  Container c{.runtime = "docker",
              .id = "3f2a9c1b7d0e" + std::string(52, 'a'),
              .name = "web-1",
              .image = "docker.io/library/nginx:1.25",
              .labels = {{"app", "web"},
                         {"io.kubernetes.pod.namespace", "shop"},
                         {"io.kubernetes.pod.name", "checkout-7d9f-abcde"},
                         {"io.kubernetes.container.name", "app"}}};
  const auto selector = [](auto&& set) {
    ContainerSelector s;
    set(s);
    return s;
  };
  CHECK(container_matches(selector([](auto& s) { s.name = "web-*"; }), c));
  CHECK(container_matches(selector([](auto& s) { s.id = "3f2a"; }), c));
  CHECK_FALSE(container_matches(selector([](auto& s) { s.id = "3f2b"; }), c));
  CHECK(container_matches(selector([](auto& s) { s.image = "docker.io/library/nginx"; }), c));
  CHECK_FALSE(container_matches(selector([](auto& s) { s.image = "nginx:1.24"; }), c));
  CHECK(container_matches(selector([](auto& s) { s.image = "*nginx:1.25"; }), c));
  CHECK(container_matches(selector([](auto& s) { s.labels = {{"app", "web"}}; }), c));
  CHECK_FALSE(container_matches(selector([](auto& s) { s.labels = {{"app", "db"}}; }), c));
  CHECK(container_matches(selector([](auto& s) {
                            s.pod_namespace = "shop";
                            s.pod_name = "checkout-*";
                            s.pod_container = "app";
                          }),
                          c));
  CHECK_FALSE(container_matches(selector([](auto& s) { s.pod_namespace = "default"; }), c));
  CHECK_FALSE(container_matches(selector([](auto& s) {
                                  s.runtime = "podman";
                                  s.name = "web-1";
                                }),
                                c));
}

TEST_CASE("a cgroup path names its container's runtime and id", "[containers]") {
  const std::string id(64, 'c');
  const auto found = [](std::string_view path) {
    auto c = container_of_cgroup(path);
    return c ? c->runtime + " " + c->id : std::string("none");
  };
  CHECK(found("/docker/" + id) == "docker " + id);
  CHECK(found("/system.slice/docker-" + id + ".scope") == "docker " + id);
  CHECK(found("/libpod_parent/libpod-" + id) == "podman " + id);
  CHECK(found("/machine.slice/libpod-" + id + ".scope/container") == "podman " + id);
  CHECK(found("/kubepods.slice/kubepods-burstable.slice/cri-containerd-" + id + ".scope") ==
        "containerd " + id);
  CHECK(found("/kubepods/besteffort/pod1/crio-" + id) == "cri-o " + id);
  // podman's conmon is not the container; short ids and other names are nothing.
  CHECK(found("/libpod_parent/conmon/libpod-conmon-" + id) == "none");
  CHECK(found("/docker/" + id.substr(0, 12)) == "none");
  CHECK(found("/system.slice/ssh.service") == "none");
  CHECK(found("/") == "none");
}

TEST_CASE("the Engine API's container list becomes containers", "[containers]") {
  const auto list = parse_container_list(
      "docker",
      R"([{"Id":"abc123","Names":["/web-1"],"Image":"nginx:1.25","Labels":{"app":"web"}},
          {"Id":"def456","Names":[],"Image":"redis","Labels":null}])");
  REQUIRE(list);
  REQUIRE(list->size() == 2);
  CHECK((*list)[0].id == "abc123");
  CHECK((*list)[0].name == "web-1");
  CHECK((*list)[0].image == "nginx:1.25");
  CHECK((*list)[0].labels == std::map<std::string, std::string>{{"app", "web"}});
  CHECK((*list)[1].name.empty());
  CHECK((*list)[1].labels.empty());
  CHECK(parse_container_list("docker", "{}").error().message ==
        "GET /containers/json: expected an array");
  CHECK(parse_container_list("podman", R"([{"Id":1}])").error().message ==
        "GET /containers/json: /0/Id: expected a string");
  CHECK(parse_container_list("docker", "<html>").error().message ==
        "GET /containers/json: the reply is not JSON");
}

TEST_CASE("containers are chosen within max_containers, reproducibly", "[containers]") {
  ContainerResolution r;
  for (char c : std::string("abcd"))
    r.matched.push_back({.runtime = "docker", .id = std::string(64, c), .name = {c}});
  ContainerSelector s;
  s.name = "*";
  s.count = Count{.mode = Count::Mode::Number, .number = 2};
  std::mt19937_64 rng1(7), rng2(7);
  const auto first = choose_containers(r, s, 2, rng1);
  const auto again = choose_containers(r, s, 2, rng2);
  REQUIRE(first);
  REQUIRE(again);
  REQUIRE(first->size() == 2);
  CHECK((*first)[0].id == (*again)[0].id);
  CHECK((*first)[1].id == (*again)[1].id);
  CHECK((*first)[0].id < (*first)[1].id);
  s.count = Count{.mode = Count::Mode::All};
  std::mt19937_64 rng3(7);
  CHECK(choose_containers(r, s, 2, rng3).error().message ==
        "runtime=auto name=* selects 4 containers (all of 4 matching), more than "
        "blast_radius.max_containers allows (2); raise max_containers or select fewer "
        "(count: 1)");
  ContainerResolution none;
  none.excluded.push_back({{.runtime = "docker", .id = "x", .name = "db"},
                           "protected by blast_radius.protected_containers (runtime=auto "
                           "name=db)"});
  none.runtimes.push_back({.runtime = "podman", .source = "podman API at /run/podman/podman.sock",
                           .problem = "no API socket answers there"});
  CHECK(choose_containers(none, s, 1, rng3).error().message ==
        "no running container matches runtime=auto name=*; docker db: protected by "
        "blast_radius.protected_containers (runtime=auto name=db); podman API at "
        "/run/podman/podman.sock: no API socket answers there");
}

}  // namespace
}  // namespace faultline
