// Reports from journals: reading a journal back, and every format made from it, with exact
// values. The fixture is the journal of a real run (tests/controller/fixtures/reports/
// pause-web.yaml: a web server paused for 3 s), whose summary as the run printed it is kept
// beside it.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "controller/report/html_report.h"
#include "controller/report/junit_report.h"
#include "controller/report/markdown_report.h"
#include "controller/report/markup.h"
#include "controller/report/metrics_textfile.h"
#include "controller/report/report_files.h"
#include "controller/report/report_set.h"
#include "controller/report/run_journal.h"
#include "controller/report/text_report.h"
#include "controller/report/timeline_svg.h"

using namespace faultline;

namespace {

const std::string kFixtures = std::string(FAULTLINE_SOURCE_DIR) + "/tests/controller/fixtures/reports/";

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

RunJournal fixture() {
  auto j = read_journal_file(kFixtures + "pause-web.journal.json");
  if (!j) FAIL(j.error().message);
  return *j;
}

nlohmann::json fixture_json() {
  return nlohmann::json::parse(read_text(kFixtures + "pause-web.journal.json"));
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("report: a journal read back gives the run's summary, character for character") {
  REQUIRE(format_text(fixture()) == read_text(kFixtures + "pause-web.summary.txt"));
}

TEST_CASE("report: a journal's fields are read with their values") {
  const RunJournal r = fixture();
  CHECK(r.journal_version == 1);
  CHECK(r.title == "web survives a 3 s pause");
  CHECK(r.status == "deviated");
  CHECK(r.exit_code == 1);
  CHECK(r.seed == 321406638);
  REQUIRE(r.probes.size() == 2);
  CHECK(r.probes[0].type == "http");
  CHECK(r.probes[0].max_latency_ms == 200.0);
  CHECK(r.probes[0].checks.size() == 39);
  REQUIRE(r.probes[1].phases.size() == 3);
  CHECK(r.probes[1].phases[1].phase == Phase::During);
  CHECK(r.probes[1].phases[1].checks == 6);
  CHECK(r.probes[1].phases[1].passed == 3);
  CHECK_FALSE(r.probes[1].phases[1].ok);
  REQUIRE(r.faults.size() == 1);
  CHECK(r.faults[0].kind == "process_pause");
  CHECK(r.faults[0].confirmed);
}

TEST_CASE("report: a journal that is not one is refused with the path of what is wrong") {
  nlohmann::json j = fixture_json();
  j["probes"][1]["checks"][3]["ok"] = "yes";
  auto r = read_journal(j, "run.json");
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "run.json: /probes/1/checks/3/ok: expected a boolean, found string");

  j = fixture_json();
  j["faults"][0].erase("kind");
  r = read_journal(j, "run.json");
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "run.json: /faults/0/kind: missing");

  j = fixture_json();
  j.erase("journal_version");
  r = read_journal(j, "old.json");
  REQUIRE_FALSE(r);
  CHECK(r.error().message ==
        "old.json: not a faultline journal of version 1 (no 'journal_version'; journals written "
        "before faultline 0.2 cannot be read)");

  j["journal_version"] = 7;
  r = read_journal(j, "new.json");
  REQUIRE_FALSE(r);
  CHECK(r.error().message ==
        "new.json: journal_version 7 is not one this faultline reads (1); use the faultline "
        "version that wrote it");

  r = read_journal(nlohmann::json::array(), "list.json");
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "list.json: not a faultline journal (a JSON object)");
}

TEST_CASE("report: JUnit has a case per probe and phase, per fault and for the revert") {
  const std::string xml = format_junit(make_report_set({fixture()}));
  CHECK(count(xml, "<testcase ") == 8);
  CHECK(count(xml, "<failure ") == 1);
  CHECK(xml.find("<testsuite name=\"web survives a 3 s pause\" tests=\"8\" failures=\"1\" "
                 "errors=\"0\" skipped=\"0\" time=\"10.010\" timestamp=\"2026-12-07T03:29:26\" "
                 "hostname=\"vm\">") != std::string::npos);
  CHECK(xml.find("<testcase classname=\"faultline.web-survives-a-3-s-pause.steady-state\" "
                 "name=\"probe port: during the faults\" time=\"3.009\">\n      <failure "
                 "message=\"3/6 checks failed during the faults, allowed 0%; longest outage "
                 "2.00 s from +3.50 s\" type=\"deviation\">") != std::string::npos);
  CHECK(xml.find("name=\"fault freeze-web: applied and confirmed\" time=\"2.994\"/>") !=
        std::string::npos);
  CHECK(xml.find("<property name=\"seed\" value=\"321406638\"/>") != std::string::npos);
}

