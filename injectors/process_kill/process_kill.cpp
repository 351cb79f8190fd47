#include "injectors/process_kill/process_kill.h"

#include <poll.h>

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <set>
#include <thread>

#include "injectors/process/pidfd.h"

namespace faultline {
namespace {

constexpr ParamSpec kParams[] = {
    {.name = "signal",
     .type = ParamType::Signal,
     .default_value = "SIGKILL",
     .help = "the signal to send"},
    {.name = "count",
     .type = ParamType::Count,
     .default_value = "1",
     .max = 100000,
     .help = "how many of the matching processes: a number, 'all' or a share like 50%"},
    {.name = "repeat",
     .type = ParamType::TimeSpan,
     .optional = true,
     .min = 10,
     .max = 24LL * 3600 * 1000,
     .help = "kill again at this interval until the duration ends"},
    {.name = "replacement_window",
     .type = ParamType::TimeSpan,
     .default_value = "10s",
     .min = 0,
     .max = 600'000,
     .help = "how long to watch for a replacement process after each kill"},
};

// How long a killed process may take to exit before the kill counts as not confirmed.
constexpr Duration kExitWait = std::chrono::seconds(2);
constexpr Duration kReplacementPoll = std::chrono::milliseconds(5);

struct Victim {
  ProcessInfo process;
  std::optional<Duration> signal_sent_after;  // from the scheduled time
  std::optional<Duration> exited_after;       // from the scheduled time, seen through the pidfd
  std::string error;
  std::optional<pid_t> pid_in_container;  // its pid as `ps` in its container shows it
};

struct Round {
  TimePoint scheduled;
  std::vector<Victim> victims;
  std::vector<std::pair<pid_t, Duration>> replacements;  // pid, time after the last exit
};

class ProcessKill final : public Fault {
 public:
  explicit ProcessKill(FaultRequest request)
      : request_(std::move(request)),
        signal_(request_.params.signal("signal")),
        count_(request_.params.count("count")),
        rng_(request_.seed) {}

  ~ProcessKill() override { (void)revert(); }

  Result<void> prepare() override {
    Resolution r = FL_TRY(resolve_processes(request_.selector, request_.protection));
    // The pidfds are opened now, ahead of the scheduled time, so applying only sends signals.
    auto chosen =
        FL_TRY(choose_targets(r, count_, request_.max_processes, rng_, request_.selector));
    armed_ = FL_TRY(arm(std::move(chosen)));
    // What matched before the kill: anything matching later that is not in here is a replacement.
    before_.clear();
    for (const ProcessInfo& p : r.matched) before_.insert({p.pid, p.start_ticks});
    for (const Excluded& e : r.excluded) before_.insert({e.process.pid, e.process.start_ticks});
    return {};
  }

  Result<void> apply(TimePoint scheduled) override {
    if (armed_.empty()) FL_TRY_VOID(prepare());
    FL_TRY_VOID(kill_round(scheduled, std::exchange(armed_, {})));
    worker_ = std::thread([this, scheduled] { follow_up(scheduled); });
    return {};
  }

  Result<void> revert() override {
    // A kill cannot be undone; reverting ends the repeats and the replacement watch.
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (worker_.joinable()) worker_.join();
    return {};
  }

  nlohmann::json observed() const override {
    std::lock_guard lock(mutex_);
    nlohmann::json rounds = nlohmann::json::array();
    for (const Round& r : rounds_) {
      nlohmann::json victims = nlohmann::json::array();
      for (const Victim& v : r.victims) {
        nlohmann::json j = {{"pid", v.process.pid},
                            {"comm", v.process.comm},
                            {"exited", v.exited_after.has_value()}};
        if (v.signal_sent_after) j["signal_sent_ms"] = to_ms(*v.signal_sent_after);
        if (v.exited_after) j["exit_latency_ms"] = to_ms(*v.exited_after);
        if (!v.error.empty()) j["error"] = v.error;
        if (v.pid_in_container) j["pid_in_container"] = *v.pid_in_container;
        victims.push_back(std::move(j));
      }
      nlohmann::json replacements = nlohmann::json::array();
      for (const auto& [pid, after] : r.replacements)
        replacements.push_back({{"pid", pid}, {"after_ms", to_ms(after)}});
      rounds.push_back({{"victims", victims}, {"replacements", replacements}});
    }
    return {{"signal", signal_name(signal_)}, {"rounds", rounds}};
  }

  std::string summary() const override {
    std::lock_guard lock(mutex_);
    size_t sent = 0, exited = 0, replaced = 0;
    std::vector<double> exit_ms, replace_ms;
    for (const Round& r : rounds_) {
      for (const Victim& v : r.victims) {
        sent += v.signal_sent_after ? 1 : 0;
        if (v.exited_after) {
          ++exited;
          exit_ms.push_back(to_ms(*v.exited_after));
        }
      }
      replaced += r.replacements.size();
      for (const auto& rep : r.replacements) replace_ms.push_back(to_ms(rep.second));
    }
    auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v.empty() ? 0.0 : v[v.size() / 2];
    };
    std::string out = fmt::format("{} to {} ({}): {}/{} exited", signal_name(signal_),
                                  count_.text(), request_.selector.describe(), exited, sent);
    if (!exit_ms.empty()) out += fmt::format(", median {:.2f} ms after schedule", median(exit_ms));
    if (rounds_.size() > 1) out += fmt::format(" over {} rounds", rounds_.size());
    if (replaced > 0)
      out += fmt::format("; replaced {}/{}, median {:.1f} ms after exit", replaced, exited,
                         median(replace_ms));
    else if (exited > 0)
      out += "; no replacement appeared";
    return out;
  }

