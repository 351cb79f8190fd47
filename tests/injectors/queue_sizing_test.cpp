#include "injectors/network/userspace/queue_sizing.h"

#include <catch2/catch.hpp>

using namespace faultline;
using namespace std::chrono_literals;

TEST_CASE("the userspace queue is sized for rate x delay", "[queue-sizing]") {
  NetemOptions o;
  o.delay = 100ms;
  // 10 Gbit/s for 100 ms is 125 MB: 83334 packets of 1500 bytes (rounded up).
  const QueueSize veth = size_queue(o, std::nullopt, 10'000'000'000ULL, "veth0");
  CHECK(veth.packets == 83334);
  CHECK(veth.reason == "10gbit (veth0's speed) x 100ms = 83334 packets of 1500 bytes");

  // The fault's own rate wins over the interface's: 10 Mbit/s for 100 ms + 4 x 20 ms jitter.
  o.rate_bits = 10'000'000;
  o.jitter = 20ms;
  const QueueSize rated = size_queue(o, std::nullopt, 10'000'000'000ULL, "veth0");
  CHECK(rated.packets == 1000);
  CHECK(rated.reason ==
        "10mbit (the fault's rate) x 180ms = 150 packets of 1500 bytes; raised to the minimum "
        "1000");

  // No speed known: 10 Gbit/s is assumed. An hour's delay is capped.
  NetemOptions hour;
  hour.delay = std::chrono::hours(1);
  const QueueSize capped = size_queue(hour, std::nullopt, std::nullopt, "tun0");
  CHECK(capped.packets == kMaxQueuePackets);
  CHECK(capped.reason ==
        "10gbit (assumed: tun0 reports no speed) x 1h = 3000000000 packets of 1500 bytes; capped "
        "at 1000000");

  // The scenario's limit is taken as given.
  const QueueSize given = size_queue(o, 5000, 10'000'000'000ULL, "veth0");
  CHECK(given.packets == 5000);
  CHECK(given.reason == "limit 5000 (given)");
}