TEST_CASE("report: JUnit marks a fault that failed to apply as an error, a revert failure as a failure") {
  nlohmann::json j = fixture_json();
  j["faults"][0]["apply_error"] = "no process matches";
  j["faults"][0]["revert_error"] = "cgroup busy";
  const std::string xml = format_junit(make_report_set({*read_journal(j, "j")}));
  CHECK(xml.find("<error message=\"could not apply: no process matches\" type=\"apply_failed\">") !=
        std::string::npos);
  CHECK(xml.find("<failure message=\"could not revert; the host still has the fault (faultline "
                 "recover undoes it)\" type=\"revert_failed\">freeze-web on local: cgroup busy") !=
        std::string::npos);
}

TEST_CASE("report: Markdown leads with the verdict, then the tables") {
  const std::string md = format_markdown(make_report_set({fixture()}));
  CHECK(md.starts_with("## faultline: web survives a 3 s pause\n\n**DEVIATED** (exit 1): probe "
                       "'port' failed 3/6 checks during the faults (allowed 0%)\n"));
  CHECK(md.find("| port | tcp 127.0.0.1:18181 connects | 4/4 ok, p95 0.4 ms | **DEVIATED** 3/6 "
                "ok, p95 0.1 ms (allowed 0% failed) | 10/10 ok, p95 2.2 ms; recovered in 0.49 s "
                "| 2.00 s from +3.50 s |") != std::string::npos);
  CHECK(md.find("| freeze-web | process\\_pause | local | +2.01 s | +5.00 s |") != std::string::npos);
}

TEST_CASE("report: the textfile for node_exporter has one sample per scenario, probe and phase") {
  const std::string prom = format_metrics_textfile(make_report_set({fixture()}));
  CHECK(prom.find("# TYPE faultline_run_exit_code gauge\n"
                  "faultline_run_exit_code{scenario=\"web survives a 3 s pause\"} 1\n") !=
        std::string::npos);
  CHECK(prom.find("faultline_run_time_to_recover_seconds{scenario=\"web survives a 3 s pause\"} "
                  "0.491\n") != std::string::npos);
  CHECK(prom.find("faultline_probe_failure_ratio{scenario=\"web survives a 3 s pause\",probe="
                  "\"port\",phase=\"during\"} 0.5000\n") != std::string::npos);
  CHECK(prom.find("faultline_run_last_timestamp_seconds{scenario=\"web survives a 3 s pause\"} "
                  "1796614176.212\n") != std::string::npos);
  CHECK(count(prom, "faultline_probe_checks{") == 6);
}

TEST_CASE("report: the HTML page is self-contained and draws a lane per probe, a window per fault") {
  const std::string html = format_html(make_report_set({fixture()}));
  CHECK(count(html, "<g class=\"lane\"") == 2);
  CHECK(count(html, "<g class=\"fault-window\"") == 1);
  CHECK(html.find("default-src 'none'") != std::string::npos);
  CHECK(html.find("src=") == std::string::npos);
  CHECK(html.find("href=\"http") == std::string::npos);
  CHECK(html.find("max_latency 200 ms") != std::string::npos);
  CHECK(html.find("data-phase=\"during\" data-verdict=\"deviated (1 of 2 probes)\"") !=
        std::string::npos);
}

TEST_CASE("report: a long lane is drawn smaller, keeping every failure and each bucket's extremes") {
  RunJournal r;
  r.title = "long";
  r.end_ms = 3'600'000;
  JournalProbe p;
  p.name = "api";
  p.type = "http";
  p.interval_ms = 250;
  for (int i = 0; i < 14'400; ++i) {
    JournalCheck c;
    c.t_ms = i * 250.0;
    c.ok = i != 7'777;  // one failed check in an hour
    c.observed = c.ok ? "200" : "HTTP 503";
    c.latency_ms = i == 9'000 ? 950.0 : 10.0 + (i % 7);
    p.checks.push_back(c);
  }
  r.probes.push_back(p);
  const std::string svg = timeline_svg(r, TimelineOptions{.width = 1100, .max_points = 1000});
  CHECK(count(svg, "<rect class=\"fail\"") == 1);
  CHECK(svg.find("+1944.25 s api: HTTP 503") != std::string::npos);
  CHECK(count(svg, "<rect class=\"pass\"") == 2);  // before and after the failure
  // 500 buckets, each its lowest and highest latency.
  CHECK(svg.find("data-points=\"1000\"") != std::string::npos);
  CHECK(svg.find("950 ms</text>") != std::string::npos);  // the spike sets the scale: kept
}