  bool confirmed() const override {
    std::lock_guard lock(mutex_);
    if (rounds_.empty()) return false;
    for (const Round& r : rounds_)
      for (const Victim& v : r.victims)
        if (!v.exited_after) return false;
    return true;
  }

 private:
  struct Armed {
    ProcessInfo process;
    PidFd fd;
  };

  // Opens a pidfd on each target. One that exited since it was read from /proc makes the
  // choice start over (a few times), rather than being skipped silently.
  Result<std::vector<Armed>> arm(std::vector<ProcessInfo> targets) {
    for (int attempt = 0;; ++attempt) {
      std::vector<Armed> armed;
      bool vanished = false;
      for (ProcessInfo& p : targets) {
        auto fd = PidFd::open(p.pid, p.start_ticks);
        if (!fd) {
          vanished = true;
          break;
        }
        armed.push_back({std::move(p), std::move(*fd)});
      }
      if (!vanished) return armed;
      if (attempt == 3)
        return fail(
            "the targets of {} keep exiting before they can be "
            "signalled",
            request_.selector.describe());
      targets = FL_TRY(choose_again());
    }
  }

  // Signals every target through its pidfd and starts watching them exit.
  Result<void> kill_round(TimePoint scheduled, std::vector<Armed> armed) {
    // A target that exited on its own since it was armed is not ours to count: choose again,
    // a bounded number of times.
    for (int attempt = 0;; ++attempt) {
      bool vanished = false;
      for (const Armed& a : armed) vanished |= a.fd.exited();
      if (!vanished) break;
      if (attempt == 3)
        return record_failed_round(scheduled, fmt::format("the targets of {} keep exiting "
                                                          "before they can be signalled",
                                                          request_.selector.describe()));
      auto chosen = choose_again();
      if (!chosen) return record_failed_round(scheduled, chosen.error().message);
      auto again = arm(std::move(*chosen));
      if (!again) return record_failed_round(scheduled, again.error().message);
      armed = std::move(*again);
    }
    Round round{scheduled, {}, {}};
    std::vector<PidFd> fds;
    for (Armed& a : armed) {
      std::optional<pid_t> inside;
      if (request_.container) inside = pid_in_own_namespace(a.process.pid);
      round.victims.push_back({std::move(a.process), std::nullopt, std::nullopt, "", inside});
      fds.push_back(std::move(a.fd));
    }
    std::string first_error;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (auto sent = fds[i].send_signal(signal_); !sent) {
        round.victims[i].error = sent.error().message;
        if (first_error.empty()) first_error = sent.error().message;
      } else {
        round.victims[i].signal_sent_after = Clock::now() - scheduled;
      }
    }
    {
      std::lock_guard lock(mutex_);
      rounds_.push_back(std::move(round));
      pending_ = std::move(fds);
    }
    if (!first_error.empty()) return fail("{}", first_error);
    return {};
  }

  // A round that could not kill anything is still a round: the journal shows why.
  Result<void> record_failed_round(TimePoint scheduled, const std::string& why) {
    std::lock_guard lock(mutex_);
    Round failed{scheduled, {}, {}};
    failed.victims.push_back({ProcessInfo{}, std::nullopt, std::nullopt, why, std::nullopt});
    rounds_.push_back(std::move(failed));
    pending_.clear();
    return fail("{}", why);
  }

  // Waits for the victims of the last round to exit; stopping early when reverted.
  void await_exits(size_t round_index) {
    std::vector<PidFd> fds;
    {
      std::lock_guard lock(mutex_);
      fds = std::move(pending_);
      pending_.clear();
    }
    const TimePoint scheduled = rounds_[round_index].scheduled;
    const TimePoint give_up = Clock::now() + kExitWait;
    std::vector<pollfd> polls;
    for (const PidFd& fd : fds) polls.push_back({fd.fd(), POLLIN, 0});
    size_t left = polls.size();
    while (left > 0 && Clock::now() < give_up && !stopping()) {
      const int rc = poll(polls.data(), polls.size(), 10);
      const TimePoint now = Clock::now();
      if (rc <= 0) continue;
      std::lock_guard lock(mutex_);
      for (size_t i = 0; i < polls.size(); ++i) {
        if (polls[i].fd >= 0 && (polls[i].revents & POLLIN)) {
          rounds_[round_index].victims[i].exited_after = now - scheduled;
          polls[i].fd = -1;  // poll ignores negative descriptors
          --left;
        }
      }
    }
  }

