// PacketModel against what netem (net/sched/sch_netem.c) does with the same options. Every run
// has a fixed seed, so each figure below is exact for that seed and the bounds never flake; each
// bound is several standard errors wide (stated beside it) so that a correct model with any
// other seed would pass too, while a model that draws the wrong law would not.
#include "injectors/network/userspace/packet_fate.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <numeric>

#include "injectors/network/userspace/netem_random.h"

namespace faultline {
namespace {

using std::chrono::milliseconds;
constexpr int64_t kMs = 1'000'000;
constexpr int64_t kStart = 5'000 * kMs;  // an arbitrary CLOCK_MONOTONIC reading
constexpr int32_t kMs32 = 1'000'000;
constexpr uint64_t kSeed = 0x5eed;

NetemOptions delayed(int64_t delay_ms, int64_t jitter_ms = 0) {
  NetemOptions o;
  o.delay = milliseconds(delay_ms);
  o.jitter = milliseconds(jitter_ms);
  return o;
}

struct Moments {
  double mean = 0, sd = 0, lag1 = 0;  // lag1: the autocorrelation of neighbours
};

Moments moments(const std::vector<double>& v) {
  Moments m;
  m.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  double var = 0, cov = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    var += (v[i] - m.mean) * (v[i] - m.mean);
    if (i > 0) cov += (v[i] - m.mean) * (v[i - 1] - m.mean);
  }
  m.sd = std::sqrt(var / static_cast<double>(v.size()));
  m.lag1 = cov / var;
  return m;
}

// The delays (release - arrival, in ms) of `n` packets arriving 1 ms apart.
std::vector<double> delays_ms(PacketModel& model, int n) {
  std::vector<double> out;
  for (int i = 0; i < n; ++i) {
    const int64_t arrival = kStart + i * kMs;
    out.push_back(static_cast<double>(model.next(arrival, 100).release_ns - arrival) / kMs);
  }
  return out;
}

// Packets lost out of `n`, with the mean length of the runs of losses.
struct Losses {
  double share = 0, mean_run = 0;
};

Losses losses(PacketModel& model, int n) {
  int lost = 0, runs = 0;
  bool previous = false;
  for (int i = 0; i < n; ++i) {
    const bool drop = model.next(kStart + i * kMs, 100).drop;
    lost += drop;
    runs += drop && !previous;
    previous = drop;
  }
  return {static_cast<double>(lost) / n, static_cast<double>(lost) / runs};
}

double table_sd(const std::vector<int16_t>& table) {
  std::vector<double> values(table.begin(), table.end());
  return moments(values).sd / static_cast<double>(kNetemDistScale);
}

}  // namespace

TEST_CASE("a delay alone releases every packet exactly its delay after it arrived",
          "[packet-fate]") {
  PacketModel model(delayed(100), {}, 14, kSeed);
  for (int64_t arrival : {kStart, kStart + 1, kStart + 7 * kMs + 3, kStart + 7 * kMs + 3}) {
    const PacketFate fate = model.next(arrival, 1500);
    CHECK(fate.release_ns == arrival + 100 * kMs);
    CHECK_FALSE(fate.drop);
    CHECK_FALSE(fate.duplicate);
    CHECK_FALSE(fate.corrupt_bit);
    CHECK_FALSE(fate.reordered);
  }
}

TEST_CASE("the same seed gives the same fates, another seed others", "[packet-fate]") {
  NetemOptions o = delayed(100, 20);
  o.loss = Percent::whole(20);
  PacketModel a(o, {}, 14, 1), b(o, {}, 14, 1), c(o, {}, 14, 2);
  int same = 0;
  for (int i = 0; i < 100; ++i) {
    const PacketFate fa = a.next(kStart + i, 100), fb = b.next(kStart + i, 100),
                     fc = c.next(kStart + i, 100);
    CHECK((fa.drop == fb.drop && fa.release_ns == fb.release_ns));
    same += fa.drop == fc.drop && fa.release_ns == fc.release_ns;
  }
  CHECK(same < 30);  // only packets dropped by both agree
}

