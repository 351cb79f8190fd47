#include "controller/report/report_set.h"

#include <algorithm>
#include <map>

#include "controller/report/journal_header.h"
#include "controller/verdict/record.h"

namespace faultline {
namespace {

// The title given, else the one scenario's, else a generic one.
std::string title_for(const ReportSet& set, std::string title) {
  if (!title.empty()) return title;
  return set.scenarios.size() == 1 ? set.scenarios.front().run.title : "faultline report";
}

}  // namespace
ReportSet make_report_set(std::vector<RunJournal> journals, std::string title) {
  ReportSet set;
  std::map<std::pair<std::string, std::string>, size_t> place;
  std::vector<std::vector<RunJournal>> groups;
  for (RunJournal& j : journals) {
    const auto key = std::make_pair(j.scenario_file, j.title);
    auto [it, added] = place.emplace(key, groups.size());
    if (added) groups.emplace_back();
    groups[it->second].push_back(std::move(j));
  }
  for (std::vector<RunJournal>& group : groups) {
    std::stable_sort(group.begin(), group.end(), [](const RunJournal& a, const RunJournal& b) {
      return a.started_at < b.started_at;
    });
    ScenarioReport s;
    for (const RunJournal& j : group)
      s.history.push_back(HistoryPoint{j.started_at, j.complete ? j.status : "incomplete", j.seed,
                                       j.time_to_recover_ms});
    s.run = std::move(group.back());
    set.scenarios.push_back(std::move(s));
  }
  set.title = title_for(set, std::move(title));
  return set;
}

std::string describe_history(const ScenarioReport& s) {
  if (s.history.size() < 2) return "";
  std::map<std::string, size_t> verdicts;
  for (const HistoryPoint& p : s.history) ++verdicts[p.status];
  std::vector<std::string> counts;
  for (const auto& [status, n] : verdicts) counts.push_back(fmt::format("{} x{}", status, n));
  const auto ttr = [](const HistoryPoint& p) {
    return p.time_to_recover_ms ? fmt::format("{:.2f} s", *p.time_to_recover_ms / 1000.0)
                                : std::string("none needed");
  };
  return fmt::format("time to recover {} -> {} over the last {} runs; verdicts: {}",
                     ttr(s.history.front()), ttr(s.history.back()), s.history.size(),
                     fmt::join(counts, ", "));
}

int loudest_exit_code(const ReportSet& set) {
  int loudest = 0;
  for (const ScenarioReport& s : set.scenarios) {
    const int code = s.run.complete ? s.run.exit_code.value_or(4) : 4;
    if (loudness(status_from_exit_code(code)) > loudness(status_from_exit_code(loudest)))
      loudest = code;
  }
  return loudest;
}

Result<ReportSet> load_report_set(const std::vector<std::string>& paths, std::string title) {
  std::vector<std::string> problems;
  std::map<std::pair<std::string, std::string>, size_t> place;
  std::vector<std::vector<JournalHeader>> groups;
  for (const std::string& path : paths) {
    auto header = read_journal_header(path);
    if (!header) {
      problems.push_back(header.error().message);
      continue;
    }
    const auto key = std::make_pair(header->scenario_file, header->title);
    auto [it, added] = place.emplace(key, groups.size());
    if (added) groups.emplace_back();
    groups[it->second].push_back(std::move(*header));
  }
  ReportSet set;
  for (std::vector<JournalHeader>& group : groups) {
    std::stable_sort(group.begin(), group.end(), [](const JournalHeader& a, const JournalHeader& b) {
      return a.started_at < b.started_at;
    });
    auto newest = read_journal_file(group.back().path);
    if (!newest) {
      problems.push_back(newest.error().message);
      continue;
    }
    ScenarioReport s;
    for (const JournalHeader& h : group)
      s.history.push_back(HistoryPoint{h.started_at, h.complete ? h.status : "incomplete", h.seed,
                                       h.time_to_recover_ms});
    s.run = std::move(*newest);
    set.scenarios.push_back(std::move(s));
  }
  if (!problems.empty()) return fail("{}", fmt::join(problems, "\n"));
  set.title = title_for(set, std::move(title));
  return set;
}

}  // namespace faultline
