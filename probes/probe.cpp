#include "probes/probe.h"

namespace faultline {

std::string describe_expectation(const ProbeSpec& s) {
  const Expectation& e = s.expect;
  std::string out;
  switch (s.type) {
    case ProbeType::Http:
      out = fmt::format("{} {} -> status {}", s.http.method, s.http.url, fmt::join(e.status, "|"));
      if (e.body_matches) out += fmt::format(", body matches /{}/", *e.body_matches);
      break;
    case ProbeType::Tcp:
      out = fmt::format("tcp {}:{} {}", s.tcp.host, s.tcp.port,
                        e.connects ? "connects" : "refuses or times out");
      break;
    case ProbeType::Command:
      out = fmt::format("`{}` exits {}", s.command.run, e.exit_code.value_or(0));
      if (e.stdout_matches) out += fmt::format(", stdout matches /{}/", *e.stdout_matches);
      break;
    case ProbeType::Process:
      out = fmt::format("processes {}:", s.process.selector.describe());
      if (e.min_count) out += fmt::format(" at least {}", *e.min_count);
      if (e.max_count) out += fmt::format(" at most {}", *e.max_count);
      break;
  }
  if (e.max_latency) out += fmt::format(" within {}", format_duration(*e.max_latency));
  return out;
}

std::unique_ptr<Probe> make_probe(const ProbeSpec& spec) {
  switch (spec.type) {
    case ProbeType::Http:
      return make_http_probe(spec);
    case ProbeType::Tcp:
      return make_tcp_probe(spec);
    case ProbeType::Command:
      return make_command_probe(spec);
    case ProbeType::Process:
      return make_process_probe(spec);
  }
  return nullptr;
}

}  // namespace faultline
