#include "injectors/network/userspace/kernel_queue_counters.h"

#include <catch2/catch.hpp>

using namespace faultline;

TEST_CASE("the kernel's NFQUEUE counters are read from its /proc line", "[packet-queue]") {
  // As nfnetlink_queue prints it: "%5u %6u %5u %1u %5u %5u %5u %8u %2d".
  const char* text =
      "    5 123456     0 2 65535     0     0        7  1\n"
      "64001 4294963292     3 1 65535    90    12      410  1\n";
  const auto q = parse_kernel_queue_counters(text, 64001);
  REQUIRE(q.has_value());
  CHECK(q->queue_dropped == 90);
  CHECK(q->user_dropped == 12);
  const auto five = parse_kernel_queue_counters(text, 5);
  REQUIRE(five.has_value());
  CHECK(five->queue_dropped == 0);
  CHECK_FALSE(parse_kernel_queue_counters(text, 6).has_value());
  CHECK_FALSE(parse_kernel_queue_counters("", 5).has_value());
  CHECK_FALSE(parse_kernel_queue_counters("garbage\n5 x\n", 5).has_value());
}
