#include "injectors/params/params.h"

#include <csignal>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "core/suggest.h"

namespace faultline {
namespace {

struct SignalName {
  std::string_view name;
  int number;
};

constexpr SignalName kSignals[] = {
    {"SIGHUP", SIGHUP},   {"SIGINT", SIGINT},     {"SIGQUIT", SIGQUIT}, {"SIGILL", SIGILL},
    {"SIGABRT", SIGABRT}, {"SIGBUS", SIGBUS},     {"SIGFPE", SIGFPE},   {"SIGKILL", SIGKILL},
    {"SIGUSR1", SIGUSR1}, {"SIGSEGV", SIGSEGV},   {"SIGUSR2", SIGUSR2}, {"SIGPIPE", SIGPIPE},
    {"SIGALRM", SIGALRM}, {"SIGTERM", SIGTERM},   {"SIGCHLD", SIGCHLD}, {"SIGCONT", SIGCONT},
    {"SIGSTOP", SIGSTOP}, {"SIGTSTP", SIGTSTP},   {"SIGTTIN", SIGTTIN}, {"SIGTTOU", SIGTTOU},
    {"SIGURG", SIGURG},   {"SIGXCPU", SIGXCPU},   {"SIGXFSZ", SIGXFSZ}, {"SIGVTALRM", SIGVTALRM},
    {"SIGPROF", SIGPROF}, {"SIGWINCH", SIGWINCH}, {"SIGIO", SIGIO},     {"SIGPWR", SIGPWR},
    {"SIGSYS", SIGSYS},
};

constexpr int64_t kMaxCpu = 4095;

bool parse_int(std::string_view text, int64_t& out) {
  if (text.empty()) return false;
  size_t i = 0;
  bool negative = false;
  if (text[0] == '-' || text[0] == '+') {
    negative = text[0] == '-';
    i = 1;
  }
  if (i == text.size()) return false;
  int64_t v = 0;
  for (; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    if (v > 1'000'000'000'000LL) return false;
    v = v * 10 + (text[i] - '0');
  }
  out = negative ? -v : v;
  return true;
}

// One letter wrong, missing, extra, or two neighbours swapped ("SIGTREM"). Signal names are short
// and alike, so anything looser suggests nonsense ("SIGFOO" is two letters from "SIGFPE").
bool one_typo_apart(std::string_view a, std::string_view b) {
  if (a.size() > b.size()) std::swap(a, b);
  size_t i = 0;
  while (i < a.size() && a[i] == b[i]) ++i;
  if (b.size() == a.size() + 1) return a.substr(i) == b.substr(i + 1);  // one letter more
  if (b.size() != a.size() || i == a.size()) return false;
  if (a.substr(i + 1) == b.substr(i + 1)) return true;  // one letter different
  return i + 1 < a.size() && a[i] == b[i + 1] && a[i + 1] == b[i] &&
         a.substr(i + 2) == b.substr(i + 2);  // two letters swapped
}

std::string value_text(const ParamValue& v) {
  struct Visitor {
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(Percent p) const { return format_percent(p); }
    std::string operator()(Duration d) const { return format_duration(d); }
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(const CpuList& l) const { return fmt::format("{}", fmt::join(l, ",")); }
    std::string operator()(const Count& c) const { return c.text(); }
    std::string operator()(SignalNumber s) const { return signal_name(s.number); }
    std::string operator()(const CidrList& l) const {
      std::vector<std::string> parts;
      for (const Cidr& c : l) parts.push_back(c.text());
      return fmt::format("{}", fmt::join(parts, ","));
    }
    std::string operator()(ByteSize b) const { return format_byte_size(b); }
    std::string operator()(const PortList& l) const {
      std::vector<std::string> parts;
      for (const PortRange& p : l) parts.push_back(p.text());
      return fmt::format("{}", fmt::join(parts, ","));
    }
  };
  return std::visit(Visitor{}, v);
}

}  // namespace

int64_t Count::of(int64_t available) const {
  switch (mode) {
    case Mode::All:
      return available;
    case Mode::Share:
      if (available == 0) return 0;
      return std::max<int64_t>(1, (available * share.basis_points + 9999) / 10000);
    case Mode::Number:
      break;
  }
  return std::min(number, available);
}

std::string Count::text() const {
  switch (mode) {
    case Mode::All:
      return "all";
    case Mode::Share:
      return format_percent(share);
    case Mode::Number:
      break;
  }
  return std::to_string(number);
}

const ParamValue& Params::at(std::string_view name) const {
  auto it = values_.find(name);
  // Reaching this is a bug in an injector (it asked for a parameter its spec lacks).
  if (it == values_.end()) throw std::logic_error(fmt::format("no parameter '{}'", name));
  return it->second;
}
int64_t Params::integer(std::string_view n) const {
  return std::get<int64_t>(at(n));
}
Percent Params::percent(std::string_view n) const {
  return std::get<Percent>(at(n));
}
Duration Params::duration(std::string_view n) const {
  return std::get<Duration>(at(n));
}
const std::string& Params::text(std::string_view n) const {
  return std::get<std::string>(at(n));
}
const CpuList& Params::cpu_list(std::string_view n) const {
  return std::get<CpuList>(at(n));
}
const Count& Params::count(std::string_view n) const {
  return std::get<Count>(at(n));
}
const CidrList& Params::cidrs(std::string_view n) const {
  return std::get<CidrList>(at(n));
}
const PortList& Params::ports(std::string_view n) const {
  return std::get<PortList>(at(n));
}
int Params::signal(std::string_view n) const {
  return std::get<SignalNumber>(at(n)).number;
}
int64_t Params::bytes(std::string_view n) const {
  return std::get<ByteSize>(at(n)).bytes;
}

nlohmann::json Params::to_json() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, value] : values_) out[name] = value_text(value);
  return out;
}