  // Watches for processes that match the selector and were not there before the kill.
  void watch_replacements(size_t round_index, const std::set<std::pair<pid_t, uint64_t>>& before,
                          size_t wanted) {
    const Duration window = request_.params.duration("replacement_window");
    if (wanted == 0 || window == Duration::zero()) return;
    auto matcher = ProcessMatcher::compile(request_.selector);
    if (!matcher) return;
    TimePoint last_exit{};
    {
      std::lock_guard lock(mutex_);
      const Round& r = rounds_[round_index];
      for (const Victim& v : r.victims)
        if (v.exited_after) last_exit = std::max(last_exit, r.scheduled + *v.exited_after);
    }
    if (last_exit == TimePoint{}) return;
    std::set<pid_t> seen;
    const TimePoint until = last_exit + window;
    while (!stopping() && Clock::now() < until && seen.size() < wanted) {
      matcher->refresh();
      for (const ProcessInfo& p : scan_processes()) {
        if (!matcher->matches(p) || before.contains({p.pid, p.start_ticks}) || seen.contains(p.pid))
          continue;
        seen.insert(p.pid);
        std::lock_guard lock(mutex_);
        rounds_[round_index].replacements.push_back({p.pid, Clock::now() - last_exit});
      }
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, kReplacementPoll, [this] { return stopping_; });
    }
  }

  void follow_up(TimePoint first_scheduled) {
    std::set<std::pair<pid_t, uint64_t>> before = before_;
    for (size_t index = 0;; ++index) {
      await_exits(index);
      size_t exited = 0;
      {
        std::lock_guard lock(mutex_);
        for (const Victim& v : rounds_[index].victims) exited += v.exited_after ? 1 : 0;
      }
      watch_replacements(index, before, exited);
      const auto repeat = request_.params.has("repeat")
                              ? std::optional(request_.params.duration("repeat"))
                              : std::nullopt;
      if (!repeat || !request_.duration) return;
      const TimePoint next = first_scheduled + *repeat * static_cast<int64_t>(index + 1);
      if (next >= first_scheduled + *request_.duration) return;
      {
        std::unique_lock lock(mutex_);
        if (wake_.wait_until(lock, next, [this] { return stopping_; })) return;
      }
      before = matching_now();
      auto targets = choose_again();
      if (!targets) {
        (void)record_failed_round(next, targets.error().message);
        return;
      }
      auto armed = arm(std::move(*targets));
      if (!armed) {
        (void)record_failed_round(next, armed.error().message);
        return;
      }
      if (!kill_round(next, std::move(*armed))) return;
    }
  }

  Result<std::vector<ProcessInfo>> choose_again() {
    Resolution r = FL_TRY(resolve_processes(request_.selector, request_.protection));
    return choose_targets(r, count_, request_.max_processes, rng_, request_.selector);
  }

  std::set<std::pair<pid_t, uint64_t>> matching_now() const {
    std::set<std::pair<pid_t, uint64_t>> out;
    auto matcher = ProcessMatcher::compile(request_.selector);
    if (!matcher) return out;
    for (const ProcessInfo& p : scan_processes())
      if (matcher->matches(p)) out.insert({p.pid, p.start_ticks});
    return out;
  }

  bool stopping() const {
    std::lock_guard lock(mutex_);
    return stopping_;
  }

  const FaultRequest request_;
  const int signal_;
  const Count count_;
  std::mt19937_64 rng_;
  std::vector<Armed> armed_;
  std::set<std::pair<pid_t, uint64_t>> before_;
  std::vector<PidFd> pending_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<Round> rounds_;
  std::thread worker_;
};

Support supported() {
  if (!PidFd::supported())
    return {false, "pidfds are not available (Linux 5.3 or later is needed)"};
  return {};
}

std::vector<std::string> cross_check(const Params& params, std::optional<Duration> duration,
                                     const ProcessSelector&) {
  std::vector<std::string> problems;
  const int sig = params.signal("signal");
  if (sig == SIGSTOP || sig == SIGCONT || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
    problems.push_back(
        fmt::format("process_kill does not send {}; use process_pause to pause "
                    "and resume processes",
                    signal_name(sig)));
  if (params.has("repeat")) {
    if (!duration)
      problems.push_back("repeat needs a duration: the kills repeat until the duration ends");
    else if (params.duration("repeat") >= *duration)
      problems.push_back(fmt::format("repeat ({}) must be shorter than the duration ({})",
                                     format_duration(params.duration("repeat")),
                                     format_duration(*duration)));
  }
  return problems;
}

Result<std::unique_ptr<Fault>> create(FaultRequest request) {
  return std::make_unique<ProcessKill>(std::move(request));
}

}  // namespace

InjectorDescriptor process_kill_descriptor() {
  return {.kind = "process_kill",
          .summary = "send a signal (SIGKILL by default) to matching processes",
          .params = kParams,
          .targets_processes = true,
          .duration = DurationRule::Optional,
          .supported = supported,
          .cross_check = cross_check,
          .create = create};
}

}  // namespace faultline
