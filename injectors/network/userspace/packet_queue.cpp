#include "injectors/network/userspace/packet_queue.h"

#include <linux/netfilter.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>

#include "injectors/io_stress/latency_histogram.h"
#include "injectors/network/userspace/sample_reservoir.h"
#include "injectors/network/userspace/kernel_queue_counters.h"
#include "injectors/network/userspace/nfqueue_socket.h"
#include "injectors/network/userspace/packet_fate.h"
#include "injectors/network/userspace/queue_rules.h"
#include "injectors/network/userspace/raw_resend.h"

namespace faultline {
namespace {

// Messages read before due packets are released again: a flood cannot hold back the timers
// (at ~1-3 us a message, a round lasts well under a millisecond).
constexpr size_t kMessagesPerRound = 128;
// The ingress model's random stream differs from the egress one's, both from the one seed.
constexpr uint64_t kIngressSeedTweak = 0x9e3779b97f4a7c15ULL;
// A release time that takes no lateness sample: a packet let go early, at stop().
constexpr int64_t kNoLatenessSample = std::numeric_limits<int64_t>::min();

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

bool needs_payload(const NetemOptions& o) {
  return o.duplicate.basis_points > 0 || o.corrupt.basis_points > 0;
}

// Flips the bit PacketModel names: byte bit / 8, mask 1 << (bit % 8), as netem does.
void flip(std::span<uint8_t> bytes, uint32_t bit) {
  bit %= static_cast<uint32_t>(bytes.size() * 8);
  bytes[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
}

// A packet whose verdict waits for its release time, or a duplicate to send then.
struct HeldPacket {
  int64_t release_ns = 0;
  uint64_t arrival_order = 0;  // equal release times leave in arrival order
  int64_t arrival_ns = 0;      // when the queue read it
  bool is_copy = false;
  uint32_t id = 0;  // the original's packet id (the verdict's)
  uint32_t ifindex = 0;
  // The original's bytes when corrupted (they leave instead of its own); a copy's bytes.
  std::vector<uint8_t> payload;
};

struct LeavesLater {
  bool operator()(const HeldPacket& a, const HeldPacket& b) const {
    return a.release_ns != b.release_ns ? a.release_ns > b.release_ns
                                        : a.arrival_order > b.arrival_order;
  }
};

struct Copy {
  std::vector<uint8_t> bytes;
  uint32_t ifindex = 0;
};

// What the serving thread counts, published to stats() after each round.
struct Counters {
  PacketQueueStats stats;
  LatencyCounts lateness{};
  uint64_t lateness_max_ns = 0;
};

Lateness summarize(const LatencyCounts& counts, uint64_t max_ns) {
  Lateness l;
  for (uint64_t n : counts) l.samples += n;
  // A quantile is its bucket's middle (within 12.5%); never above the largest value seen.
  auto quantile_us = [&](int permille) {
    return static_cast<double>(std::min(latency_quantile(counts, permille), max_ns)) / 1000.0;
  };
  l.p50_us = quantile_us(500);
  l.p99_us = quantile_us(990);
  l.max_us = static_cast<double>(max_ns) / 1000.0;
  return l;
}

void count(LatencyCounts& counts, uint64_t& max_ns, uint64_t ns) {
  ++counts[static_cast<size_t>(latency_bucket(ns))];
  max_ns = std::max(max_ns, ns);
}

}  // namespace

struct PacketQueue::State {
  PacketQueueConfig config;
  std::unique_ptr<NfqueueSocket> socket;
  std::optional<RawResender> resender;  // only when duplicates are asked for
  KernelQueueCounterFile kernel_counters;
  PacketModel egress_model, ingress_model;  // one per direction, as netem is one per qdisc
  int epoll_fd = -1, timer_fd = -1, wake_fd = -1;
  std::thread thread;

  // The serving thread's own.
  std::vector<HeldPacket> held;         // a heap: the next to leave at the front
  // The release and arrival times of the accepted verdicts pending.
  std::vector<std::pair<int64_t, int64_t>> batch_releases;
  std::vector<Copy> batch_copies;       // duplicates to send once those verdicts are out
  uint64_t held_verdicts = 0;           // the held packets that the kernel holds for us
  Counters counters;
  int64_t armed_ns = -1;
  uint64_t arrivals = 0;
  std::string failure;