std::string Params::describe() const {
  std::string out;
  for (const auto& [name, value] : values_) {
    if (!out.empty()) out += ' ';
    out += name + "=" + value_text(value);
  }
  return out;
}

std::string signal_name(int signal) {
  for (const SignalName& s : kSignals)
    if (s.number == signal) return std::string(s.name);
  return fmt::format("signal {}", signal);
}

Result<int> parse_signal(std::string_view text) {
  int64_t number = 0;
  if (parse_int(text, number)) {
    if (number < 1 || number > 64) return fail("signal '{}' is not between 1 and 64", text);
    return static_cast<int>(number);
  }
  std::string upper;
  for (char c : text) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (!upper.starts_with("SIG")) upper = "SIG" + upper;
  for (const SignalName& s : kSignals)
    if (s.name == upper) return s.number;
  std::string suggestion;
  for (const SignalName& s : kSignals)
    if (suggestion.empty() && one_typo_apart(upper, s.name))
      suggestion = fmt::format(" (did you mean '{}'?)", s.name);
  return fail("unknown signal '{}'{}; use a name such as SIGTERM or SIGKILL, or a number", text,
              suggestion);
}

Result<CpuList> parse_cpu_list(std::string_view text) {
  CpuList cpus;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string_view item =
        text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    size_t dash = item.find('-');
    int64_t first = 0, last = 0;
    bool ok = dash == std::string_view::npos ? parse_int(item, first) && (last = first, true)
                                             : parse_int(item.substr(0, dash), first) &&
                                                   parse_int(item.substr(dash + 1), last);
    if (!ok || first < 0)
      return fail("CPU list '{}' is not valid at '{}'; write e.g. 0,2-3", text, item);
    if (last < first)
      return fail("CPU list '{}': the range '{}' runs backwards; write '{}-{}'", text, item, last,
                  first);
    if (last > kMaxCpu)
      return fail("CPU list '{}': CPU {} is above {}, the highest CPU number accepted", text, last,
                  kMaxCpu);
    for (int64_t c = first; c <= last; ++c) cpus.push_back(static_cast<int>(c));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return cpus;
}

