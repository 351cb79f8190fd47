// The scenario parser on inline YAML: what a valid file turns into, field by field; the defaults
// of what a file leaves out; and that a file with several problems reports every one, in order.
#include "controller/scenario/parse.h"

#include <fmt/format.h>

#include <catch2/catch.hpp>

namespace faultline {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

Scenario parse_valid(const std::string& text) {
  ParsedScenario parsed = parse_scenario_text(text, "t.yaml");
  std::string reported;
  for (const Diagnostic& d : parsed.errors) reported += format_diagnostic(d) + "\n";
  INFO(reported);
  REQUIRE(parsed.errors.empty());
  REQUIRE(parsed.scenario.has_value());
  return std::move(*parsed.scenario);
}

std::vector<std::string> diagnostics_of(const std::string& text) {
  const ParsedScenario parsed = parse_scenario_text(text, "t.yaml");
  CHECK_FALSE(parsed.scenario.has_value());
  std::vector<std::string> out;
  for (const Diagnostic& d : parsed.errors) out.push_back(format_diagnostic(d));
  return out;
}

constexpr const char* kFullScenario = R"(version: 1
title: nginx keeps serving
description: the homepage answers while workers die
tags: [demo, nginx]
targets:
  workers:
    host: local
    processes:
      name: nginx
      cmdline: "nginx: worker"
      parent_pidfile: /run/nginx.pid
  box: {host: local}
blast_radius:
  max_duration: 2m
  max_processes: 3
  protected:
    - pidfile: /run/nginx.pid
    - cgroup: /system.slice/sshd.service
phases:
  before: 1.5s
  after: 20s
recovery:
  within: 15s
steady_state:
  - name: homepage
    http: {url: "http://127.0.0.1:8080/", method: HEAD, timeout: 750ms}
    expect: {status: [200, 204], body_matches: "welcome", max_latency: 250ms}
    interval: 200ms
    phases: [before, after]
    tolerance: {before: 0.5%, during: 12.5%, after: 5}
  - name: port
    tcp: {address: "[::1]:5432", timeout: 300ms}
    expect: {connects: false, max_latency: 50ms}
  - name: ready
    command: {run: "pg_isready -h 127.0.0.1", timeout: 2s}
    expect: {exit_code: 3, stdout_matches: "accepting"}
  - name: pool
    process: {target: workers}
    expect: {min_count: 2, max_count: 4}
  - name: no-redis
    process: {name: redis-server}
    expect: {max_count: 0}
stop_when:
  - probe: homepage
    consecutive_failures: 5
  - probe: port
    failed_ratio_above: 50%
    min_checks: 10
faults:
  - name: kill
    target: workers
    at: 1s
    duration: 30s
    process_kill: {signal: term, count: 50%, repeat: 5s}
  - name: burn
    at: 1m30s
    duration: 250ms
    cpu_stress: {load: 80, workers: 2, cpus: 0}
  - name: pause
    target: workers
    at: 0s
    duration: 2s
    process_pause: {count: all}
)";

}  // namespace

