#pragma once
// Fault parameters as data: each injector lists its ParamSpecs (name, type, range, default), and
// one parser turns `key: value` pairs from a scenario file or `key=value` from the command line
// into typed values, so both front ends accept and refuse exactly the same input.
#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/diagnostic.h"
#include "core/byte_size.h"
#include "core/duration.h"
#include "core/percent.h"
#include "injectors/network/address.h"

namespace faultline {

enum class ParamType {
  Integer,   // whole number within [min, max]
  Percent,   // "80" or "80%", within [min, max] given in basis points
  TimeSpan,  // "500ms", within [min, max] given in milliseconds
  Signal,    // "SIGKILL", "KILL", "kill" or "9"
  CpuList,   // "0,2-3"
  Choice,    // one of `choices`
  Count,     // how many of the matching processes: "1", "all" or "50%"
  Text,      // a name, e.g. an interface
  CidrList,  // "10.0.0.0/24,fd00::/64"
  PortList,  // "80,443,8000-8080"
  Bytes,     // "512MiB", "2GiB", "4096" (core/byte_size.h), within [min, max] bytes
};

struct ParamSpec {
  std::string_view name;
  ParamType type;
  std::string_view default_value;  // empty: required, or optional when `optional` is set
  bool optional = false;
  int64_t min = 0;  // see ParamType for the unit
  int64_t max = 0;
  std::span<const std::string_view> choices = {};
  std::string_view help = {};
};

struct Count {
  enum class Mode { Number, All, Share } mode = Mode::Number;
  int64_t number = 1;
  Percent share{};
  // How many of `available` processes this count selects (a share rounds up, at least one).
  int64_t of(int64_t available) const;
  std::string text() const;
};

using CpuList = std::vector<int>;
struct SignalNumber {
  int number = 0;
};
using CidrList = std::vector<Cidr>;
using PortList = std::vector<PortRange>;
using ParamValue = std::variant<int64_t, Percent, Duration, std::string, CpuList, Count,
                                SignalNumber, CidrList, PortList, ByteSize>;

class Params {
 public:
  bool has(std::string_view name) const { return values_.contains(std::string(name)); }
  int64_t integer(std::string_view name) const;
  Percent percent(std::string_view name) const;
  Duration duration(std::string_view name) const;
  const std::string& text(std::string_view name) const;
  const CpuList& cpu_list(std::string_view name) const;
  const Count& count(std::string_view name) const;
  const CidrList& cidrs(std::string_view name) const;
  const PortList& ports(std::string_view name) const;
  int signal(std::string_view name) const;
  int64_t bytes(std::string_view name) const;

  void set(std::string name, ParamValue value) { values_[std::move(name)] = std::move(value); }
  // The values as written by a user, for journals and reports ({"load": "80%", ...}).
  nlohmann::json to_json() const;
  // "load=80% workers=2".
  std::string describe() const;

 private:
  const ParamValue& at(std::string_view name) const;
  std::map<std::string, ParamValue, std::less<>> values_;
  friend struct ParamsAccess;
};

// One `key: value` or `key=value`, with where its key and value were written.
struct RawParam {
  std::string key;
  std::string value;
  SourceLocation key_at;
  SourceLocation value_at;
};

struct ParsedParams {
  Params params;
  Diagnostics errors;
};

// Parses every raw parameter against `specs`; reports unknown keys (with a suggestion), bad
// values and missing required ones (at `owner_at`). Defaults fill in what was not given.
ParsedParams parse_params(std::span<const ParamSpec> specs, std::span<const RawParam> raw,
                          const SourceLocation& owner_at, std::string_view owner_name);

// Parses one value of a given spec; the message names the parameter and quotes the value.
Result<ParamValue> parse_param_value(const ParamSpec& spec, std::string_view text);

// "SIGKILL" for 9; "signal 64" for what has no name.
std::string signal_name(int signal);
Result<int> parse_signal(std::string_view text);

// "0,2-3" -> {0, 2, 3}.
Result<CpuList> parse_cpu_list(std::string_view text);

}  // namespace faultline