Result<ParamValue> parse_param_value(const ParamSpec& spec, std::string_view text) {
  switch (spec.type) {
    case ParamType::Integer: {
      int64_t v = 0;
      if (!parse_int(text, v)) return fail("{} must be a whole number (got '{}')", spec.name, text);
      if (v < spec.min || v > spec.max)
        return fail("{} must be between {} and {} (got {})", spec.name, spec.min, spec.max, v);
      return v;
    }
    case ParamType::Percent: {
      auto p = parse_percent(text);
      if (!p) return fail("{}: {}", spec.name, p.error().message);
      if (p->basis_points < spec.min || p->basis_points > spec.max)
        return fail("{} must be between {} and {} (got {})", spec.name,
                    format_percent(Percent{spec.min}), format_percent(Percent{spec.max}),
                    format_percent(*p));
      return *p;
    }
    case ParamType::TimeSpan: {
      auto d = parse_duration(text);
      if (!d) return fail("{}: {}", spec.name, d.error().message);
      const Duration min = std::chrono::milliseconds(spec.min);
      const Duration max = std::chrono::milliseconds(spec.max);
      if (*d < min || *d > max)
        return fail("{} must be between {} and {} (got {})", spec.name, format_duration(min),
                    format_duration(max), format_duration(*d));
      return *d;
    }
    case ParamType::Signal: {
      auto s = parse_signal(text);
      if (!s) return fail("{}: {}", spec.name, s.error().message);
      return SignalNumber{*s};
    }
    case ParamType::CpuList: {
      auto l = parse_cpu_list(text);
      if (!l) return fail("{}: {}", spec.name, l.error().message);
      return *l;
    }
    case ParamType::Choice: {
      for (std::string_view c : spec.choices)
        if (c == text) return std::string(text);
      return fail("{} must be one of {} (got '{}'){}", spec.name, fmt::join(spec.choices, ", "),
                  text, did_you_mean(text, spec.choices));
    }
    case ParamType::Text: {
      if (text.empty()) return fail("{} must not be empty", spec.name);
      return std::string(text);
    }
    case ParamType::CidrList: {
      auto l = parse_cidr_list(text);
      if (!l) return fail("{}: {}", spec.name, l.error().message);
      return *l;
    }
    case ParamType::PortList: {
      auto l = parse_port_list(text);
      if (!l) return fail("{}: {}", spec.name, l.error().message);
      return *l;
    }
    case ParamType::Bytes: {
      auto b = parse_byte_size(text);
      if (!b) return fail("{}: {}", spec.name, b.error().message);
      if (b->bytes < spec.min || b->bytes > spec.max)
        return fail("{} must be between {} and {} (got {})", spec.name,
                    format_byte_size(ByteSize{spec.min}), format_byte_size(ByteSize{spec.max}),
                    format_byte_size(*b));
      return *b;
    }
    case ParamType::Count: {
      Count c;
      if (text == "all") {
        c.mode = Count::Mode::All;
        return c;
      }
      if (text.ends_with('%')) {
        auto p = parse_percent(text);
        if (!p || p->basis_points <= 0 || p->basis_points > 10000)
          return fail("{} must be a number, 'all' or a share from 0.01% to 100% (got '{}')",
                      spec.name, text);
        c.mode = Count::Mode::Share;
        c.share = *p;
        return c;
      }
      int64_t v = 0;
      if (!parse_int(text, v) || v < 1 || v > spec.max)
        return fail("{} must be a number from 1 to {}, 'all' or a share such as 50% (got '{}')",
                    spec.name, spec.max, text);
      c.number = v;
      return c;
    }
  }
  return fail("{}: unsupported parameter type", spec.name);
}

ParsedParams parse_params(std::span<const ParamSpec> specs, std::span<const RawParam> raw,
                          const SourceLocation& owner_at, std::string_view owner_name) {
  ParsedParams out;
  std::vector<std::string_view> names;
  for (const ParamSpec& s : specs) names.push_back(s.name);
  std::map<std::string, bool, std::less<>> seen;
  for (const RawParam& r : raw) {
    const ParamSpec* spec = nullptr;
    for (const ParamSpec& s : specs)
      if (s.name == r.key) spec = &s;
    if (spec == nullptr) {
      out.errors.push_back(
          {r.key_at, fmt::format("unknown parameter '{}' for {}{}; known: {}", r.key, owner_name,
                                 did_you_mean(r.key, names), fmt::join(names, ", "))});
      continue;
    }
    if (seen[r.key]) {
      out.errors.push_back({r.key_at, fmt::format("parameter '{}' is given twice", r.key)});
      continue;
    }
    seen[r.key] = true;
    auto v = parse_param_value(*spec, r.value);
    if (!v) {
      out.errors.push_back({r.value_at, v.error().message});
      continue;
    }
    out.params.set(r.key, std::move(*v));
  }
  for (const ParamSpec& s : specs) {
    if (seen.contains(s.name)) continue;
    if (!s.default_value.empty()) {
      auto v = parse_param_value(s, s.default_value);
      if (v) out.params.set(std::string(s.name), std::move(*v));
    } else if (!s.optional) {
      out.errors.push_back(
          {owner_at, fmt::format("{} needs the parameter '{}' ({})", owner_name, s.name, s.help)});
    }
  }
  return out;
}

}  // namespace faultline