  // Read -> verdict of the packets released on schedule: a sample kept apart from the counters,
  // which are copied after every round, and filled once per batch of verdicts.
  std::vector<uint64_t> held_batch;
  mutable std::mutex held_mutex;
  SampleReservoir held_sample;

  // Shared with stats() and stop().
  mutable std::mutex mutex;
  Counters published;
  std::optional<KernelQueueCounters> final_kernel_counters;  // read just before unbinding
  std::string published_failure;
  bool stopped = false;

  State(PacketQueueConfig c, KernelQueueCounterFile file)
      : config(std::move(c)),
        kernel_counters(std::move(file)),
        egress_model(config.options, config.table, config.link_header_bytes, config.seed),
        ingress_model(config.options, config.table, config.link_header_bytes,
                      config.seed ^ kIngressSeedTweak) {}

  ~State() {
    for (int fd : {epoll_fd, timer_fd, wake_fd})
      if (fd >= 0) close(fd);
  }

  void note_failure(const Error& e) {
    if (failure.empty()) failure = e.message;
  }

  // --- verdicts ---

  void flush() {
    if (socket->verdicts_pending()) {
      // Lateness ends as the verdicts go: the sendmsg itself runs the kernel's path for every
      // packet in it (as far as the receiving socket, on veth), which is not userspace's cost.
      const int64_t now = now_ns();
      if (auto sent = socket->flush_verdicts(); !sent) note_failure(sent.error());
      for (const auto& [release_ns, arrival_ns] : batch_releases) {
        ++counters.stats.released;
        if (release_ns == kNoLatenessSample) continue;
        const uint64_t late = now > release_ns ? static_cast<uint64_t>(now - release_ns) : 0;
        count(counters.lateness, counters.lateness_max_ns, late);
        const uint64_t held_ns = now > arrival_ns ? static_cast<uint64_t>(now - arrival_ns) : 0;
        held_batch.push_back(held_ns);
      }
      batch_releases.clear();
      if (!held_batch.empty()) {
        std::lock_guard lock(held_mutex);
        for (uint64_t ns : held_batch) held_sample.add(ns);
        held_batch.clear();
      }
    }
    // After the verdicts: a copy due with its original follows it.
    for (const Copy& copy : batch_copies) {
      if (resender->send(copy.bytes, copy.ifindex) == 0)
        ++counters.stats.duplicated;
      else
        ++counters.stats.duplicate_errors;
    }
    batch_copies.clear();
  }

  void drop(uint32_t id) {
    if (!socket->fits(0)) flush();
    socket->add_verdict(id, NF_DROP);
  }

  void accept(uint32_t id, std::span<const uint8_t> changed_payload, int64_t release_ns,
              int64_t arrival_ns) {
    if (!socket->fits(changed_payload.size())) flush();
    socket->add_verdict(id, NF_ACCEPT, changed_payload);
    batch_releases.emplace_back(release_ns, arrival_ns);
  }

  // --- packets ---

  void hold(HeldPacket packet) {
    packet.arrival_order = arrivals++;
    if (!packet.is_copy) {
      ++held_verdicts;
      counters.stats.held_max = std::max(counters.stats.held_max, held_verdicts);
    }
    held.push_back(std::move(packet));
    std::push_heap(held.begin(), held.end(), LeavesLater{});
  }

  void on_packet(QueuedPacket& p) {
    // The packet's arrival as the model sees it is when it is read here: the kernel stamps no
    // time on a packet that leaves (NFQA_TIMESTAMP is absent on egress).
    const int64_t arrival = now_ns();
    const bool ingress = p.hook == NF_INET_PRE_ROUTING || p.hook == NF_INET_LOCAL_IN;
    ++counters.stats.received;
    ++(ingress ? counters.stats.ingress : counters.stats.egress);
    const PacketFate fate = (ingress ? ingress_model : egress_model).next(arrival, p.length);
    if (fate.drop) {
      ++counters.stats.dropped;
      drop(p.id);
      return;
    }
    // The bytes are there when duplicate or corrupt is asked for (copy mode "packet"). The
    // copy is taken before the original is corrupted, and has a corruption and a release time
    // of its own, as netem's clone does.
    if (fate.duplicate && !p.payload.empty()) {
      HeldPacket copy{.release_ns = fate.copy.release_ns,
                      .is_copy = true,
                      .ifindex = p.ifindex,
                      .payload = {p.payload.begin(), p.payload.end()}};
      if (fate.copy.corrupt_bit) {
        flip(copy.payload, *fate.copy.corrupt_bit);
        ++counters.stats.corrupted;
      }
      if (fate.copy.release_ns <= arrival)
        batch_copies.push_back({std::move(copy.payload), copy.ifindex});
      else
        hold(std::move(copy));
    }
    bool corrupted = false;
    if (fate.corrupt_bit && !p.payload.empty()) {
      flip(p.payload, *fate.corrupt_bit);
      corrupted = true;
      ++counters.stats.corrupted;
    }
    const std::span<const uint8_t> changed =
        corrupted ? std::span<const uint8_t>(p.payload) : std::span<const uint8_t>();
    if (fate.reordered) ++counters.stats.reordered;
    if (fate.release_ns <= arrival) {
      accept(p.id, changed, fate.release_ns, arrival);
      return;
    }
    hold(HeldPacket{.release_ns = fate.release_ns,
                    .arrival_ns = arrival,
                    .id = p.id,
                    .ifindex = p.ifindex,
                    .payload = {changed.begin(), changed.end()}});
  }

