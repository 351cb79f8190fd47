// Fault parameters as data: signals, CPU lists, counts, and the one parser both the scenario file
// and `faultline inject` go through.
#include "injectors/params/params.h"

#include <catch2/catch.hpp>
#include <csignal>
#include <nlohmann/json.hpp>

namespace faultline {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::string_view kModes[] = {"fast", "slow"};

// A spec shaped like the injectors' own, with one parameter of each kind of requirement.
constexpr ParamSpec kSpecs[] = {
    {.name = "signal",
     .type = ParamType::Signal,
     .default_value = "SIGTERM",
     .help = "the signal to send"},
    {.name = "count",
     .type = ParamType::Count,
     .default_value = "1",
     .max = 100,
     .help = "how many"},
    {.name = "mode", .type = ParamType::Choice, .choices = kModes, .help = "fast or slow"},
    {.name = "every",
     .type = ParamType::TimeSpan,
     .optional = true,
     .min = 10,
     .max = 60'000,
     .help = "how often"},
};

const SourceLocation kOwner{"t.yaml", 3, 5};

RawParam raw(std::string key, std::string value, int line) {
  return {std::move(key), std::move(value), {"t.yaml", line, 7}, {"t.yaml", line, 15}};
}

Count share(int64_t basis_points) {
  Count c;
  c.mode = Count::Mode::Share;
  c.share = Percent{basis_points};
  return c;
}

}  // namespace

TEST_CASE("parse_signal takes names with or without SIG, in any case, and numbers", "[params]") {
  CHECK(parse_signal("SIGKILL").value() == SIGKILL);
  CHECK(parse_signal("KILL").value() == SIGKILL);
  CHECK(parse_signal("kill").value() == SIGKILL);
  CHECK(parse_signal("sigterm").value() == SIGTERM);
  CHECK(parse_signal("9").value() == 9);
  CHECK(parse_signal("64").value() == 64);
}

TEST_CASE("parse_signal refuses what is not a signal, quoting it", "[params]") {
  CHECK(parse_signal("SIGFOO").error().message ==
        "unknown signal 'SIGFOO'; use a name such as SIGTERM or SIGKILL, or a number");
  CHECK(parse_signal("SIGTREM").error().message ==
        "unknown signal 'SIGTREM' (did you mean 'SIGTERM'?); use a name such as SIGTERM or "
        "SIGKILL, or a number");
  CHECK(parse_signal("hup2").error().message ==
        "unknown signal 'hup2' (did you mean 'SIGHUP'?); use a name such as SIGTERM or SIGKILL, "
        "or a number");
  CHECK(parse_signal("0").error().message == "signal '0' is not between 1 and 64");
  CHECK(parse_signal("65").error().message == "signal '65' is not between 1 and 64");
  CHECK(parse_signal("").error().message ==
        "unknown signal ''; use a name such as SIGTERM or SIGKILL, or a number");
}

TEST_CASE("signal_name names what has a name", "[params]") {
  CHECK(signal_name(SIGKILL) == "SIGKILL");
  CHECK(signal_name(SIGSTOP) == "SIGSTOP");
  CHECK(signal_name(64) == "signal 64");
}

TEST_CASE("parse_cpu_list reads single CPUs and ranges", "[params]") {
  CHECK(parse_cpu_list("0,2-3").value() == CpuList{0, 2, 3});
  CHECK(parse_cpu_list("7").value() == CpuList{7});
  CHECK(parse_cpu_list("1-1").value() == CpuList{1});
  CHECK(parse_cpu_list("4095").value() == CpuList{4095});
}

TEST_CASE("parse_cpu_list says what is wrong and how to write it", "[params]") {
  CHECK(parse_cpu_list("3-1").error().message ==
        "CPU list '3-1': the range '3-1' runs backwards; write '1-3'");
  CHECK(parse_cpu_list("0,5-2").error().message ==
        "CPU list '0,5-2': the range '5-2' runs backwards; write '2-5'");
  CHECK(parse_cpu_list("0,,2").error().message ==
        "CPU list '0,,2' is not valid at ''; write e.g. 0,2-3");
  CHECK(parse_cpu_list("0-").error().message ==
        "CPU list '0-' is not valid at '0-'; write e.g. 0,2-3");
  CHECK(parse_cpu_list("0, 1").error().message ==
        "CPU list '0, 1' is not valid at ' 1'; write e.g. 0,2-3");
  CHECK(parse_cpu_list("").error().message == "CPU list '' is not valid at ''; write e.g. 0,2-3");
  CHECK(parse_cpu_list("0-4096").error().message ==
        "CPU list '0-4096': CPU 4096 is above 4095, the highest CPU number accepted");
}

TEST_CASE("Count::of: a number, all, or a share rounded up to at least one", "[params]") {
  Count two;
  two.number = 2;
  CHECK(two.of(5) == 2);
  CHECK(two.of(1) == 1);  // never more than there are
  CHECK(two.of(0) == 0);
  CHECK(two.text() == "2");

  Count all;
  all.mode = Count::Mode::All;
  CHECK(all.of(7) == 7);
  CHECK(all.of(0) == 0);
  CHECK(all.text() == "all");

  CHECK(share(5000).of(3) == 2);  // 1.5 rounds up
  CHECK(share(5000).of(4) == 2);
  CHECK(share(1000).of(3) == 1);  // 0.3 rounds up to one
  CHECK(share(1).of(3) == 1);     // at least one
  CHECK(share(3333).of(3) == 1);  // 0.9999
  CHECK(share(10000).of(3) == 3);
  CHECK(share(5000).of(0) == 0);  // nothing to choose from
  CHECK(share(1250).text() == "12.5%");
}

