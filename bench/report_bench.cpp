// What reports cost at the size of a long game day, each against a floor measured in the same
// run:
//   1. a 1-hour run with 4 probes at 1 s (14,400 checks) and 20 faults: the journal read back
//      and every report made and written (text, JSON, JUnit, Markdown, HTML, textfile);
//      floor: writing the journal itself, as the run does at its end;
//   2. the HTML file's size, and headless Chromium loading and drawing it (a screenshot);
//      floor: the same Chromium drawing an empty page;
//   3. `faultline report` of 30 such journals (one scenario's history) to HTML, as a command;
//      floor: `faultline --version`.
//   report_bench FAULTLINE [ROUNDS=5]
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>

#include "bench/bench_util.h"
#include "controller/report/report_files.h"
#include "controller/report/run_journal.h"
#include "core/atomic_file.h"

using namespace faultline;
using Ms = std::chrono::duration<double, std::milli>;

namespace {

std::string iso(int day) { return fmt::format("2026-12-{:02}T02:00:00.000Z", day); }

// A journal as `faultline run` writes it for an hour: probes every second, a fault every
// 3 minutes for 60 s, during which the http probe fails a third of its checks and slows down.
nlohmann::json hour_journal(int day, std::mt19937& random) {
  nlohmann::json j;
  j["journal_version"] = kJournalVersion;
  j["faultline_version"] = "0.2.0";
  j["host"] = "ci-runner-1";
  j["scenario"] = {{"file", "scenarios/nightly.yaml"}, {"title", "an hour of latency faults"}};
  j["seed"] = 1000 + day;
  j["started_at"] = iso(day);
  j["ended_at"] = iso(day);
  j["complete"] = true;
  j["status"] = "deviated";
  j["exit_code"] = 1;
  j["reason"] = "probe 'api' failed 412/1200 checks during the faults (allowed 10%)";
  j["phases"] = {{"before_ms", 0.0},
                 {"during_start_ms", 60'000.0},
                 {"during_end_ms", 3'540'000.0},
                 {"end_ms", 3'600'000.0}};
  j["faults_skipped"] = false;
  j["recovery_within_ms"] = 10'000.0;
  j["time_to_recover_ms"] = 400.0 + 100.0 * day;
  std::uniform_real_distribution<double> jitter(0, 4);
  nlohmann::json probes = nlohmann::json::array();
  const char* names[] = {"api", "web", "db", "queue"};
  for (int p = 0; p < 4; ++p) {
    nlohmann::json checks = nlohmann::json::array();
    for (int i = 0; i < 3600; ++i) {
      const double t = i * 1000.0;
      const bool in_fault = t >= 60'000 && static_cast<int>(t - 60'000) % 180'000 < 60'000;
      const bool ok = !(p == 0 && in_fault && i % 3 == 0);
      const double latency = (in_fault && p < 2 ? 120 : 8) + jitter(random);
      const std::string phase = t < 60'000 ? "before" : t < 3'540'000 ? "during" : "after";
      checks.push_back({{"t_ms", t},
                        {"phase", phase},
                        {"ok", ok},
                        {"observed", ok ? "200" : "Timeout was reached after 300.4 ms"},
                        {"latency_ms", latency}});
    }
    nlohmann::json phases = nlohmann::json::object();
    for (const char* phase : {"before", "during", "after"})
      phases[phase] = {{"checks", 1200}, {"passed", 1200}, {"allowed_failed", "10%"}, {"ok", true}};
    probes.push_back({{"name", names[p]},
                      {"expected", "GET http://127.0.0.1:8080/ -> status 200 within 200ms"},
                      {"type", "http"},
                      {"on", ""},
                      {"interval_ms", 1000.0},
                      {"max_latency_ms", 200.0},
                      {"checks", checks},
                      {"phases", phases},
                      {"longest_outage",
                       {{"start_ms", 60'000.0},
                        {"length_ms", 1000.0},
                        {"failed_checks", 1},
                        {"ended", true},
                        {"first_observed", "Timeout"}}},
                      {"recovery",
                       {{"recovered", true},
                        {"needed", false},
                        {"time_to_recover_ms", 0.0},
                        {"within_ms", 10'000.0}}}});
  }
  j["probes"] = probes;
  nlohmann::json faults = nlohmann::json::array();
  for (int f = 0; f < 20; ++f) {
    const double at = 60'000.0 + f * 180'000.0;
    faults.push_back({{"name", fmt::format("delay-{}", f)},
                      {"kind", "network_delay"},
                      {"target", "api"},
                      {"host", fmt::format("web-{}", f % 4 + 1)},
                      {"requested", {{"delay", "100ms"}}},
                      {"duration_ms", 60'000.0},
                      {"scheduled_ms", at},
                      {"applied_ms", at + 2},
                      {"reverted_ms", at + 60'002},
                      {"confirmed", true},
                      {"observed", nlohmann::json::object()},
                      {"summary", "netem delay 100ms on eth0 to 10.0.0.0/24"}});
  }
  j["faults"] = faults;
  j["host_events"] = nlohmann::json::array();
  j["network_effects"] = nlohmann::json::array();
  return j;
}

template <class F>
bench::Stats time_rounds(int rounds, F&& f) {
  std::vector<double> ms;
  for (int i = 0; i < rounds; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    ms.push_back(Ms(std::chrono::steady_clock::now() - t0).count());
  }
  return bench::stats(ms);
}

// Runs a command to its end (output to /dev/null) and returns its wall time in ms.
double command_ms(const std::vector<std::string>& argv) {
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = bench::spawn(argv);
  int status = 0;
  waitpid(pid, &status, 0);
  const double ms = Ms(std::chrono::steady_clock::now() - t0).count();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    std::fprintf(stderr, "report_bench: `%s` failed (status %d)\n", argv[0].c_str(), status);
  return ms;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: report_bench FAULTLINE [ROUNDS=5]\n");
    return 2;
  }
  const std::string faultline = argv[1];
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
  const std::string dir = fmt::format("/tmp/fl-report-bench-{}", getpid());
  std::filesystem::create_directories(dir + "/history");
  std::mt19937 random(42);

  // 1. One hour: the journal written (floor), then read back and every report written.
  const nlohmann::json hour = hour_journal(1, random);
  std::string journal_text;
  const bench::Stats floor = time_rounds(rounds, [&] {
    journal_text = hour.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    (void)write_file_atomically(dir + "/hour.json", journal_text);
  });
  size_t html_bytes = 0;
  const bench::Stats all = time_rounds(rounds, [&] {
    auto run = read_journal(nlohmann::json::parse(journal_text), "hour.json");
    if (!run) std::fprintf(stderr, "report_bench: %s\n", run.error().message.c_str());
    const ReportSet set = make_report_set({std::move(*run)});
    for (const auto& [format, name] :
         {std::pair{ReportFormat::Text, "hour.txt"}, {ReportFormat::Json, "hour.report.json"},
          {ReportFormat::Junit, "hour.xml"}, {ReportFormat::Markdown, "hour.md"},
          {ReportFormat::Html, "hour.html"}, {ReportFormat::Metrics, "hour.prom"}}) {
      const std::string text = render_report(set, format);
      if (format == ReportFormat::Html) html_bytes = text.size();
      (void)write_file_atomically(dir + "/" + name, text);
    }
  });
  std::printf("1-hour run, 4 probes at 1 s (14,400 checks), 20 faults; journal %.1f MB\n",
              static_cast<double>(journal_text.size()) / 1e6);
  std::printf("  read back + all 6 reports written: median %.1f ms (max %.1f)\n", all.median,
              all.max);
  std::printf("  floor, the journal itself written: median %.1f ms: %.2fx\n", floor.median,
              all.median / floor.median);

  // 2. The HTML page in Chromium, against an empty page.
  std::printf("  HTML %.2f MB\n", static_cast<double>(html_bytes) / 1e6);
  (void)write_file_atomically(dir + "/empty.html", "<!DOCTYPE html><html><body></body></html>\n");
  ::setenv("HOME", dir.c_str(), 1);
  const auto chromium = [&](const std::string& page) {
    return command_ms({"/usr/bin/chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
                       "--no-first-run", "--disable-extensions", "--window-size=1200,1000",
                       "--screenshot=" + dir + "/shot.png", "file://" + dir + "/" + page});
  };
  if (access("/usr/bin/chromium", X_OK) == 0) {
    chromium("empty.html");  // its first start reads more from disk
    std::vector<double> page, empty;
    for (int i = 0; i < rounds; ++i) {
      empty.push_back(chromium("empty.html"));
      page.push_back(chromium("hour.html"));
    }
    const bench::Stats p = bench::stats(page), e = bench::stats(empty);
    std::printf("  Chromium, load and screenshot: median %.0f ms; an empty page %.0f ms: the "
                "report's own load and render %.0f ms\n",
                p.median, e.median, p.median - e.median);
  } else {
    std::printf("  Chromium: not installed (scripts/install-deps.sh installs it)\n");
  }

  // 3. `faultline report` of 30 journals of one scenario.
  std::vector<std::string> report = {faultline, "report", "--format", "html", "--out",
                                   dir + "/history.html"};
  for (int day = 1; day <= 30; ++day) {
    const std::string path = fmt::format("{}/history/{:02}.json", dir, day);
    (void)write_file_atomically(path, hour_journal(day, random).dump(2) + "\n");
    report.push_back(path);
  }
  std::vector<double> report_ms, version_ms;
  for (int i = 0; i < rounds; ++i) {
    version_ms.push_back(command_ms({faultline, "--version"}));
    report_ms.push_back(command_ms(report));
  }
  const bench::Stats r = bench::stats(report_ms), v = bench::stats(version_ms);
  std::printf("faultline report of 30 1-hour journals (%.0f MB) to HTML: median %.0f ms (max "
              "%.0f); faultline --version %.1f ms\n",
              30 * static_cast<double>(journal_text.size()) / 1e6, r.median, r.max, v.median);
  std::filesystem::remove_all(dir);
  return 0;
}