  void receive(size_t max_messages) {
    auto read = socket->receive(max_messages, [this](QueuedPacket& p) { on_packet(p); });
    if (!read) note_failure(read.error());
  }

  // Lets go of the held packets due by `now`, or of all of them early (at stop).
  void release(int64_t now, bool all) {
    while (!held.empty() && (all || held.front().release_ns <= now)) {
      std::pop_heap(held.begin(), held.end(), LeavesLater{});
      HeldPacket p = std::move(held.back());
      held.pop_back();
      if (p.is_copy) {
        batch_copies.push_back({std::move(p.payload), p.ifindex});
        continue;
      }
      --held_verdicts;
      accept(p.id, p.payload, p.release_ns <= now ? p.release_ns : kNoLatenessSample,
             p.arrival_ns);
    }
  }

  void arm_timer() {
    const int64_t want = held.empty() ? -1 : held.front().release_ns;
    if (want == armed_ns) return;
    itimerspec spec{};  // all zero: disarmed
    if (want >= 0) {
      spec.it_value.tv_sec = want / 1'000'000'000;
      spec.it_value.tv_nsec = want % 1'000'000'000;
      // 0 would disarm it; a release time of exactly 0 cannot come from CLOCK_MONOTONIC anyway.
      if (want == 0) spec.it_value.tv_nsec = 1;
    }
    if (timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &spec, nullptr) != 0)
      note_failure(Error{fmt::format("cannot arm the release timer: {}", std::strerror(errno))});
    armed_ns = want;
  }

  void publish() {
    counters.stats.held_now = held_verdicts;
    counters.stats.flushed_by_kernel = socket->verdicts_gone();
    std::lock_guard lock(mutex);
    published = counters;
    if (published_failure.empty()) published_failure = failure;
  }

  // --- the thread ---

  void serve() {
    bool stopping = false;
    while (!stopping) {
      epoll_event events[3];
      const int n = epoll_wait(epoll_fd, events, 3, -1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        note_failure(Error{fmt::format("epoll_wait: {}", std::strerror(errno))});
        break;
      }
      bool readable = false;
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        uint64_t value = 0;
        if (fd == wake_fd) stopping = true;
        if (fd == timer_fd && read(timer_fd, &value, sizeof value) < 0) armed_ns = -1;
        if (fd == socket->fd()) readable = true;
      }
      if (stopping) break;
      if (readable) receive(kMessagesPerRound);
      release(now_ns(), false);
      flush();
      arm_timer();
      publish();
    }
    shut_down();
  }

  // Nothing is held once this returns: the kernel lets the queue's new packets through, and
  // every packet already handed to us, held or still waiting on the socket, is accepted now.
  void shut_down() {
    if (auto closed = socket->stop_queueing(); !closed) note_failure(closed.error());
    // Until a read after the last verdicts finds nothing: the kernel answers a refused verdict
    // (or setting) with an error message, queued before its sendmsg returns.
    for (;;) {
      auto read = socket->receive(std::numeric_limits<size_t>::max(), [this](QueuedPacket& p) {
        ++counters.stats.received;
        const bool ingress = p.hook == NF_INET_PRE_ROUTING || p.hook == NF_INET_LOCAL_IN;
        ++(ingress ? counters.stats.ingress : counters.stats.egress);
        accept(p.id, {}, kNoLatenessSample, 0);
      });
      if (!read) {
        note_failure(read.error());
        break;
      }
      const bool sending = socket->verdicts_pending() || !held.empty();
      release(now_ns(), true);
      flush();
      if (*read == 0 && !sending) break;
    }
    if (socket->verdict_errors() > 0)
      note_failure(Error{
          fmt::format("the kernel refused {} verdicts or settings", socket->verdict_errors())});
    auto kernel = kernel_counters.read(config.queue_number);
    publish();
    std::lock_guard lock(mutex);
    if (kernel) final_kernel_counters = *kernel;
  }
};

