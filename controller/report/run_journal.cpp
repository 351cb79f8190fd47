#include "controller/report/run_journal.h"

#include <cmath>
#include <fstream>
#include <sstream>

namespace faultline {
namespace {

// The first problem found while reading, with the JSON path to it; reading goes on with default
// values so that the code below stays a flat list of fields.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  const nlohmann::json* member(const nlohmann::json& object, const std::string& path,
                               const char* key, bool required) {
    if (!object.is_object()) return wrong(path, "an object", object), nullptr;
    const auto it = object.find(key);
    if (it == object.end()) {
      if (required) problem(fmt::format("{}/{}: missing", path, key));
      return nullptr;
    }
    return &*it;
  }

  std::string text(const nlohmann::json& o, const std::string& path, const char* key,
                   bool required = true) {
    const nlohmann::json* v = member(o, path, key, required);
    if (v == nullptr) return {};
    if (!v->is_string()) return wrong(path + "/" + key, "a string", *v), std::string{};
    return v->get<std::string>();
  }
  std::optional<std::string> optional_text(const nlohmann::json& o, const std::string& path,
                                           const char* key) {
    const nlohmann::json* v = member(o, path, key, false);
    if (v == nullptr || v->is_null()) return std::nullopt;
    if (!v->is_string()) return wrong(path + "/" + key, "a string", *v), std::nullopt;
    return v->get<std::string>();
  }
  bool flag(const nlohmann::json& o, const std::string& path, const char* key,
            bool required = true) {
    const nlohmann::json* v = member(o, path, key, required);
    if (v == nullptr) return false;
    if (!v->is_boolean()) return wrong(path + "/" + key, "a boolean", *v), false;
    return v->get<bool>();
  }
  std::optional<double> optional_number(const nlohmann::json& o, const std::string& path,
                                        const char* key, bool required = false) {
    const nlohmann::json* v = member(o, path, key, required);
    if (v == nullptr || v->is_null()) return std::nullopt;
    if (!v->is_number()) return wrong(path + "/" + key, "a number", *v), std::nullopt;
    return in_range(path, key, v->get<double>());
  }
  double number(const nlohmann::json& o, const std::string& path, const char* key) {
    const nlohmann::json* v = member(o, path, key, true);
    if (v == nullptr) return 0;
    if (!v->is_number()) return wrong(path + "/" + key, "a number", *v), 0.0;
    return in_range(path, key, v->get<double>());
  }
  uint64_t count(const nlohmann::json& o, const std::string& path, const char* key,
                 bool required = true) {
    const nlohmann::json* v = member(o, path, key, required);
    if (v == nullptr) return 0;
    if (!v->is_number_integer() || (!v->is_number_unsigned() && v->get<int64_t>() < 0))
      return wrong(path + "/" + key, "a whole number, 0 or more", *v), uint64_t{0};
    return v->get<uint64_t>();
  }
  const nlohmann::json& array(const nlohmann::json& o, const std::string& path, const char* key) {
    static const nlohmann::json empty = nlohmann::json::array();
    const nlohmann::json* v = member(o, path, key, true);
    if (v == nullptr) return empty;
    if (!v->is_array()) return wrong(path + "/" + key, "an array", *v), empty;
    return *v;
  }
  Phase phase(const nlohmann::json& o, const std::string& path, const char* key) {
    const std::string name = text(o, path, key);
    for (Phase p : {Phase::Before, Phase::During, Phase::After})
      if (phase_name(p) == name) return p;
    if (!name.empty())
      problem(fmt::format("{}/{}: '{}' is not a phase (before, during, after)", path, key, name));
    return Phase::Before;
  }

  void problem(std::string message) {
    if (first_.empty()) first_ = std::move(message);
  }
  Result<void> result() const {
    if (first_.empty()) return {};
    return fail("{}: {}", source_, first_);
  }

 private:
  // Times and latencies are milliseconds: more than a million hours is not from a run (and
  // would overflow a Duration when drawn).
  double in_range(const std::string& path, const char* key, double value) {
    if (std::isfinite(value) && std::abs(value) <= kMaxMs) return value;
    problem(fmt::format("{}/{}: {} is out of range (at most {:.0f} ms either way)", path, key,
                        value, kMaxMs));
    return 0;
  }
  static constexpr double kMaxMs = 3.6e12;