TEST_CASE("a full scenario parses into exactly what it says", "[parse]") {
  const Scenario s = parse_valid(kFullScenario);
  CHECK(s.file == "t.yaml");
  CHECK(s.version == 1);
  CHECK(s.title == "nginx keeps serving");
  CHECK(s.description == "the homepage answers while workers die");
  CHECK(s.tags == std::vector<std::string>{"demo", "nginx"});

  SECTION("targets") {
    REQUIRE(s.targets.size() == 2);
    const TargetGroup& workers = s.targets[0];
    CHECK(workers.name == "workers");
    CHECK(workers.host == "local");
    CHECK(workers.processes.name == "nginx");
    CHECK(workers.processes.cmdline == "nginx: worker");
    CHECK(workers.processes.parent_pidfile == "/run/nginx.pid");
    CHECK_FALSE(workers.processes.pidfile.has_value());
    CHECK_FALSE(workers.processes.cgroup.has_value());
    CHECK(workers.at.line == 6);
    CHECK(workers.at.column == 3);
    CHECK(s.targets[1].name == "box");
    CHECK(s.targets[1].processes.empty());
    CHECK(s.target("box") == &s.targets[1]);
    CHECK(s.target("nope") == nullptr);
  }

  SECTION("blast radius, phases and recovery") {
    CHECK(s.blast_radius.max_duration == minutes(2));
    CHECK(s.blast_radius.max_processes == 3);
    REQUIRE(s.blast_radius.protection.selectors.size() == 2);
    CHECK(s.blast_radius.protection.selectors[0].describe() == "pidfile='/run/nginx.pid'");
    CHECK(s.blast_radius.protection.selectors[1].describe() ==
          "cgroup='/system.slice/sshd.service'");
    CHECK(s.before == milliseconds(1500));
    CHECK(s.after == seconds(20));
    CHECK(s.recovery.within == seconds(15));
  }

  SECTION("an http probe") {
    REQUIRE(s.steady_state.size() == 5);
    const ProbeSpec& p = s.steady_state[0];
    CHECK(p.name == "homepage");
    CHECK(p.type == ProbeType::Http);
    CHECK(p.http.url == "http://127.0.0.1:8080/");
    CHECK(p.http.method == "HEAD");
    CHECK(p.http.timeout == milliseconds(750));
    CHECK(p.expect.status == std::vector<int>{200, 204});
    CHECK(p.expect.body_matches == "welcome");
    CHECK(p.expect.max_latency == milliseconds(250));
    CHECK(p.interval == milliseconds(200));
    CHECK(p.phases == std::set<Phase>{Phase::Before, Phase::After});
    CHECK(p.tolerance(Phase::Before) == Percent{50});
    CHECK(p.tolerance(Phase::During) == Percent{1250});
    CHECK(p.tolerance(Phase::After) == Percent{500});
    CHECK(p.at.line == 25);
    CHECK(p.at.column == 5);
  }

  SECTION("a tcp probe, with the defaults of what it leaves out") {
    const ProbeSpec& p = s.steady_state[1];
    CHECK(p.name == "port");
    CHECK(p.type == ProbeType::Tcp);
    CHECK(p.tcp.host == "::1");
    CHECK(p.tcp.port == 5432);
    CHECK(p.tcp.timeout == milliseconds(300));
    CHECK_FALSE(p.expect.connects);
    CHECK(p.expect.max_latency == milliseconds(50));
    CHECK(p.interval == seconds(1));
    CHECK(p.phases == std::set<Phase>{Phase::Before, Phase::During, Phase::After});
    CHECK(p.tolerance(Phase::Before) == Percent{0});
    CHECK(p.tolerance(Phase::During) == Percent{0});
    CHECK(p.tolerance(Phase::After) == Percent{0});
  }

  SECTION("a command probe") {
    const ProbeSpec& p = s.steady_state[2];
    CHECK(p.type == ProbeType::Command);
    CHECK(p.command.run == "pg_isready -h 127.0.0.1");
    CHECK(p.command.timeout == seconds(2));
    CHECK(p.expect.exit_code == 3);
    CHECK(p.expect.stdout_matches == "accepting");
  }

  SECTION("process probes: by target group and by their own selector") {
    const ProbeSpec& pool = s.steady_state[3];
    CHECK(pool.type == ProbeType::Process);
    CHECK(pool.process.target == "workers");
    CHECK(pool.process.selector.describe() ==
          "name='nginx' cmdline='nginx: worker' parent_pidfile='/run/nginx.pid'");
    CHECK(pool.expect.min_count == 2);
    CHECK(pool.expect.max_count == 4);

    const ProbeSpec& none = s.steady_state[4];
    CHECK(none.process.target.empty());
    CHECK(none.process.selector.describe() == "name='redis-server'");
    CHECK_FALSE(none.expect.min_count.has_value());
    CHECK(none.expect.max_count == 0);
    CHECK(s.probe("no-redis") == &none);
  }

  SECTION("stop conditions") {
    REQUIRE(s.stop_when.size() == 2);
    CHECK(s.stop_when[0].probe == "homepage");
    CHECK(s.stop_when[0].consecutive_failures == 5);
    CHECK_FALSE(s.stop_when[0].failed_ratio_above.has_value());
    CHECK(s.stop_when[0].min_checks == 5);
    CHECK(s.stop_when[1].probe == "port");
    CHECK_FALSE(s.stop_when[1].consecutive_failures.has_value());
    CHECK(s.stop_when[1].failed_ratio_above == Percent{5000});
    CHECK(s.stop_when[1].min_checks == 10);
  }

  SECTION("faults, with their parameters and the defaults filled in") {
    REQUIRE(s.faults.size() == 3);
    const FaultSpec& kill = s.faults[0];
    CHECK(kill.name == "kill");
    CHECK(kill.kind == "process_kill");
    CHECK(kill.target == "workers");
    CHECK(kill.at == seconds(1));
    CHECK(kill.duration == seconds(30));
    CHECK(kill.params.describe() == "count=50% repeat=5s replacement_window=10s signal=SIGTERM");
    CHECK(kill.params.signal("signal") == 15);
    CHECK(kill.where.line == 50);
    CHECK(kill.where.column == 5);

    const FaultSpec& burn = s.faults[1];
    CHECK(burn.kind == "cpu_stress");
    CHECK(burn.target.empty());
    CHECK(burn.at == seconds(90));
    CHECK(burn.duration == milliseconds(250));
    CHECK(burn.params.describe() == "cpus=0 load=80% workers=2");
    CHECK(burn.params.percent("load") == Percent{8000});

    const FaultSpec& pause = s.faults[2];
    CHECK(pause.kind == "process_pause");
    CHECK(pause.at == Duration::zero());
    CHECK(pause.duration == seconds(2));
    CHECK(pause.params.describe() == "count=all method=signal");
  }
}