TEST_CASE("uniform jitter: delays spread evenly over delay +- jitter", "[packet-fate]") {
  PacketModel model(delayed(100, 20), {}, 14, kSeed);
  const std::vector<double> d = delays_ms(model, 100'000);
  const Moments m = moments(d);
  // tabledist without a table: rnd % 40'000'000 ns, uniform in [80, 120) ms, sd 20/sqrt(3) ms.
  // The seed gives mean 99.951 ms and sd 11.562 ms. One standard error: 0.037 ms for the mean,
  // 0.14% for the sd (the uniform law's fourth moment); the bounds are 5 and 7 of them.
  CHECK(m.mean == Approx(100.0).margin(0.2));
  CHECK(m.sd == Approx(20.0 / std::sqrt(3.0)).epsilon(0.01));
  CHECK(*std::min_element(d.begin(), d.end()) >= 80.0);
  CHECK(*std::max_element(d.begin(), d.end()) < 120.0);
}

TEST_CASE("the normal and pareto tables shape the jitter as their values say", "[packet-fate]") {
  for (const char* name : {"normal", "pareto", "paretonormal"}) {
    INFO(name);
    const auto table = read_distribution(name);
    REQUIRE(table.has_value());
    NetemOptions o = delayed(100, 20);
    o.distribution = name;
    PacketModel model(o, *table, 14, kSeed);
    const Moments m = moments(delays_ms(model, 100'000));
    // The tables hold values in 1/8192 standard deviations, 4096 of them, drawn evenly
    // (4096 divides 2^32): the delays' sd is the table's sd times the jitter. Measured on
    // iproute2's tables: normal 1.00005, pareto 0.81968, paretonormal 0.83394 (pareto is cut at
    // 32767 and its mean is -0.0335). One standard error of the sd: 0.22% for normal, 0.51% for
    // pareto (kurtosis 11.4), 0.41% for paretonormal; of the mean at most 0.063 ms. The bounds,
    // 2% and 0.3 ms, are at least 3.9 and 4.7 of them; the seed's sds land within 0.07%, 0.45%
    // and 0.36%, its means within 0.05 ms.
    const double expected_sd = 20.0 * table_sd(*table);
    std::vector<double> values(table->begin(), table->end());
    const double expected_mean =
        100.0 + 20.0 * moments(values).mean / static_cast<double>(kNetemDistScale);
    CHECK(m.sd == Approx(expected_sd).epsilon(0.02));
    CHECK(m.mean == Approx(expected_mean).margin(0.3));
    if (std::string(name) == "normal") CHECK(m.sd == Approx(20.0).epsilon(0.02));
  }
}

TEST_CASE("tabledist rounds and scales with the kernel's integer arithmetic", "[packet-fate]") {
  const std::vector<int16_t> table{-8192, 8192, 4096, -1, 1};
  // sigma 20 ms = 2441 * 8192 + 3328; t = 4096 gives (3328 * 4096 + 4096) / 8192 = 1664 (the
  // half truncated away) plus 2441 * 4096 = 9'998'336: exactly sigma / 2.
  CHECK(netem_tabledist(100 * kMs, 20 * kMs32, 2, table) == 100 * kMs + 10 * kMs);
  CHECK(netem_tabledist(100 * kMs, 20 * kMs32, 0, table) == 80 * kMs);
  CHECK(netem_tabledist(100 * kMs, 20 * kMs32, 1 + 5 * 1000, table) == 120 * kMs);
  // t = -1 and 1 with sigma 12'287 (1 * 8192 + 4095): 4095 / 8192 rounds to 0 (halves away from
  // zero would need 4096), then 1 * t: -1 and +1.
  CHECK(netem_tabledist(0, 12'287, 3, table) == -1);
  CHECK(netem_tabledist(0, 12'287, 4, table) == 1);
  CHECK(netem_tabledist(7, 0, 99, table) == 7);
  // Uniform: rnd % (2 sigma) - sigma + mu.
  CHECK(netem_tabledist(100, 10, 0, {}) == 90);
  CHECK(netem_tabledist(100, 10, 19, {}) == 109);
  CHECK(netem_tabledist(100, 10, 20, {}) == 90);
}

TEST_CASE("get_crandom correlates its numbers by rho and narrows them", "[packet-fate]") {
  NetemRandom random(kSeed);
  CorrelatedRandom correlated(percent_to_probability(Percent::whole(75)), random.next());
  std::vector<double> v;
  for (int i = 0; i < 100'000; ++i) v.push_back(correlated.next(random) / 4294967296.0);
  const Moments m = moments(v);
  // An AR(1) stream: lag-1 autocorrelation rho, sd that of a uniform number times
  // sqrt((1 - rho) / (1 + rho)) = sqrt(1/7). The seed gives lag1 0.7502, sd 0.1092. One standard
  // error: 0.003 for lag1, about 0.4% for the sd and 0.001 for the mean (runs of 7 packets).
  CHECK(m.lag1 == Approx(0.75).margin(0.02));
  CHECK(m.sd == Approx(std::sqrt(1.0 / 12.0) * std::sqrt(1.0 / 7.0)).epsilon(0.03));
  CHECK(m.mean == Approx(0.5).margin(0.01));
}

TEST_CASE("delay_correlation: netem correlates the random numbers, not the delays",
          "[packet-fate]") {
  // netem computes the delay as rnd % (2 jitter): for a jitter of milliseconds that keeps only the
  // low bits of the correlated number, where consecutive numbers no longer look alike. So with
  // 75% correlation the delays are as independent and as spread as without it. That is the
  // kernel's behaviour, reproduced here, not a wish.
  NetemOptions o = delayed(100, 20);
  o.delay_correlation = Percent::whole(75);
  PacketModel model(o, {}, 14, kSeed);
  const Moments m = moments(delays_ms(model, 100'000));
  // The seed gives lag1 0.0009, mean 100.02, sd 11.554. One standard error of lag1: 0.003.
  CHECK(std::abs(m.lag1) < 0.015);
  CHECK(m.mean == Approx(100.0).margin(0.2));
  CHECK(m.sd == Approx(20.0 / std::sqrt(3.0)).epsilon(0.01));

  // Only a jitter near netem's cap (INT32_MAX ns), where 2 jitter covers every u32, lets the
  // correlation through: then lag-1 is rho and the spread narrows by sqrt(1/7). The seed gives
  // 0.7502 and 469.07 ms (468.62 expected).
  NetemOptions wide = delayed(3000, 2148);  // capped to 2'147'483'647 ns
  wide.delay_correlation = Percent::whole(75);
  PacketModel wide_model(wide, {}, 14, kSeed);
  const Moments w = moments(delays_ms(wide_model, 100'000));
  CHECK(w.lag1 == Approx(0.75).margin(0.02));
  CHECK(w.sd == Approx(2147.483647 / std::sqrt(3.0) * std::sqrt(1.0 / 7.0)).epsilon(0.03));
}

TEST_CASE("random loss drops its share of packets", "[packet-fate]") {
  NetemOptions o;
  o.loss = Percent::whole(20);
  PacketModel model(o, {}, 14, kSeed);
  const Losses l = losses(model, 100'000);
  // One standard error: 0.13%; the bound is 4 of them. The seed gives 20.18% and runs of 1.260.
  CHECK(l.share == Approx(0.20).margin(0.005));
  CHECK(l.mean_run == Approx(1.25).margin(0.03));  // 1 / (1 - 0.2) for independent losses
}

TEST_CASE("correlated loss: longer runs, and netem's lower long-run rate", "[packet-fate]") {
  // netem drops when loss >= get_crandom(): the correlated numbers crowd around 2^31 (sd shrunk by
  // sqrt((1 - rho) / (1 + rho)) = sqrt(1/3) at rho 50%), so few fall below 20% of 2^32. The law
  // of the stationary number, sum over k of (1 - rho) rho^k U_k, puts 2.943% below 0.2 (from 4e8
  // draws of the kernel's formula, standard error 0.001%): loss 20% with correlation 50% loses
  // 2.94% of packets, in runs of 1.31 on average where independent losses at that rate would
  // give runs of 1.03. netem's correlation is known to bias the rate this way; faultline's netem
  // backend has the same bias.
  NetemOptions o;
  o.loss = Percent::whole(20);
  o.loss_correlation = Percent::whole(50);
  PacketModel model(o, {}, 14, kSeed);
  const Losses l = losses(model, 100'000);
  // One standard error: 0.07% for the share (runs widen it by ~1.3), 0.014 for the mean run.
  // The seed gives 2.95% and 1.298.
  CHECK(l.share == Approx(0.02943).margin(0.004));
  CHECK(l.mean_run == Approx(1.31).margin(0.07));
  CHECK(l.mean_run > 1.0 / (1.0 - l.share) + 0.2);
}

TEST_CASE("Gilbert-Elliott: losses in bursts at the stationary rate", "[packet-fate]") {
  NetemOptions o;
  o.gilbert_elliott = true;
  o.ge_p = Percent::whole(1);
  o.ge_r = Percent::whole(10);
  o.ge_h = Percent::whole(0);    // nothing gets through in the bad state
  o.ge_k = Percent::whole(100);  // everything gets through in the good state
  PacketModel model(o, {}, 14, kSeed);
  const Losses l = losses(model, 1'000'000);
  // Stationary share of the bad state p / (p + r) = 9.09%. The chain's memory (1 - p - r = 0.89)
  // widens one standard error to 0.12%; the bound is 4 of them. Bursts last 1 / r = 10 packets,
  // one standard error 0.1 over ~9100 bursts. The seed gives 9.21% and 10.15.
  CHECK(l.share == Approx(1.0 / 11.0).margin(0.005));
  CHECK(l.mean_run == Approx(10.0).margin(0.5));

  // h is the chance to get through in the bad state: half the bad-state packets survive (the
  // seed gives 4.59% for 4.55%).
  o.ge_h = Percent::whole(50);
  PacketModel half(o, {}, 14, kSeed);
  CHECK(losses(half, 1'000'000).share == Approx(0.5 / 11.0).margin(0.004));
  // 1 - k is the chance to be lost in the good state (the seed gives 18.28% for 18.18%).
  o.ge_h = Percent::whole(0);
  o.ge_k = Percent::whole(90);
  PacketModel leaky(o, {}, 14, kSeed);
  CHECK(losses(leaky, 1'000'000).share == Approx(1.0 / 11.0 + 0.1 * 10.0 / 11.0).margin(0.005));
}

TEST_CASE("duplicate: a copy with its own pass through netem", "[packet-fate]") {
  NetemOptions o = delayed(10);
  o.duplicate = Percent::whole(10);
  PacketModel model(o, {}, 14, kSeed);
  int copies = 0;
  for (int i = 0; i < 100'000; ++i) {
    const int64_t arrival = kStart + i * kMs;
    const PacketFate fate = model.next(arrival, 100);
    REQUIRE_FALSE(fate.drop);
    REQUIRE(fate.release_ns == arrival + 10 * kMs);
    if (fate.duplicate) REQUIRE(fate.copy.release_ns == arrival + 10 * kMs);
    copies += fate.duplicate;
  }
  // One standard error: 0.095%; the bound is 5 of them. The seed gives 9.93%.
  CHECK(copies / 100'000.0 == Approx(0.10).margin(0.005));

  // netem counts 1 + duplicate - loss: a duplicated packet that loses its loss draw still goes,
  // once; the copy's own pass then meets the loss too.
  NetemOptions both;
  both.duplicate = Percent::whole(100);
  both.loss = Percent::whole(100);
  PacketModel all(both, {}, 14, kSeed);
  const PacketFate fate = all.next(kStart, 100);
  CHECK_FALSE(fate.drop);
  CHECK_FALSE(fate.duplicate);
  CHECK(fate.release_ns == kStart);
}

TEST_CASE("corrupt: a bit among the packet's bytes, every byte and bit alike", "[packet-fate]") {
  NetemOptions o;
  o.corrupt = Percent::whole(10);
  PacketModel model(o, {}, 14, kSeed);
  int corrupted = 0;
  for (int i = 0; i < 100'000; ++i) {
    const PacketFate fate = model.next(kStart + i, 100);
    if (!fate.corrupt_bit) continue;
    ++corrupted;
    REQUIRE(*fate.corrupt_bit < 100 * 8);
  }
  CHECK(corrupted / 100'000.0 == Approx(0.10).margin(0.005));  // 5 standard errors; seed: 9.95%

  o.corrupt = Percent::whole(100);
  PacketModel every(o, {}, 14, kSeed);
  std::vector<int> per_byte(100), per_bit(8);
  const int n = 100'000;
  for (int i = 0; i < n; ++i) {
    const uint32_t bit = *every.next(kStart + i, 100).corrupt_bit;
    ++per_byte[bit / 8];
    ++per_bit[bit % 8];
  }
  // Chi-square against a flat law: 99 degrees of freedom (mean 99, sd 14) over bytes and 7 (mean
  // 7, sd 3.7) over bits; the bounds are 5 sd above the mean. The seed gives 85 and 10.
  auto chi2 = [&](const std::vector<int>& counts) {
    const double expected = static_cast<double>(n) / static_cast<double>(counts.size());
    double sum = 0;
    for (int c : counts) sum += (c - expected) * (c - expected) / expected;
    return sum;
  };
  CHECK(chi2(per_byte) < 99 + 5 * 14);
  CHECK(chi2(per_bit) < 7 + 5 * 3.75);
}

TEST_CASE("reorder: the picked packets leave at once, the others after the delay",
          "[packet-fate]") {
  NetemOptions o = delayed(10);
  o.reorder = Percent::whole(25);
  PacketModel model(o, {}, 14, kSeed);
  int at_once = 0;
  for (int i = 0; i < 100'000; ++i) {
    const int64_t arrival = kStart + i * kMs;
    const PacketFate fate = model.next(arrival, 100);
    REQUIRE(fate.release_ns == (fate.reordered ? arrival : arrival + 10 * kMs));
    at_once += fate.reordered;
  }
  // Without a gap tc sends gap 1: every packet may be picked. One standard error 0.14%, the bound
  // 3.6 of them; the seed gives 25.04%.
  CHECK(at_once / 100'000.0 == Approx(0.25).margin(0.005));

  // gap 5 at 100%: after a reordered packet, gap - 1 = 4 are delayed, then the next one goes: the
  // 5th, 10th, 15th ...
  o.reorder = Percent::whole(100);
  o.reorder_gap = 5;
  PacketModel every_fifth(o, {}, 14, kSeed);
  for (int i = 1; i <= 50; ++i)
    CHECK(every_fifth.next(kStart + i * kMs, 100).reordered == (i % 5 == 0));

  // gap 5 at 25%: 4 delayed, then each packet is picked with 25%: one in 4 + 4 = 8 on average.
  o.reorder = Percent::whole(25);
  PacketModel gapped(o, {}, 14, kSeed);
  int picked = 0, since_last = 4, shortest_gap = 1'000'000;
  for (int i = 0; i < 100'000; ++i) {
    if (gapped.next(kStart + i * kMs, 100).reordered) {
      ++picked;
      shortest_gap = std::min(shortest_gap, since_last);
      since_last = 0;
    } else {
      ++since_last;
    }
  }
  CHECK(shortest_gap == 4);
  // One standard error: 0.05% (renewal cycles of 8 +- 3.5); the seed gives 12.48%.
  CHECK(picked / 100'000.0 == Approx(0.125).margin(0.005));
}

TEST_CASE("rate: packets leave one after another, each taking its time on the wire",
          "[packet-fate]") {
  NetemOptions o = delayed(10);
  o.rate_bits = 1'000'000;  // netem's rate is 125'000 bytes/s
  PacketModel model(o, {}, 14, kSeed);
  // packet_time_ns = (1000 + 14) * 1e9 / 125'000 = 8'112'000 ns exactly. The first packet finds the
  // queue empty: arrival + delay + its own time. Each next one queues behind the last: what is
  // left of its delay after that one (max(0, 10 ms - 18.112 ms) = 0), then its own time.
  constexpr int64_t kWire = 8'112'000;
  for (int i = 0; i < 10; ++i)
    CHECK(model.next(kStart, 1000).release_ns == kStart + 10 * kMs + (i + 1) * kWire);
  // Once the queue has drained, a packet starts afresh.
  const int64_t later = kStart + 1000 * kMs;
  CHECK(model.next(later, 1000).release_ns == later + 10 * kMs + kWire);
  // A packet arriving while the last still waits, with more delay left than the queue ahead:
  // max(arrival + delay, last) + its time.
  CHECK(model.next(later + 9 * kMs, 1000).release_ns == later + 19 * kMs + kWire);

  // The kernel truncates: 999 bit/s is 124 bytes/s, and 1014e9 / 124 = 8'177'419'354.8 ns.
  o.rate_bits = 999;
  PacketModel slow(o, {}, 14, kSeed);
  CHECK(slow.next(kStart, 1000).release_ns == kStart + 10 * kMs + 8'177'419'354);
}

TEST_CASE("jitter reorders packets unless a rate is set", "[packet-fate]") {
  NetemOptions o = delayed(100, 20);
  auto overtaken = [](PacketModel& model) {
    int count = 0;
    int64_t latest = INT64_MIN;
    for (int i = 0; i < 10'000; ++i) {
      const int64_t release = model.next(kStart + i * kMs, 1000).release_ns;
      count += release < latest;
      latest = std::max(latest, release);
    }
    return count;
  };
  PacketModel free_running(o, {}, 14, kSeed);
  CHECK(overtaken(free_running) > 1000);  // 1 ms apart, +-20 ms of jitter: the seed gives 7985
  o.rate_bits = 100'000'000;
  PacketModel rated(o, {}, 14, kSeed);
  CHECK(overtaken(rated) == 0);
}

}  // namespace faultline
