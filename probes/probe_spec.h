#pragma once
// A steady-state probe as a scenario (or a RunProbe request) gives it: what to check, what the
// check must observe, how often, in which phases and with which tolerance. Both the controller
// and faultline-agent run probes, so this sits below both.
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "core/duration.h"
#include "core/percent.h"
#include "injectors/process/selector.h"

namespace faultline {

enum class Phase { Before, During, After };
std::string_view phase_name(Phase p);

struct HttpProbe {
  std::string url;
  std::string method = "GET";
  Duration timeout = std::chrono::seconds(1);
};
struct TcpProbe {
  std::string host;
  int port = 0;
  Duration timeout = std::chrono::seconds(1);
};
struct CommandProbe {
  std::string run;  // given to /bin/sh -c
  Duration timeout = std::chrono::seconds(5);
};
struct ProcessProbe {
  ProcessSelector selector;
  std::string target;  // the group it came from, if any
};

// What a check must observe to pass. Which fields apply depends on the probe type.
struct Expectation {
  std::vector<int> status;                  // http: any of these
  std::optional<std::string> body_matches;  // http: regex searched in the body
  std::optional<Duration> max_latency;      // http, tcp
  bool connects = true;                     // tcp
  std::optional<int> exit_code;             // command
  std::optional<std::string> stdout_matches;
  std::optional<int64_t> min_count;  // process
  std::optional<int64_t> max_count;
};

enum class ProbeType { Http, Tcp, Command, Process };

struct ProbeSpec {
  std::string name;
  ProbeType type = ProbeType::Http;
  HttpProbe http;
  TcpProbe tcp;
  CommandProbe command;
  ProcessProbe process;
  Expectation expect;
  Duration interval = std::chrono::seconds(1);
  std::set<Phase> phases = {Phase::Before, Phase::During, Phase::After};
  // The share of checks allowed to fail in each phase.
  Percent tolerance_before{0};
  Percent tolerance_during{0};
  Percent tolerance_after{0};
  // `on:`: the inventory host whose agent runs the probe; "" for the controller itself.
  std::string on;
  SourceLocation on_at;
  SourceLocation at;

  Percent tolerance(Phase p) const {
    return p == Phase::Before   ? tolerance_before
           : p == Phase::During ? tolerance_during
                                : tolerance_after;
  }
};

}  // namespace faultline