TEST_CASE("what a scenario leaves out gets its documented default", "[parse]") {
  constexpr const char* kMinimal = R"(version: 1
title: minimal
blast_radius: {max_duration: 1m}
steady_state:
  - name: home
    http: {url: "https://example.test/"}
    expect: {status: 200}
faults:
  - {name: burn, at: 0s, duration: 1s, cpu_stress: {}}
)";
  const Scenario s = parse_valid(kMinimal);
  CHECK(s.before == seconds(3));
  CHECK(s.recovery.within == seconds(10));
  CHECK(s.after == seconds(10));  // phases.after defaults to recovery.within
  CHECK(s.blast_radius.max_processes == 1);
  CHECK(s.blast_radius.protection.selectors.empty());
  CHECK(s.description.empty());
  CHECK(s.tags.empty());
  CHECK(s.targets.empty());
  CHECK(s.stop_when.empty());

  REQUIRE(s.steady_state.size() == 1);
  const ProbeSpec& p = s.steady_state[0];
  CHECK(p.http.method == "GET");
  CHECK(p.http.timeout == seconds(1));
  CHECK(p.interval == seconds(1));
  CHECK(p.phases == std::set<Phase>{Phase::Before, Phase::During, Phase::After});
  CHECK_FALSE(p.expect.body_matches.has_value());
  CHECK_FALSE(p.expect.max_latency.has_value());

  REQUIRE(s.faults.size() == 1);
  CHECK(s.faults[0].params.describe() == "load=100% workers=1");

  SECTION("phases.after follows a given recovery.within") {
    const std::string text = std::string(kMinimal) + "recovery: {within: 7s}\n";
    const Scenario r = parse_valid(text);
    CHECK(r.recovery.within == seconds(7));
    CHECK(r.after == seconds(7));
  }
}

TEST_CASE("target groups on inventory hosts, probes on a host, bounds on hosts", "[parse]") {
  const Scenario s = parse_valid(R"(version: 1
title: many hosts
targets:
  app:
    hosts: {labels: {role: app, zone: a}, percent: 30%}
    processes: {name: worker}
  db:
    hosts:
      names: [db-1, db-2]
      labels: {role: db}
      count: 1
  every-cache: {hosts: {names: cache-1}}
  here: {host: local}
blast_radius: {max_duration: 1m, max_hosts: 3, max_host_percent: 12.5%}
steady_state:
  - name: from-web
    on: web-1.lab
    tcp: {address: "10.0.0.21:5432"}
    expect: {connects: true}
faults:
  - {name: kill, target: app, at: 0s, process_kill: {}}
)");
  REQUIRE(s.targets.size() == 4);
  const TargetGroup& app = s.targets[0];
  REQUIRE(app.on_inventory_hosts());
  CHECK(app.hosts->names.empty());
  CHECK(app.hosts->labels == std::map<std::string, std::string>{{"role", "app"}, {"zone", "a"}});
  CHECK(app.hosts->mode == HostSelection::Mode::Percent);
  CHECK(app.hosts->percent == Percent::whole(30));
  CHECK(app.hosts->at.line == 5);
  CHECK(app.hosts->at.column == 12);
  CHECK(app.processes.name == "worker");

  const TargetGroup& db = s.targets[1];
  REQUIRE(db.on_inventory_hosts());
  REQUIRE(db.hosts->names.size() == 2);
  CHECK(db.hosts->names[0].name == "db-1");
  CHECK(db.hosts->names[1].name == "db-2");
  CHECK(db.hosts->names[1].at.line == 9);
  CHECK(db.hosts->names[1].at.column == 21);
  CHECK(db.hosts->labels == std::map<std::string, std::string>{{"role", "db"}});
  CHECK(db.hosts->mode == HostSelection::Mode::Count);
  CHECK(db.hosts->count == 1);

  const TargetGroup& cache = s.targets[2];
  REQUIRE(cache.on_inventory_hosts());
  REQUIRE(cache.hosts->names.size() == 1);
  CHECK(cache.hosts->names[0].name == "cache-1");
  CHECK(cache.hosts->mode == HostSelection::Mode::All);
  CHECK(cache.processes.empty());

  CHECK_FALSE(s.targets[3].on_inventory_hosts());
  CHECK(s.targets[3].host == "local");

  CHECK(s.blast_radius.max_hosts == 3);
  CHECK(s.blast_radius.max_host_percent == Percent{1250});
  REQUIRE(s.steady_state.size() == 1);
  CHECK(s.steady_state[0].on == "web-1.lab");
  CHECK(s.steady_state[0].on_at.line == 17);
  CHECK(s.uses_inventory());
}