Result<std::unique_ptr<PacketQueue>> PacketQueue::start(PacketQueueConfig config) {
  if (config.max_packets == 0)
    return fail("the userspace queue's length (max_packets) must be at least 1");
  const bool payload = needs_payload(config.options);
  auto file = FL_TRY(KernelQueueCounterFile::open());
  auto state = std::make_unique<State>(std::move(config), std::move(file));
  State& s = *state;
  if (s.config.options.duplicate.basis_points > 0)
    s.resender = FL_TRY(RawResender::open(kUserspaceBypassMark));
  s.socket = FL_TRY(NfqueueSocket::bind({.queue_number = s.config.queue_number,
                                         .max_packets = s.config.max_packets,
                                         .copy_payload = payload}));

  s.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  s.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  s.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (s.epoll_fd < 0 || s.timer_fd < 0 || s.wake_fd < 0)
    return fail("cannot make the userspace queue's epoll, timer or event descriptor: {}",
                std::strerror(errno));
  for (int fd : {s.socket->fd(), s.timer_fd, s.wake_fd}) {
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.fd = fd;
    if (epoll_ctl(s.epoll_fd, EPOLL_CTL_ADD, fd, &e) != 0)
      return fail("cannot watch the userspace queue's descriptors: {}", std::strerror(errno));
  }

  std::unique_ptr<PacketQueue> queue(new PacketQueue());
  queue->state_ = std::move(state);
  s.thread = std::thread([&s] { s.serve(); });
  // A name to find it by in /proc/self/task (its CPU time, in the benchmark).
  pthread_setname_np(s.thread.native_handle(), "fl-nfqueue");
  return queue;
}

PacketQueue::~PacketQueue() {
  (void)stop();
}

Result<void> PacketQueue::stop() {
  if (!state_) return {};
  State& s = *state_;
  {
    std::lock_guard lock(s.mutex);
    if (s.stopped) return {};
    s.stopped = true;
  }
  const uint64_t one = 1;
  if (write(s.wake_fd, &one, sizeof one) < 0) {
    // An eventfd write fails only when its counter would overflow: it is readable already.
  }
  if (s.thread.joinable()) s.thread.join();
  // Closing the socket unbinds the queue; nothing is held by then.
  s.socket.reset();
  std::lock_guard lock(s.mutex);
  if (!s.published_failure.empty())
    return fail("userspace queue {}: {}", s.config.queue_number, s.published_failure);
  return {};
}

PacketQueueStats PacketQueue::stats() const {
  const State& s = *state_;
  Counters c;
  std::optional<KernelQueueCounters> kernel;
  {
    std::lock_guard lock(s.mutex);
    c = s.published;
    kernel = s.final_kernel_counters;
  }
  // Until the queue is unbound the kernel has its counters; after, the last ones read.
  if (!kernel) {
    if (auto read = s.kernel_counters.read(s.config.queue_number)) kernel = *read;
  }
  PacketQueueStats out = c.stats;
  if (kernel) {
    out.queue_full = kernel->queue_dropped;
    out.netlink_lost = kernel->user_dropped;
  }
  out.lateness = summarize(c.lateness, c.lateness_max_ns);
  std::lock_guard held_lock(s.held_mutex);
  out.held.samples = s.held_sample.seen();
  out.held.p50_us = static_cast<double>(s.held_sample.quantile(500)) / 1000.0;
  out.held.p99_us = static_cast<double>(s.held_sample.quantile(990)) / 1000.0;
  out.held.max_us = static_cast<double>(s.held_sample.max()) / 1000.0;
  return out;
}

uint16_t next_queue_number() {
  // 0xfa00..0xffff: 1,536 numbers before one comes round again.
  static std::atomic<uint32_t> counter{0};
  return static_cast<uint16_t>(0xfa00 + counter.fetch_add(1) % 0x600);
}

}  // namespace faultline
