// Exact percentages, kept as basis points (1% == 100), never as floats.
#include "core/percent.h"

#include <catch2/catch.hpp>

namespace faultline {

TEST_CASE("parse_percent reads whole numbers and up to two decimals exactly", "[percent]") {
  CHECK(parse_percent("12.5%").value() == Percent{1250});
  CHECK(parse_percent("80").value() == Percent{8000});
  CHECK(parse_percent("80%").value() == Percent{8000});
  CHECK(parse_percent("0.01%").value() == Percent{1});
  CHECK(parse_percent("12.05%").value() == Percent{1205});
  CHECK(parse_percent("0%").value() == Percent{0});
  CHECK(parse_percent("100%").value() == Percent{10000});
  CHECK(parse_percent("150%").value() == Percent{15000});  // the range is the caller's to check
  CHECK(Percent::whole(30) == Percent{3000});
}

TEST_CASE("parse_percent refuses what is not an exact percentage, quoting it", "[percent]") {
  CHECK(parse_percent("1.234%").error().message ==
        "percentage '1.234%' has more than two decimals");
  CHECK(parse_percent("-1%").error().message == "percentage '-1%' must not be negative");
  CHECK(parse_percent("half").error().message ==
        "'half' is not a percentage; write e.g. 80% or 12.5%");
  CHECK(parse_percent("%").error().message == "'%' is not a percentage; write e.g. 80% or 12.5%");
  CHECK(parse_percent("").error().message == "'' is not a percentage; write e.g. 80% or 12.5%");
  CHECK(parse_percent("5 %").error().message ==
        "'5 %' is not a percentage; write e.g. 80% or 12.5%");
  CHECK(parse_percent("0.5.1%").error().message ==
        "'0.5.1%' is not a percentage; write e.g. 80% or 12.5%");
}

TEST_CASE("format_percent writes the shortest exact form", "[percent]") {
  CHECK(format_percent(Percent{8000}) == "80%");
  CHECK(format_percent(Percent{1250}) == "12.5%");
  CHECK(format_percent(Percent{1205}) == "12.05%");
  CHECK(format_percent(Percent{1}) == "0.01%");
  CHECK(format_percent(Percent{50}) == "0.5%");
  CHECK(format_percent(Percent{0}) == "0%");
  CHECK(format_percent(Percent{10000}) == "100%");
}

TEST_CASE("format_percent and parse_percent round-trip", "[percent]") {
  for (const char* text : {"0%", "0.01%", "0.5%", "12.05%", "12.5%", "80%", "100%"}) {
    INFO(text);
    CHECK(format_percent(parse_percent(text).value()) == text);
  }
  CHECK(Percent{1250}.as_fraction() == 0.125);
  CHECK(Percent{1250}.as_percent() == 12.5);
}

}  // namespace faultline
