#pragma once
// Which processes a fault or probe means. Every criterion given must match (AND).
#include <memory>
#include <optional>
#include <regex>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"
#include "injectors/process/proc.h"

namespace faultline {

// How much of a command line, response body or command output a regex searches.
inline constexpr size_t kMaxRegexInput = 8192;

// Every regex a user writes (selectors, probe expectations) is compiled with these: libstdc++'s
// polynomial (breadth-first) matcher, so that no pattern can make a check take exponential
// time; it refuses back-references. Validation uses the same flags, so what validates runs.
inline constexpr auto kRegexFlags = std::regex::ECMAScript | std::regex_constants::__polynomial;

struct ProcessSelector {
  std::optional<std::string> name;            // comm, or the base name of argv[0], exactly
  std::optional<std::string> cmdline;         // ECMAScript regex searched in the command line
  std::optional<std::string> pidfile;         // the process whose pid the file holds
  std::optional<std::string> parent_pidfile;  // the children of that process
  std::optional<std::string> cgroup;          // cgroup v2 path; the cgroup and those below it

  bool empty() const { return !name && !cmdline && !pidfile && !parent_pidfile && !cgroup; }
  // "name=nginx cmdline='worker'".
  std::string describe() const;
  // Sets a criterion by its key; false when the key is not a selector key.
  bool set(std::string_view key, std::string value);
};

// How long a selector's fields may be, wherever one comes from (a scenario, the agent's wire).
// std::regex compiles a pattern recursively, a level per nesting: a long one ("((((...")
// overflows the stack of the thread that compiles it. A process name is at most a file name; the
// rest are paths.
inline constexpr size_t kMaxSelectorRegex = 1024;
inline constexpr size_t kMaxSelectorName = 255;
inline constexpr size_t kMaxSelectorPath = 4096;
// The most selectors a scenario's blast_radius.protected may list; the agent takes no more.
inline constexpr size_t kMaxProtectedSelectors = 64;

// The first field of `s` over its limit, as "WHAT.cmdline is longer than 1024 characters"
// (`what` names the selector, e.g. "selector"); nullopt when every field fits.
std::optional<std::string> oversized_selector_field(const ProcessSelector& s,
                                                    std::string_view what);

// The selector keys, as written in scenario files and on the command line.
std::span<const std::string_view> selector_keys();

// A selector whose regex is compiled and whose pid files are read once per match pass.
class ProcessMatcher {
 public:
  static Result<ProcessMatcher> compile(const ProcessSelector& selector);
  // Reads the pid files again (they change when a service restarts).
  void refresh();
  bool matches(const ProcessInfo& p) const;
  const ProcessSelector& selector() const { return selector_; }

 private:
  ProcessSelector selector_;
  std::shared_ptr<const std::regex> cmdline_;
  std::optional<pid_t> pid_;
  std::optional<pid_t> parent_;
  bool pidfile_missing_ = false;
};

}  // namespace faultline