TEST_CASE("a scenario on this host alone needs no inventory and keeps its bounds", "[parse]") {
  const Scenario s = parse_valid(R"(version: 1
title: here
targets: {box: {host: local}}
blast_radius: {max_duration: 1m}
faults:
  - {name: burn, target: box, at: 0s, duration: 1s, cpu_stress: {}}
)");
  CHECK_FALSE(s.uses_inventory());
  CHECK(s.steady_state.empty());
  CHECK(s.blast_radius.max_hosts == 1);  // the default, as max_processes
  CHECK_FALSE(s.blast_radius.max_host_percent.has_value());
}

TEST_CASE("a file with several problems reports all of them, sorted by line", "[parse]") {
  // Found in a different order: the dangling references and the run's length are only checked
  // once the whole file is read.
  constexpr const char* kBroken = R"(version: 1
title: many mistakes
blast_radius:
  max_duration: 10s
  max_processes: 0
targets:
  web:
    processes: {name: nginx}
steady_state:
  - name: home
    http: {url: "localhost/"}
    expect: {status: 200}
    interval: 5
stop_when:
  - {probe: hom, consecutive_failures: 3}
faults:
  - name: kill
    target: wbe
    at: 1s
    process_kill: {signal: SIGFOO}
  - name: burn
    at: 0s
    duration: 30s
    cpu_stress: {load: 150%}
)";
  CHECK(diagnostics_of(kBroken) ==
        std::vector<std::string>{
            "t.yaml:4:17: error: the run takes 43s (before 3s + faults 30s + after 10s), longer "
            "than blast_radius.max_duration 10s; shorten the faults or raise max_duration",
            "t.yaml:5:18: error: blast_radius.max_processes must be between 1 and 100000 (got 0)",
            "t.yaml:11:17: error: probe 'home'.http.url 'localhost/' must start with http:// or "
            "https:// (did you mean 'http://localhost/'?)",
            "t.yaml:13:15: error: probe 'home'.interval: duration '5' has no unit; add one of ns, "
            "us, ms, s, m, h (e.g. '5s')",
            "t.yaml:15:13: error: stop_when names probe 'hom', which is not in steady_state (did "
            "you mean 'home'?)",
            "t.yaml:18:13: error: fault 'kill' names target 'wbe', which is not defined in "
            "targets (did you mean 'web'?)",
            "t.yaml:20:28: error: signal: unknown signal 'SIGFOO'; use a name such as SIGTERM or "
            "SIGKILL, or a number",
            "t.yaml:24:24: error: load must be between 1% and 100% (got 150%)",
        });
}

TEST_CASE("errors in YAML syntax are reported alone, with their place", "[parse]") {
  CHECK(diagnostics_of("version: 1\ntitle: \"unclosed\nfaults: []\n") ==
        std::vector<std::string>{"t.yaml:2:8: error: YAML syntax: the quoted string that starts "
                                 "here is never closed; add the closing \""});
  CHECK(diagnostics_of("version: 1\nblast_radius:\n\tmax_duration: 1m\n") ==
        std::vector<std::string>{
            "t.yaml:3:1: error: YAML syntax: a tab indents this line; YAML indents with spaces "
            "only"});
  CHECK(diagnostics_of("") == std::vector<std::string>{"t.yaml:1:1: error: the file is empty; a "
                                                       "scenario starts with 'version: 1'"});
  CHECK(diagnostics_of("version: 1\ntitle: ]\n") ==
        std::vector<std::string>{
            "t.yaml:2:8: error: YAML syntax: did not find expected node content: this closes what "
            "it did not open; close each '[' with ']' and each '{' with '}'"});
}

}  // namespace faultline

TEST_CASE("an exponential chain of YAML aliases is read once, quickly, without a crash") {
  std::string text =
      "version: 1\ntitle: laughs\nblast_radius: {max_duration: 1m}\nfaults:\n"
      "  - {name: b, at: 0s, duration: 1s, cpu_stress: {}}\ndescription: &a0 [x,x,x,x,x,x,x,x,x]\n";
  for (int i = 1; i < 12; ++i) {
    text += "tags" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 9; ++j) text += (j ? ",*a" : "*a") + std::to_string(i - 1);
    text += "]\n";
  }
  const auto start = std::chrono::steady_clock::now();
  const faultline::ParsedScenario p = faultline::parse_scenario_text(text, "t.yaml");
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  CHECK_FALSE(p.scenario);
  REQUIRE(p.errors.size() == 12);
  CHECK(p.errors[0].message == "description must be a single value, not a list");
}
