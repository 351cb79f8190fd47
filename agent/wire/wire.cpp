#include "agent/wire/wire.h"

#include <algorithm>

#include "probes/probe_limits.h"
#include "core/user_regex.h"

namespace faultline::wire {
namespace {

using SystemTime = std::chrono::system_clock::time_point;

int64_t unix_ms(std::optional<SystemTime> t) {
  if (!t) return 0;
  return std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count();
}

// The latest time a SystemTime holds (nanoseconds since 1970: the year 2262), in milliseconds.
constexpr int64_t kMaxUnixMs =
    std::chrono::duration_cast<std::chrono::milliseconds>(SystemTime::duration::max()).count();

// A time from the other end; one past what SystemTime holds is clamped to its end rather than
// overflowing (the fuzzer found 217599998928896 ms, year 8865).
std::optional<SystemTime> from_unix_ms(int64_t ms) {
  if (ms <= 0) return std::nullopt;
  return SystemTime(std::chrono::milliseconds(std::min(ms, kMaxUnixMs)));
}

// The agent never grants a lease over a day (grpc_service.cpp); a larger figure is clamped
// rather than overflowing nanoseconds.
constexpr uint64_t kMaxLeaseMs = 24ULL * 3600 * 1000;

uint64_t ms(Duration d) {
  return static_cast<uint64_t>(to_ms(d));
}

// The limits are the scenario's (probes/probe_limits.h): what validates is taken.
Result<Duration> timeout(std::string_view what, uint64_t value, Duration fallback) {
  if (value == 0) return fallback;
  if (auto problem = probe_limits::timeout_ms_problem(what, value)) return fail(*problem);
  return std::chrono::milliseconds(value);
}

Result<void> within(std::string_view what, std::string_view text, size_t max) {
  if (auto problem = probe_limits::length_problem(what, text, max)) return fail(*problem);
  return {};
}

Result<void> check_regex(const std::optional<std::string>& re, std::string_view what) {
  if (!re) return {};
  FL_TRY_VOID(within(what, *re, probe_limits::kMaxRegex));
  if (auto compiled = UserRegex::compile(*re, what); !compiled)
    return std::unexpected(compiled.error());
  return {};
}

}  // namespace

std::string valid_utf8(std::string_view text) {
  // nlohmann's dump replaces what is not UTF-8 with U+FFFD; the quotes and escapes come off again.
  return nlohmann::json::parse(nlohmann::json(std::string(text))
                                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
      .get<std::string>();
}

v1::ProcessSelector encode(const ProcessSelector& s) {
  v1::ProcessSelector out;
  if (s.name) out.set_name(*s.name);
  if (s.cmdline) out.set_cmdline(*s.cmdline);
  if (s.pidfile) out.set_pidfile(*s.pidfile);
  if (s.parent_pidfile) out.set_parent_pidfile(*s.parent_pidfile);
  if (s.cgroup) out.set_cgroup(*s.cgroup);
  return out;
}

ProcessSelector decode(const v1::ProcessSelector& s) {
  ProcessSelector out;
  if (!s.name().empty()) out.name = s.name();
  if (!s.cmdline().empty()) out.cmdline = s.cmdline();
  if (!s.pidfile().empty()) out.pidfile = s.pidfile();
  if (!s.parent_pidfile().empty()) out.parent_pidfile = s.parent_pidfile();
  if (!s.cgroup().empty()) out.cgroup = s.cgroup();
  return out;
}

void encode_protected(const std::vector<ProcessSelector>& selectors, v1::ApplyRequest& request) {
  for (const ProcessSelector& s : selectors) *request.add_protected_processes() = encode(s);
}

Result<std::vector<ProcessSelector>> decode_protected(const v1::ApplyRequest& request) {
  const auto& given = request.protected_processes();
  if (static_cast<size_t>(given.size()) > kMaxProtectedSelectors)
    return fail("protected_processes has {} selectors; at most {} are taken", given.size(),
                kMaxProtectedSelectors);
  std::vector<ProcessSelector> out;
  out.reserve(static_cast<size_t>(given.size()));
  for (int i = 0; i < given.size(); ++i) {
    const std::string what = fmt::format("protected_processes[{}]", i);
    ProcessSelector s = decode(given[i]);
    if (s.empty()) return fail("{} selects nothing", what);
    if (auto too_long = oversized_selector_field(s, what)) return fail("{}", *too_long);
    if (auto m = ProcessMatcher::compile(s); !m) return fail("{}: {}", what, m.error().message);
    out.push_back(std::move(s));
  }
  return out;
}

v1::ContainerSelector encode(const ContainerSelector& s) {
  v1::ContainerSelector out;
  out.set_runtime(s.runtime);
  if (s.name) out.set_name(*s.name);
  if (s.id) out.set_id(*s.id);
  if (s.image) out.set_image(*s.image);
  for (const auto& [k, v] : s.labels) (*out.mutable_labels())[k] = v;
  if (s.pod_namespace) out.set_pod_namespace(*s.pod_namespace);
  if (s.pod_name) out.set_pod_name(*s.pod_name);
  if (s.pod_container) out.set_pod_container(*s.pod_container);
  out.set_count(s.count.text());
  return out;
}

ContainerSelector decode(const v1::ContainerSelector& s) {
  const auto given = [](const std::string& v) {
    return v.empty() ? std::nullopt : std::optional<std::string>(v);
  };
  ContainerSelector out;
  if (!s.runtime().empty()) out.runtime = s.runtime();
  out.name = given(s.name());
  out.id = given(s.id());
  out.image = given(s.image());
  for (const auto& [k, v] : s.labels()) out.labels[k] = v;
  out.pod_namespace = given(s.pod_namespace());
  out.pod_name = given(s.pod_name());
  out.pod_container = given(s.pod_container());
  return out;
}

void encode(const ContainerTargets& targets, v1::ApplyRequest& request) {
  if (targets.containers) *request.mutable_containers() = encode(*targets.containers);
  request.set_max_containers(targets.max_containers);
  for (const ContainerSelector& s : targets.protected_containers)
    *request.add_protected_containers() = encode(s);
}

Result<ContainerTargets> decode_container_targets(const v1::ApplyRequest& request) {
  ContainerTargets out;
  if (request.has_containers()) {
    ContainerSelector s = decode(request.containers());
    // The scenario's limits for count (controller/scenario/parse_containers.cpp), and the
    // parameter parser's words for a bad one.
    static constexpr ParamSpec kCount{
        .name = "containers.count", .type = ParamType::Count, .max = 100000};
    if (const std::string& count = request.containers().count(); !count.empty()) {
      auto parsed = parse_param_value(kCount, count.substr(0, 64));
      if (!parsed) return std::unexpected(parsed.error());
      s.count = std::get<Count>(*parsed);
    }
    out.containers = std::move(s);
  }
  out.max_containers = request.max_containers();
  out.protected_containers.reserve(static_cast<size_t>(request.protected_containers_size()));
  for (const v1::ContainerSelector& p : request.protected_containers())
    out.protected_containers.push_back(decode(p));
  return out;
}

v1::FaultStatus encode(const FaultReport& r) {
  v1::FaultStatus out;
  out.set_owner(r.owner);
  out.set_fault_id(r.fault_id);
  out.set_kind(r.kind);
  out.set_active(r.active);
  out.set_applied_at_unix_ms(unix_ms(r.applied_at));
  out.set_reverted_at_unix_ms(unix_ms(r.reverted_at));
  out.set_ended_by(r.ended_by);
  out.set_apply_error(valid_utf8(r.apply_error));
  out.set_revert_error(valid_utf8(r.revert_error));
  // Process names need not be UTF-8; protobuf strings must be.
  out.set_observed_json(r.observed.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  out.set_summary(valid_utf8(r.summary));
  out.set_confirmed(r.confirmed);
  out.set_lease_remaining_ms(ms(r.lease_remaining));
  return out;
}

FaultReport decode(const v1::FaultStatus& s) {
  FaultReport r;
  r.owner = s.owner();
  r.fault_id = s.fault_id();
  r.kind = s.kind();
  r.active = s.active();
  r.applied_at = from_unix_ms(s.applied_at_unix_ms());
  r.reverted_at = from_unix_ms(s.reverted_at_unix_ms());
  r.ended_by = s.ended_by();
  r.apply_error = s.apply_error();
  r.revert_error = s.revert_error();
  r.observed = nlohmann::json::parse(s.observed_json(), nullptr, false);
  if (r.observed.is_discarded()) r.observed = s.observed_json();
  r.summary = s.summary();
  r.confirmed = s.confirmed();
  r.lease_remaining = std::chrono::milliseconds(
      static_cast<int64_t>(std::min(s.lease_remaining_ms(), kMaxLeaseMs)));
  return r;
}

v1::ProbeRequest encode(const ProbeSpec& spec) {
  v1::ProbeRequest out;
  out.set_name(spec.name);
  switch (spec.type) {
    case ProbeType::Http: {
      auto* h = out.mutable_http();
      h->set_url(spec.http.url);
      h->set_method(spec.http.method);
      h->set_timeout_ms(ms(spec.http.timeout));
      break;
    }
    case ProbeType::Tcp: {
      auto* t = out.mutable_tcp();
      t->set_host(spec.tcp.host);
      t->set_port(static_cast<uint32_t>(spec.tcp.port));
      t->set_timeout_ms(ms(spec.tcp.timeout));
      break;
    }
    case ProbeType::Command: {
      auto* c = out.mutable_command();
      c->set_run(spec.command.run);
      c->set_timeout_ms(ms(spec.command.timeout));
      break;
    }
    case ProbeType::Process:
      *out.mutable_process()->mutable_selector() = encode(spec.process.selector);
      break;
  }
  const Expectation& e = spec.expect;
  auto* x = out.mutable_expect();
  for (int s : e.status) x->add_status(s);
  if (e.body_matches) x->set_body_matches(*e.body_matches);
  if (e.max_latency) x->set_max_latency_ms(ms(*e.max_latency));
  x->set_connects(e.connects);
  if (e.exit_code) x->set_exit_code(*e.exit_code);
  if (e.stdout_matches) x->set_stdout_matches(*e.stdout_matches);
  if (e.min_count) x->set_min_count(*e.min_count);
  if (e.max_count) x->set_max_count(*e.max_count);
  return out;
}

Result<ProbeSpec> decode(const v1::ProbeRequest& r) {
  ProbeSpec spec;
  spec.name = r.name().substr(0, 128);
  switch (r.check_case()) {
    case v1::ProbeRequest::kHttp: {
      spec.type = ProbeType::Http;
      const auto& h = r.http();
      if (!h.url().starts_with("http://") && !h.url().starts_with("https://"))
        return fail("http.url '{:.200}' must start with http:// or https://", h.url());
      FL_TRY_VOID(within("http.url", h.url(), probe_limits::kMaxUrl));
      spec.http.url = h.url();
      constexpr std::string_view kMethods[] = {"GET",    "HEAD",    "POST", "PUT",
                                               "DELETE", "OPTIONS", "PATCH"};
      if (!h.method().empty()) {
        if (std::find(std::begin(kMethods), std::end(kMethods), h.method()) == std::end(kMethods))
          return fail("http.method '{:.32}' must be one of {}", h.method(),
                      fmt::join(kMethods, ", "));
        spec.http.method = h.method();
      }
      spec.http.timeout = FL_TRY(timeout("http.timeout_ms", h.timeout_ms(), spec.http.timeout));
      break;
    }
    case v1::ProbeRequest::kTcp: {
      spec.type = ProbeType::Tcp;
      const auto& t = r.tcp();
      if (t.host().empty()) return fail("tcp.host is empty");
      FL_TRY_VOID(within("tcp.host", t.host(), probe_limits::kMaxHost));
      if (t.port() < 1 || t.port() > 65535) return fail("tcp.port {} is not 1 to 65535", t.port());
      spec.tcp.host = t.host();
      spec.tcp.port = static_cast<int>(t.port());
      spec.tcp.timeout = FL_TRY(timeout("tcp.timeout_ms", t.timeout_ms(), spec.tcp.timeout));
      break;
    }
    case v1::ProbeRequest::kCommand: {
      spec.type = ProbeType::Command;
      const auto& c = r.command();
      if (c.run().empty()) return fail("command.run is empty");
      FL_TRY_VOID(within("command.run", c.run(), probe_limits::kMaxCommand));
      spec.command.run = c.run();
      spec.command.timeout =
          FL_TRY(timeout("command.timeout_ms", c.timeout_ms(), spec.command.timeout));
      break;
    }
    case v1::ProbeRequest::kProcess: {
      spec.type = ProbeType::Process;
      spec.process.selector = decode(r.process().selector());
      if (spec.process.selector.empty()) return fail("process.selector selects nothing");
      const ProcessSelector& sel = spec.process.selector;
      FL_TRY_VOID(check_regex(sel.cmdline, "process.selector.cmdline"));
      FL_TRY_VOID(
          within("process.selector.name", sel.name.value_or(""), probe_limits::kMaxSelectorName));
      for (const auto& [key, value] : {std::pair{"pidfile", &sel.pidfile},
                                       {"parent_pidfile", &sel.parent_pidfile},
                                       {"cgroup", &sel.cgroup}})
        FL_TRY_VOID(within(fmt::format("process.selector.{}", key), value->value_or(""),
                           probe_limits::kMaxSelectorPath));
      break;
    }
    case v1::ProbeRequest::CHECK_NOT_SET:
      return fail("the probe has no check: give one of http, tcp, command, process");
  }
  const auto& x = r.expect();
  Expectation& e = spec.expect;
  for (int s : x.status()) {
    if (s < 100 || s > 599) return fail("expect.status {} is not an HTTP status (100 to 599)", s);
    e.status.push_back(s);
  }
  if (spec.type == ProbeType::Http && e.status.empty()) e.status = {200};
  if (x.has_body_matches()) e.body_matches = x.body_matches();
  FL_TRY_VOID(check_regex(e.body_matches, "expect.body_matches"));
  if (x.has_max_latency_ms()) {
    if (auto problem =
            probe_limits::timeout_ms_problem("expect.max_latency_ms", x.max_latency_ms()))
      return fail(*problem);
    e.max_latency = std::chrono::milliseconds(x.max_latency_ms());
  }
  e.connects = x.connects();
  if (x.has_exit_code()) e.exit_code = x.exit_code();
  if (x.has_stdout_matches()) e.stdout_matches = x.stdout_matches();
  FL_TRY_VOID(check_regex(e.stdout_matches, "expect.stdout_matches"));
  if (x.has_min_count()) e.min_count = x.min_count();
  if (x.has_max_count()) e.max_count = x.max_count();
  return spec;
}

}  // namespace faultline::wire
