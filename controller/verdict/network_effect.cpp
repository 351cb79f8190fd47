#include "controller/verdict/network_effect.h"

#include <algorithm>
#include <regex>

#include "injectors/network/address.h"

namespace faultline {
namespace {

std::optional<double> median(std::vector<double> v) {
  if (v.empty()) return std::nullopt;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

bool in_cidr(const Cidr& cidr, const Cidr& host) {
  if (cidr.family != host.family) return false;
  for (int bit = 0; bit < cidr.prefix; ++bit) {
    const auto byte = static_cast<size_t>(bit / 8);
    const uint8_t mask = static_cast<uint8_t>(0x80 >> (bit % 8));
    if ((cidr.address[byte] & mask) != (host.address[byte] & mask)) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> probe_address(const ProbeSpec& p) {
  std::string host;
  if (p.type == ProbeType::Tcp) host = p.tcp.host;
  if (p.type == ProbeType::Http) {
    std::smatch m;
    static const std::regex url(R"(^https?://(\[[^\]]+\]|[^/:]+))");
    if (std::regex_search(p.http.url, m, url)) host = m[1];
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || !parse_cidr(host)) return std::nullopt;
  return host;
}

std::vector<NetworkEffect> network_effects(const Scenario& s, const RunRecord& r) {
  std::vector<NetworkEffect> out;
  for (size_t fi = 0; fi < s.faults.size(); ++fi) {
    const FaultSpec& f = s.faults[fi];
    // Probes run in faultline's namespace: a fault acting elsewhere is not seen by them.
    if (f.kind != "network" || !f.target.empty() || f.params.has("netns")) continue;
    // A fault without a target acts on this host only: it has one record.
    auto record = std::find_if(r.faults.begin(), r.faults.end(),
                               [&](const FaultRecord& x) { return x.name == f.name; });
    if (record == r.faults.end() || !record->applied_at) continue;
    const FaultRecord& fr = *record;
    const bool delay = f.params.has("delay");
    const bool loss = f.params.has("loss");
    if (!delay && !loss) continue;
    const Duration end = fr.reverted_at.value_or(r.ended_at.value_or(*fr.applied_at));
    for (size_t pi = 0; pi < s.steady_state.size(); ++pi) {
      auto address = probe_address(s.steady_state[pi]);
      if (!address) continue;
      const Cidr host = *parse_cidr(*address);
      bool in_scope = !f.params.has("destination");
      if (f.params.has("destination"))
        for (const Cidr& c : f.params.cidrs("destination")) in_scope |= in_cidr(c, host);
      if (!in_scope) continue;
      NetworkEffect e;
      e.fault = f.name;
      e.probe = s.steady_state[pi].name;
      std::vector<double> before, during;
      size_t failed = 0;
      for (const CheckRecord& c : r.probes[pi].checks) {
        if (c.phase == Phase::Before && c.ok && c.latency) before.push_back(to_ms(*c.latency));
        if (c.t >= *fr.applied_at && c.t < end) {
          ++e.checks;
          failed += c.ok ? 0 : 1;
          if (c.latency) during.push_back(to_ms(*c.latency));
        }
      }
      if (delay) {
        e.requested_delay = f.params.duration("delay");
        auto b = median(before), d = median(during);
        if (b && d) e.observed_delay_ms = *d - *b;
      }
      if (loss) e.requested_loss = f.params.percent("loss");
      e.observed_failed_percent =
          e.checks == 0 ? 0.0 : 100.0 * static_cast<double>(failed) / static_cast<double>(e.checks);
      out.push_back(std::move(e));
    }
  }
  return out;
}

std::string describe(const NetworkEffect& e) {
  std::string out = fmt::format("probe '{}' during '{}':", e.probe, e.fault);
  if (e.requested_delay)
    out += e.observed_delay_ms
               ? fmt::format(" latency {:+.1f} ms (requested delay {})", *e.observed_delay_ms,
                             format_duration(*e.requested_delay))
               : fmt::format(" no latency to compare (requested delay {})",
                             format_duration(*e.requested_delay));
  out += fmt::format(", {:.0f}% of {} checks failed", e.observed_failed_percent, e.checks);
  if (e.requested_loss)
    out += fmt::format(" (requested loss {})", format_percent(*e.requested_loss));
  return out;
}

}  // namespace faultline