  void wrong(const std::string& path, const char* expected, const nlohmann::json& found) {
    problem(fmt::format("{}: expected {}, found {}", path, expected, found.type_name()));
  }

  std::string source_;
  std::string first_;
};

JournalProbe read_probe(Reader& in, const nlohmann::json& p, const std::string& path) {
  JournalProbe probe;
  probe.name = in.text(p, path, "name");
  probe.type = in.text(p, path, "type");
  probe.expected = in.text(p, path, "expected");
  probe.on = in.text(p, path, "on");
  probe.interval_ms = in.number(p, path, "interval_ms");
  probe.max_latency_ms = in.optional_number(p, path, "max_latency_ms", true);
  const nlohmann::json& checks = in.array(p, path, "checks");
  probe.checks.reserve(checks.size());
  for (size_t i = 0; i < checks.size(); ++i) {
    const std::string at = fmt::format("{}/checks/{}", path, i);
    const nlohmann::json& c = checks[i];
    JournalCheck check;
    check.t_ms = in.number(c, at, "t_ms");
    check.phase = in.phase(c, at, "phase");
    check.ok = in.flag(c, at, "ok");
    check.observed = in.text(c, at, "observed");
    check.latency_ms = in.optional_number(c, at, "latency_ms");
    check.could_not_run = in.flag(c, at, "could_not_run", false);
    probe.checks.push_back(std::move(check));
  }
  if (const nlohmann::json* phases = in.member(p, path, "phases", false)) {
    for (Phase ph : {Phase::Before, Phase::During, Phase::After}) {
      const std::string name(phase_name(ph));
      const nlohmann::json* r = in.member(*phases, path + "/phases", name.c_str(), false);
      if (r == nullptr) continue;
      const std::string at = path + "/phases/" + name;
      JournalPhase result;
      result.phase = ph;
      result.checks = in.count(*r, at, "checks");
      result.passed = in.count(*r, at, "passed");
      result.recovering = in.count(*r, at, "recovering", false);
      result.allowed_failed = in.text(*r, at, "allowed_failed");
      result.ok = in.flag(*r, at, "ok");
      result.p95_ms = in.optional_number(*r, at, "p95_ms");
      probe.phases.push_back(std::move(result));
    }
  }
  if (const nlohmann::json* o = in.member(p, path, "longest_outage", false)) {
    const std::string at = path + "/longest_outage";
    probe.longest_outage = JournalOutage{in.number(*o, at, "start_ms"),
                                         in.number(*o, at, "length_ms"),
                                         in.count(*o, at, "failed_checks"), in.flag(*o, at, "ended"),
                                         in.text(*o, at, "first_observed")};
  }
  if (const nlohmann::json* r = in.member(p, path, "recovery", false)) {
    const std::string at = path + "/recovery";
    probe.recovery = JournalRecovery{in.flag(*r, at, "recovered"), in.flag(*r, at, "needed"),
                                     in.optional_number(*r, at, "time_to_recover_ms", true),
                                     in.number(*r, at, "within_ms")};
  }
  return probe;
}

JournalFault read_fault(Reader& in, const nlohmann::json& f, const std::string& at) {
  JournalFault fault;
  fault.name = in.text(f, at, "name");
  fault.kind = in.text(f, at, "kind");
  fault.target = in.text(f, at, "target");
  fault.host = in.text(f, at, "host");
  if (const nlohmann::json* r = in.member(f, at, "requested", true)) fault.requested = *r;
  fault.duration_ms = in.optional_number(f, at, "duration_ms", true);
  fault.scheduled_ms = in.number(f, at, "scheduled_ms");
  fault.applied_ms = in.optional_number(f, at, "applied_ms", true);
  fault.reverted_ms = in.optional_number(f, at, "reverted_ms", true);
  fault.confirmed = in.flag(f, at, "confirmed");
  if (const nlohmann::json* o = in.member(f, at, "observed", true)) fault.observed = *o;
  fault.summary = in.text(f, at, "summary");
  fault.reverted_by_deadline = in.flag(f, at, "reverted_by_deadline", false);
  fault.ended_by = in.text(f, at, "ended_by", false);
  fault.apply_error = in.text(f, at, "apply_error", false);
  fault.revert_error = in.text(f, at, "revert_error", false);
  return fault;
}

}  // namespace