TEST_CASE("report: several journals make one report, a scenario's older journals its history") {
  RunJournal a = fixture();
  RunJournal b = fixture();
  b.started_at = "2026-12-08T03:29:26.202Z";
  b.time_to_recover_ms = 1900;
  b.status = "held";
  b.exit_code = 0;
  RunJournal other = fixture();
  other.title = "another scenario";
  other.status = "revert_failed";
  other.exit_code = 5;
  const ReportSet set = make_report_set({b, other, a}, "nightly");
  REQUIRE(set.scenarios.size() == 2);
  CHECK(set.scenarios[0].run.started_at == "2026-12-08T03:29:26.202Z");
  CHECK(describe_history(set.scenarios[0]) ==
        "time to recover 0.49 s -> 1.90 s over the last 2 runs; verdicts: deviated x1, held x1");
  CHECK(describe_history(set.scenarios[1]) == "");
  CHECK(loudest_exit_code(set) == 5);
  const std::string xml = format_junit(set);
  CHECK(count(xml, "<testsuite ") == 2);
  CHECK(xml.find("<testsuites name=\"nightly\" tests=\"16\" failures=\"2\"") != std::string::npos);
}

TEST_CASE("report: formats by name, and an unknown one names those there are") {
  CHECK(parse_report_format("junit") == ReportFormat::Junit);
  auto bad = parse_report_format("xml");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message ==
        "'xml' is not a report format: use text, json, junit, html, markdown or metrics");
}

TEST_CASE("report: markup escaping keeps XML well-formed whatever a process printed") {
  CHECK(escape_xml("a<b & \"c\" 'd'>") == "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;");
  CHECK(escape_xml("bell\x07 bad\xff ok\xc3\xa9") == "bell\xEF\xBF\xBD bad\xEF\xBF\xBD ok\xc3\xa9");
  CHECK(escape_markdown_cell("a|b\nc_d") == "a\\|b c\\_d");
  CHECK(slug("Nightly game day: web (EU)") == "nightly-game-day-web-eu");
}

TEST_CASE("report: journal files make the same set, the older ones read only for their history") {
  const std::string dir = "/tmp/fl-report-test-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  nlohmann::json older = fixture_json();
  older["started_at"] = "2026-12-01T03:00:00.000Z";
  older["time_to_recover_ms"] = 1900.0;
  older["status"] = "held";
  older["probes"][0]["checks"] = "not read: only the newest journal is read in full";
  std::ofstream(dir + "/older.json") << older.dump();
  std::ofstream(dir + "/newest.json") << fixture_json().dump();
  std::ofstream(dir + "/broken.json") << "{\"journal_version\": 1, ";
  auto set = load_report_set({dir + "/newest.json", dir + "/older.json"});
  REQUIRE(set);
  REQUIRE(set->scenarios.size() == 1);
  CHECK(set->scenarios[0].run.source == dir + "/newest.json");
  CHECK(describe_history(set->scenarios[0]) ==
        "time to recover 1.90 s -> 0.49 s over the last 2 runs; verdicts: deviated x1, held x1");
  auto bad = load_report_set({dir + "/newest.json", dir + "/broken.json", dir + "/none.json"});
  REQUIRE_FALSE(bad);
  INFO(bad.error().message);
  CHECK(bad.error().message.starts_with(dir + "/broken.json: not JSON"));
  CHECK(bad.error().message.find("\n" + dir + "/none.json: cannot read: ") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("report: a one-shot fault (a kill) is drawn as a mark at its instant, not a window") {
  nlohmann::json j = fixture_json();
  j["faults"][0]["kind"] = "process_kill";
  j["faults"][0]["duration_ms"] = nullptr;
  const std::string svg = timeline_svg(*read_journal(j, "j"));
  CHECK(svg.find("<title>freeze-web [process_kill] local at +2.01 s: ") != std::string::npos);
  CHECK(svg.find("width=\"3.0\" height=\"13\"><title>freeze-web") != std::string::npos);
}
