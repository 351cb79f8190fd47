#include "controller/report/timeline_svg.h"

#include <algorithm>
#include <cmath>

#include "controller/report/markup.h"
#include "controller/report/report_words.h"

namespace faultline {
namespace {

constexpr double kLeft = 170;   // room for the lanes' names
constexpr double kRight = 20;
constexpr double kAxis = 34;    // phase names and verdicts above the plot
constexpr double kFaultRow = 16;
constexpr double kStrip = 10;   // the checks' pass/fail strip of a lane
constexpr double kLatency = 46;  // the latency plot under it
constexpr double kLaneGap = 14;

struct Scale {
  double x0, width, end_ms;
  double x(double ms) const { return x0 + width * std::clamp(ms, 0.0, end_ms) / end_ms; }
};

std::string clip(std::string_view s, size_t n = 160) {
  return s.size() <= n ? std::string(s) : std::string(s.substr(0, n)) + "...";
}

std::string fmt_seconds(double ms) { return fmt::format("{:.1f} s", ms / 1000.0); }

// Checks run as bars: a run of passes is one green bar, each failure its own red bar with the
// check's observation as its tooltip.
std::string check_strip(const JournalProbe& p, const Scale& sc, double y) {
  std::string out;
  const double step = p.interval_ms > 0 ? p.interval_ms : 1000;
  size_t i = 0;
  while (i < p.checks.size()) {
    const JournalCheck& c = p.checks[i];
    if (c.ok) {
      size_t j = i;
      while (j + 1 < p.checks.size() && p.checks[j + 1].ok) ++j;
      const double x1 = sc.x(c.t_ms), x2 = sc.x(p.checks[j].t_ms + step);
      out += fmt::format(
          "<rect class=\"pass\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{}\"/>", x1, y,
          std::max(1.0, x2 - x1), kStrip);
      i = j + 1;
      continue;
    }
    const double x1 = sc.x(c.t_ms);
    const double w = std::max(1.5, sc.x(c.t_ms + step) - x1);
    out += fmt::format(
        "<rect class=\"{}\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{}\"><title>+{:.2f} "
        "s {}: {}</title></rect>",
        c.could_not_run ? "not-run" : "fail", x1, y, w, kStrip, c.t_ms / 1000.0, p.name,
        escape_xml(clip(c.observed)));
    ++i;
  }
  return out;
}

// The latency line: every check's latency, or per time bucket its lowest and highest (in the
// order they happened) when there are more checks than max_points.
std::string latency_plot(const JournalProbe& p, const Scale& sc, double y, size_t max_points) {
  std::vector<std::pair<double, double>> points;  // t_ms, latency_ms
  for (const JournalCheck& c : p.checks)
    if (c.latency_ms) points.emplace_back(c.t_ms, *c.latency_ms);
  if (points.empty()) return "";
  double top = p.max_latency_ms.value_or(0) * 1.5;
  for (const auto& [t, l] : points) top = std::max(top, l);
  top = std::max(top, 1.0);
  if (points.size() > max_points) {
    const size_t buckets = std::max<size_t>(1, max_points / 2);
    std::vector<std::pair<double, double>> kept;
    size_t start = 0;
    for (size_t b = 0; b < buckets && start < points.size(); ++b) {
      const double until = sc.end_ms * static_cast<double>(b + 1) / static_cast<double>(buckets);
      size_t end = start;
      size_t lo = start, hi = start;
      while (end < points.size() && (points[end].first < until || b + 1 == buckets)) {
        if (points[end].second < points[lo].second) lo = end;
        if (points[end].second > points[hi].second) hi = end;
        ++end;
      }
      if (end == start) continue;
      kept.push_back(points[std::min(lo, hi)]);
      if (lo != hi) kept.push_back(points[std::max(lo, hi)]);
      start = end;
    }
    points = std::move(kept);
  }
  std::string line;
  line.reserve(points.size() * 14);
  for (const auto& [t, l] : points)
    line += fmt::format("{:.1f},{:.1f} ", sc.x(t), y + kLatency - kLatency * l / top);
  std::string out = fmt::format(
      "<polyline class=\"latency\" data-points=\"{}\" points=\"{}\"/>", points.size(), line);
  if (p.max_latency_ms) {
    const double ty = y + kLatency - kLatency * *p.max_latency_ms / top;
    out += fmt::format(
        "<line class=\"threshold\" x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\"/>"
        "<text class=\"small\" x=\"{:.1f}\" y=\"{:.1f}\">max_latency {:.0f} ms</text>",
        sc.x(0), sc.x(sc.end_ms), ty, ty, sc.x(0) + 2, ty - 2, *p.max_latency_ms);
  }
  out += fmt::format("<text class=\"small axis\" x=\"{:.1f}\" y=\"{:.1f}\">{:.0f} ms</text>",
                     sc.x(sc.end_ms) - 2, y + 8, top);
  return out;
}

std::string phase_verdict(const RunJournal& r, Phase phase) {
  size_t judged = 0, failed = 0;
  for (const JournalProbe& p : r.probes)
    for (const JournalPhase& ph : p.phases)
      if (ph.phase == phase && ph.checks > 0) {
        ++judged;
        failed += !ph.ok;
      }
  if (phase != Phase::Before && r.faults_skipped) return "skipped";
  if (judged == 0) return "no checks";
  return failed == 0 ? "held" : fmt::format("deviated ({} of {} probes)", failed, judged);
}

}  // namespace

std::string timeline_svg(const RunJournal& r, const TimelineOptions& options) {
  double end_ms = r.end_ms.value_or(0);
  for (const JournalProbe& p : r.probes)
    if (!p.checks.empty()) end_ms = std::max(end_ms, p.checks.back().t_ms + p.interval_ms);
  for (const JournalFault& f : r.faults)
    end_ms = std::max(end_ms, f.reverted_ms.value_or(f.applied_ms.value_or(0)));
  end_ms = std::max(end_ms, 1.0);
  const Scale sc{kLeft, options.width - kLeft - kRight, end_ms};
  const double faults_top = kAxis;
  const double lanes_top = faults_top + kFaultRow * static_cast<double>(r.faults.size()) + 8;
  const double lane_height = kStrip + 4 + kLatency + kLaneGap;
  const double plot_bottom = lanes_top + lane_height * static_cast<double>(r.probes.size());
  const double height = plot_bottom + 28;

  std::string out = fmt::format(
      "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{:.0f}\" "
      "viewBox=\"0 0 {} {:.0f}\" role=\"img\" aria-label=\"timeline of {}\">",
      options.width, height, options.width, height, escape_xml(r.title));

  // Phases: boundaries, names and verdicts.
  const double d0 = r.during_start_ms.value_or(end_ms), d1 = r.during_end_ms.value_or(end_ms);
  const std::tuple<Phase, double, double> phases[] = {
      {Phase::Before, 0, d0}, {Phase::During, d0, d1}, {Phase::After, d1, end_ms}};
  for (const auto& [phase, from, to] : phases) {
    if (to <= from) continue;
    const std::string verdict = phase_verdict(r, phase);
    out += fmt::format(
        "<g class=\"phase\" data-phase=\"{}\" data-verdict=\"{}\"><rect class=\"phase-{}\" "
        "x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{:.1f}\"/><text x=\"{:.1f}\" y=\"14\">{}"
        "</text><text class=\"small {}\" x=\"{:.1f}\" y=\"27\">{}</text></g>",
        phase_name(phase), escape_xml(verdict), phase_name(phase), sc.x(from), kAxis - 4,
        sc.x(to) - sc.x(from), plot_bottom - kAxis + 4, sc.x(from) + 3, phase_name(phase),
        verdict.starts_with("deviated") ? "bad" : "", sc.x(from) + 3, escape_xml(verdict));
  }
  // Faults: one row per fault and host, its window shaded over the lanes too.
  for (size_t i = 0; i < r.faults.size(); ++i) {
    const JournalFault& f = r.faults[i];
    const double y = faults_top + kFaultRow * static_cast<double>(i);
    const std::string label =
        f.host == "local" ? f.name : fmt::format("{} on {}", f.name, f.host);
    out += fmt::format("<text class=\"small lane-name\" x=\"{:.1f}\" y=\"{:.1f}\">{}</text>",
                       kLeft - 6, y + 11, escape_xml(clip(label, 28)));
    if (!f.applied_ms) continue;
    const double from = sc.x(*f.applied_ms);
    // A one-shot fault (a kill) happens at an instant: a mark, not a window. Its "revert" is
    // only the end of watching for its replacement.
    const double to = f.duration_ms ? sc.x(f.reverted_ms.value_or(end_ms)) : from + 3;
    const std::string when =
        f.duration_ms ? fmt::format("+{:.2f} s to +{:.2f} s", *f.applied_ms / 1000.0,
                                    f.reverted_ms.value_or(end_ms) / 1000.0)
                      : fmt::format("at +{:.2f} s", *f.applied_ms / 1000.0);
    out += fmt::format(
        "<rect class=\"fault-shade\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\"/>"
        "<g class=\"fault-window\" data-fault=\"{}\" data-host=\"{}\"><rect class=\"fault{}\" "
        "x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{}\"><title>{} [{}] {} {}: {}</title></rect><text class=\"small\" x=\"{:.1f}\" y=\"{:.1f}\">{} [{}]</text></g>",
        from, lanes_top, std::max(1.0, to - from), plot_bottom - lanes_top, escape_xml(f.name),
        escape_xml(f.host), f.confirmed ? "" : " unconfirmed", from, y + 1,
        std::max(1.0, to - from), kFaultRow - 3, escape_xml(f.name), escape_xml(f.kind),
        escape_xml(f.host), when, escape_xml(clip(f.summary)), from + 3, y + 11, escape_xml(f.name), escape_xml(f.kind));
  }
  // Lanes.
  for (size_t i = 0; i < r.probes.size(); ++i) {
    const JournalProbe& p = r.probes[i];
    const double y = lanes_top + lane_height * static_cast<double>(i);
    size_t failed = 0;
    for (const JournalCheck& c : p.checks) failed += !c.ok;
    out += fmt::format(
        "<g class=\"lane\" data-probe=\"{}\" data-checks=\"{}\" data-failed=\"{}\">"
        "<text class=\"lane-name\" x=\"{:.1f}\" y=\"{:.1f}\">{}</text>"
        "<text class=\"small lane-name\" x=\"{:.1f}\" y=\"{:.1f}\">{} {}</text>",
        escape_xml(p.name), p.checks.size(), failed, kLeft - 6, y + 10, escape_xml(clip(p.name, 24)),
        kLeft - 6, y + 24, p.type, p.on.empty() ? "" : "on " + escape_xml(p.on));
    out += check_strip(p, sc, y);
    out += latency_plot(p, sc, y + kStrip + 4, options.max_points);
    if (const auto& o = p.longest_outage) {
      const double x1 = sc.x(o->start_ms), x2 = sc.x(o->start_ms + o->length_ms);
      out += fmt::format(
          "<g class=\"outage\"><line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\"/>"
          "<text class=\"small bad\" x=\"{:.1f}\" y=\"{:.1f}\">longest outage {}</text></g>",
          x1, std::max(x2, x1 + 2), y - 2, y - 2, x1, y - 4, fmt_seconds(o->length_ms));
    }
    if (p.recovery && p.recovery->needed && p.recovery->time_to_recover_ms && r.during_end_ms) {
      const double x1 = sc.x(*r.during_end_ms);
      const double x2 = sc.x(*r.during_end_ms + *p.recovery->time_to_recover_ms);
      const double ry = y + kStrip + 4 + kLatency / 2;
      out += fmt::format(
          "<g class=\"recovery\"><line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\"/>"
          "<text class=\"small\" x=\"{:.1f}\" y=\"{:.1f}\">recovered in {}</text></g>",
          x1, std::max(x2, x1 + 2), ry, ry, x2 + 3, ry + 4,
          fmt_seconds(*p.recovery->time_to_recover_ms));
    }
    out += "</g>";
  }
  // Agents' events.
  for (const JournalHostEvent& e : r.host_events) {
    const double x = sc.x(e.at_ms);
    out += fmt::format(
        "<g class=\"host-event\" data-host=\"{}\"><line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{}\" "
        "y2=\"{:.1f}\"/><circle cx=\"{:.1f}\" cy=\"{}\" r=\"4\"><title>{}</title></circle></g>",
        escape_xml(e.host), x, x, kAxis - 4, plot_bottom, x, kAxis - 4,
        escape_xml(describe_event(e)));
  }
  // Time axis.
  const double tick = end_ms <= 20'000     ? 2'000
                      : end_ms <= 120'000  ? 10'000
                      : end_ms <= 600'000  ? 60'000
                      : end_ms <= 3'600'000 ? 300'000
                                            : 1'800'000;
  // At most ~24 ticks, whatever the run's length.
  for (double t = 0, step = std::max(tick, end_ms / 24); t <= end_ms; t += step)
    out += fmt::format("<text class=\"small tick\" x=\"{:.1f}\" y=\"{:.1f}\">+{}</text>", sc.x(t),
                       plot_bottom + 16, format_duration(from_ms(t)));
  out += "</svg>";
  return out;
}

}  // namespace faultline