Duration from_ms(double ms) { return Duration(std::llround(ms * 1e6)); }

Result<RunJournal> read_journal(const nlohmann::json& j, const std::string& source) {
  Reader in(source);
  RunJournal r;
  r.source = source;
  if (!j.is_object()) return fail("{}: not a faultline journal (a JSON object)", source);
  if (!j.contains("journal_version"))
    return fail("{}: not a faultline journal of version {} (no 'journal_version'; journals "
                "written before faultline 0.2 cannot be read)",
                source, kJournalVersion);
  const uint64_t version = in.count(j, "", "journal_version");
  if (version != static_cast<uint64_t>(kJournalVersion))
    return fail("{}: journal_version {} is not one this faultline reads ({}); use the faultline "
                "version that wrote it",
                source, version, kJournalVersion);
  r.faultline_version = in.text(j, "", "faultline_version");
  r.host = in.text(j, "", "host");
  if (const nlohmann::json* s = in.member(j, "", "scenario", true)) {
    r.scenario_file = in.text(*s, "/scenario", "file");
    r.title = in.text(*s, "/scenario", "title");
  }
  r.seed = in.count(j, "", "seed");
  r.started_at = in.text(j, "", "started_at");
  r.ended_at = in.optional_text(j, "", "ended_at");
  r.complete = in.flag(j, "", "complete");
  r.status = in.text(j, "", "status");
  if (auto code = in.optional_number(j, "", "exit_code", true)) r.exit_code = static_cast<int>(*code);
  r.reason = in.optional_text(j, "", "reason").value_or("");
  if (const nlohmann::json* ph = in.member(j, "", "phases", true)) {
    r.during_start_ms = in.optional_number(*ph, "/phases", "during_start_ms", true);
    r.during_end_ms = in.optional_number(*ph, "/phases", "during_end_ms", true);
    r.end_ms = in.optional_number(*ph, "/phases", "end_ms", true);
  }
  r.stop_reason = in.optional_text(j, "", "stop_reason");
  r.error = in.text(j, "", "error", false);
  r.faults_skipped = in.flag(j, "", "faults_skipped");
  r.recovery_within_ms = in.number(j, "", "recovery_within_ms");
  const nlohmann::json& probes = in.array(j, "", "probes");
  for (size_t i = 0; i < probes.size(); ++i)
    r.probes.push_back(read_probe(in, probes[i], fmt::format("/probes/{}", i)));
  const nlohmann::json& faults = in.array(j, "", "faults");
  for (size_t i = 0; i < faults.size(); ++i)
    r.faults.push_back(read_fault(in, faults[i], fmt::format("/faults/{}", i)));
  const nlohmann::json& events = in.array(j, "", "host_events");
  for (size_t i = 0; i < events.size(); ++i) {
    const std::string at = fmt::format("/host_events/{}", i);
    r.host_events.push_back(JournalHostEvent{in.text(events[i], at, "host"),
                                             in.number(events[i], at, "at_ms"),
                                             in.text(events[i], at, "what")});
  }
  const nlohmann::json& effects = in.array(j, "", "network_effects");
  for (size_t i = 0; i < effects.size(); ++i) {
    const std::string at = fmt::format("/network_effects/{}", i);
    const nlohmann::json& e = effects[i];
    JournalNetworkEffect effect;
    effect.fault = in.text(e, at, "fault");
    effect.probe = in.text(e, at, "probe");
    effect.checks = in.count(e, at, "checks");
    effect.observed_failed_percent = in.number(e, at, "observed_failed_percent");
    effect.requested_delay_ms = in.optional_number(e, at, "requested_delay_ms");
    effect.observed_added_latency_ms = in.optional_number(e, at, "observed_added_latency_ms");
    effect.requested_loss = in.optional_text(e, at, "requested_loss");
    r.network_effects.push_back(std::move(effect));
  }
  r.time_to_recover_ms = in.optional_number(j, "", "time_to_recover_ms");
  FL_TRY_VOID(in.result());
  return r;
}

Result<RunJournal> read_journal_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail("{}: cannot open: {}", path, std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json document = nlohmann::json::parse(text.str(), nullptr, false);
  if (document.is_discarded())
    return fail("{}: not JSON (a journal is the JSON file `faultline run --journal` writes)",
                path);
  return read_journal(document, path);
}

}  // namespace faultline
