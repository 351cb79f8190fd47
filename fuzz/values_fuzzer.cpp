// libFuzzer target: the value parsers behind every scenario field and fault parameter:
// durations, percentages, sizes, rates, CIDRs, ports, CPU lists, signals, and each injector
// parameter through its spec. The first byte picks the parser; the rest is the text. Where a
// parser has a canonical rendering, what it accepted must render and parse back to itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/duration.h"
#include "core/percent.h"
#include "injectors/injector.h"
#include "injectors/network/address.h"
#include "injectors/network/rate.h"
#include "injectors/params/params.h"

using namespace faultline;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

// The value/mask pairs cover the range exactly: aligned blocks, in order, without gaps.
void check_masks(PortRange r) {
  uint32_t next = r.first;
  for (auto [value, mask] : port_range_masks(r)) {
    const uint32_t block = (~static_cast<uint32_t>(mask) & 0xffff) + 1;
    check(value == next && (value & ~mask & 0xffff) == 0);
    next += block;
  }
  check(next == static_cast<uint32_t>(r.last) + 1);
}

void param_values(uint8_t pick, std::string_view text) {
  size_t n = 0;
  for (const InjectorDescriptor& d : all_injectors()) n += d.params.size();
  if (n == 0) return;
  size_t want = pick % n;
  for (const InjectorDescriptor& d : all_injectors())
    for (const ParamSpec& spec : d.params)
      if (want-- == 0) (void)parse_param_value(spec, text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 10) {
    case 0:
      if (auto d = parse_duration(text)) {
        // format_duration shows three decimals of its unit: it reads back to within half of the
        // last digit (exactly, for whole minutes and seconds and below a microsecond).
        auto again = parse_duration(format_duration(*d));
        const int64_t ns = d->count();
        const int64_t slack = ns >= 1'000'000'000 ? 500'000 : ns >= 1'000'000 ? 500 : 0;
        check(again.has_value());
        check(std::abs(again->count() - ns) <= slack);
      }
      break;
    case 1:
      if (auto p = parse_percent(text)) {
        auto again = parse_percent(format_percent(*p));
        check(again && *again == *p);
      }
      break;
    case 2:
      (void)parse_size_bytes(text);
      break;
    case 3:
      if (auto r = parse_rate_bits(text)) (void)format_rate_bits(*r);
      break;
    case 4:
      if (auto c = parse_cidr(text)) {
        auto again = parse_cidr(c->text());
        check(again && *again == *c);
      }
      break;
    case 5:
      if (auto list = parse_cidr_list(text)) check(!list->empty());
      break;
    case 6:
      if (auto ports = parse_port_list(text))
        for (const PortRange& r : *ports) {
          check(r.first <= r.last);
          auto again = parse_port_list(r.text());
          check(again && again->size() == 1 && again->front() == r);
          check_masks(r);
        }
      break;
    case 7:
      (void)parse_cpu_list(text);
      break;
    case 8:
      if (auto s = parse_signal(text)) (void)signal_name(*s);
      break;
    case 9:
      if (!text.empty()) param_values(static_cast<uint8_t>(text[0]), text.substr(1));
      break;
  }
  return 0;
}