TEST_CASE("parse_param_value reads counts and checks every type's range", "[params]") {
  const ParamSpec& count = kSpecs[1];
  CHECK(std::get<Count>(parse_param_value(count, "all").value()).mode == Count::Mode::All);
  CHECK(std::get<Count>(parse_param_value(count, "50%").value()).share == Percent{5000});
  CHECK(std::get<Count>(parse_param_value(count, "100").value()).number == 100);
  CHECK(parse_param_value(count, "0").error().message ==
        "count must be a number from 1 to 100, 'all' or a share such as 50% (got '0')");
  CHECK(parse_param_value(count, "101").error().message ==
        "count must be a number from 1 to 100, 'all' or a share such as 50% (got '101')");
  CHECK(parse_param_value(count, "0%").error().message ==
        "count must be a number, 'all' or a share from 0.01% to 100% (got '0%')");
  CHECK(parse_param_value(count, "150%").error().message ==
        "count must be a number, 'all' or a share from 0.01% to 100% (got '150%')");

  const ParamSpec& mode = kSpecs[2];
  CHECK(std::get<std::string>(parse_param_value(mode, "slow").value()) == "slow");
  CHECK(parse_param_value(mode, "fats").error().message ==
        "mode must be one of fast, slow (got 'fats') (did you mean 'fast'?)");

  const ParamSpec& every = kSpecs[3];
  CHECK(std::get<Duration>(parse_param_value(every, "1.5s").value()) == milliseconds(1500));
  CHECK(parse_param_value(every, "5ms").error().message ==
        "every must be between 10ms and 1m (got 5ms)");
  CHECK(parse_param_value(every, "5").error().message ==
        "every: duration '5' has no unit; add one of ns, us, ms, s, m, h (e.g. '5s')");

  const ParamSpec load{.name = "load", .type = ParamType::Percent, .min = 100, .max = 10000};
  CHECK(std::get<Percent>(parse_param_value(load, "80").value()) == Percent{8000});
  CHECK(parse_param_value(load, "150%").error().message ==
        "load must be between 1% and 100% (got 150%)");

  const ParamSpec workers{.name = "workers", .type = ParamType::Integer, .min = 1, .max = 8};
  CHECK(std::get<int64_t>(parse_param_value(workers, "8").value()) == 8);
  CHECK(parse_param_value(workers, "two").error().message ==
        "workers must be a whole number (got 'two')");
  CHECK(parse_param_value(workers, "9").error().message ==
        "workers must be between 1 and 8 (got 9)");

  const ParamSpec bytes{.name = "bytes", .type = ParamType::Bytes, .min = 4096, .max = kGiB};
  CHECK(std::get<ByteSize>(parse_param_value(bytes, "256MiB").value()).bytes == 256 * kMiB);
  CHECK(parse_param_value(bytes, "2GiB").error().message ==
        "bytes must be between 4KiB and 1GiB (got 2GiB)");
  CHECK(parse_param_value(bytes, "lots").error().message ==
        "bytes: 'lots' is not a size; write a whole number of bytes or one with a unit, e.g. "
        "4096, 512MiB, 2GiB (KiB, MiB, GiB, TiB: powers of 1024; kB, MB, GB, TB: of 1000)");
}

TEST_CASE("parse_params fills in defaults and leaves optional parameters out", "[params]") {
  const std::vector<RawParam> given = {raw("mode", "fast", 4)};
  const ParsedParams parsed = parse_params(kSpecs, given, kOwner, "fault 'x'");
  CHECK(parsed.errors.empty());
  CHECK(parsed.params.describe() == "count=1 mode=fast signal=SIGTERM");
  CHECK(parsed.params.signal("signal") == SIGTERM);
  CHECK(parsed.params.count("count").number == 1);
  CHECK_FALSE(parsed.params.has("every"));
  CHECK(parsed.params.to_json().dump() == R"({"count":"1","mode":"fast","signal":"SIGTERM"})");
}

TEST_CASE("parse_params reports unknown, bad, repeated and missing parameters", "[params]") {
  const std::vector<RawParam> given = {
      raw("signl", "SIGKILL", 4),                    // misspelt
      raw("count", "many", 5),                       // a bad value
      raw("every", "2s", 6), raw("every", "3s", 7),  // given twice
  };
  const ParsedParams parsed = parse_params(kSpecs, given, kOwner, "fault 'x'");
  REQUIRE(parsed.errors.size() == 4);

  CHECK(parsed.errors[0].message ==
        "unknown parameter 'signl' for fault 'x' (did you mean 'signal'?); known: signal, count, "
        "mode, every");
  CHECK(parsed.errors[0].where.line == 4);
  CHECK(parsed.errors[0].where.column == 7);  // at the key

  CHECK(parsed.errors[1].message ==
        "count must be a number from 1 to 100, 'all' or a share such as 50% (got 'many')");
  CHECK(parsed.errors[1].where.line == 5);
  CHECK(parsed.errors[1].where.column == 15);  // at the value

  CHECK(parsed.errors[2].message == "parameter 'every' is given twice");
  CHECK(parsed.errors[2].where.line == 7);
  CHECK(parsed.errors[2].where.column == 7);

  CHECK(parsed.errors[3].message == "fault 'x' needs the parameter 'mode' (fast or slow)");
  CHECK(parsed.errors[3].where.line == 3);  // at the owner
  CHECK(parsed.errors[3].where.column == 5);

  // What was good is kept: the first `every`, and the default signal.
  CHECK(parsed.params.duration("every") == seconds(2));
  CHECK(parsed.params.describe() == "every=2s signal=SIGTERM");
}

}  // namespace faultline
