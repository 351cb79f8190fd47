// The controller's side of a large fleet: apply, revert and renewal rounds through RemoteFaults
// against N agent endpoints (default 1,000), each with its own certificate and mutual TLS on a
// loopback port. The endpoints are a stand-in that answers at once: one gRPC server in a child
// process, listening on N ports. So the figures are the controller's own cost (its fan-out, TLS,
// HTTP/2, encoding), not an agent's work, which fanout_bench measures with real agents.
//
// Peer, measured in the same run and the same rounds: the controller's previous fan-out, a
// thread per host each making a blocking call, on the same warm channels.
//
// Then hosts that hang (a TCP listener that never answers, DEAD of them) join a renewal round:
// the live hosts' answers must come as fast as without them, and only the dead hosts wait for
// their deadline.
//
//   fleet_scale_bench [N=1000] [ROUNDS=20] [DEAD=10]
#include <absl/synchronization/mutex.h>
#include <agent.grpc.pb.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "agent/wire/tls_credentials.h"
#include "bench/bench_util.h"
#include "bench/fleet_util.h"
#include "controller/fleet/agent_pool.h"
#include "controller/run/remote_faults.h"

using namespace faultline;
using Ms = std::chrono::duration<double, std::milli>;
namespace v1 = faultline::agent::v1;

namespace {

constexpr const char* kOwner = "fleet-scale-bench";
constexpr Duration kLease = std::chrono::seconds(60);
constexpr Duration kCallTimeout = std::chrono::seconds(5);
constexpr Duration kDeadTimeout = std::chrono::milliseconds(500);

double self_cpu_ms() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return (static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 +
          static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3);
}

// 1,000 endpoints need ~3,000 descriptors in the fleet (listener, connection) and ~1,000 in the
// controller: raise the soft limit to the hard one (no privilege needed).
rlimit raise_fd_limit() {
  rlimit r{};
  getrlimit(RLIMIT_NOFILE, &r);
  const rlimit before = r;
  r.rlim_cur = r.rlim_max;
  setrlimit(RLIMIT_NOFILE, &r);
  return before;
}

// `faultline agents --inventory FILE` as a user starts it, under `limit`: its wall time, and
// whether it exited 0 (every agent up).
double agents_command_ms(const std::string& inventory, const rlimit& limit, bool& all_up) {
  const std::string tool = bench::faultline_binary();
  const TimePoint t0 = Clock::now();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    setrlimit(RLIMIT_NOFILE, &limit);
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    execl(tool.c_str(), "faultline", "agents", "--inventory", inventory.c_str(), nullptr);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  all_up = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return Ms(Clock::now() - t0).count();
}

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The stand-in agent: every call answers at once with what a real agent would say of a fault
// that applied and confirmed.
class StandIn final : public v1::Agent::CallbackService {
  static v1::FaultStatus status(const std::string& owner, const std::string& id, bool active) {
    v1::FaultStatus s;
    s.set_owner(owner);
    s.set_fault_id(id);
    s.set_kind("process_pause");
    s.set_active(active);
    s.set_applied_at_unix_ms(unix_ms());
    if (!active) {
      s.set_reverted_at_unix_ms(unix_ms());
      s.set_ended_by("controller");
    }
    s.set_confirmed(true);
    s.set_summary("paused 1 process");
    return s;
  }
  static grpc::ServerUnaryReactor* done(grpc::CallbackServerContext* ctx) {
    grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
    r->Finish(grpc::Status::OK);
    return r;
  }

 public:
  grpc::ServerUnaryReactor* Describe(grpc::CallbackServerContext* ctx, const v1::DescribeRequest*,
                                     v1::DescribeReply* reply) override {
    reply->set_host("stand-in");
    reply->set_version("stand-in");
    return done(ctx);
  }
  grpc::ServerUnaryReactor* Apply(grpc::CallbackServerContext* ctx, const v1::ApplyRequest* req,
                                  v1::FaultStatus* reply) override {
    *reply = status(req->owner(), req->fault_id(), true);
    reply->set_lease_remaining_ms(req->lease_ms());
    return done(ctx);
  }
  grpc::ServerUnaryReactor* Renew(grpc::CallbackServerContext* ctx, const v1::RenewRequest*,
                                  v1::RenewReply* reply) override {
    reply->set_renewed(1);
    return done(ctx);
  }
  grpc::ServerUnaryReactor* Revert(grpc::CallbackServerContext* ctx, const v1::RevertRequest* req,
                                   v1::FaultList* reply) override {
    *reply->add_faults() = status(req->owner(), req->fault_id(), false);
    return done(ctx);
  }
  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* ctx, const v1::ListRequest*,
                                 v1::FaultList*) override {
    return done(ctx);
  }
};

// The fleet child: serves `names` on one port each, writes the ports to `ports_fd`, and lives
// until `alive_fd` reaches end of file (the parent closed it, or died).
[[noreturn]] void serve_fleet(const std::string& certs, const std::vector<std::string>& names,
                              int ports_fd, int alive_fd) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  raise_fd_limit();
  // As faultline-agent does (agent/daemon/main.cpp): no lock-order graph on every absl::Mutex.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  auto read = [](const std::string& path) {
    auto text = read_pem(path, "bench certificate");
    if (!text) throw std::runtime_error(text.error().message);
    return *text;
  };
  const std::string ca = read(certs + "/ca.pem");
  grpc::ServerBuilder builder;
  std::vector<int> ports(names.size(), 0);
  for (size_t i = 0; i < names.size(); ++i) {
    grpc::SslServerCredentialsOptions options(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    options.pem_root_certs = ca;
    options.pem_key_cert_pairs.push_back(
        {read(certs + "/" + names[i] + ".key"), read(certs + "/" + names[i] + ".pem")});
    builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(options), &ports[i]);
  }
  StandIn service;
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) _exit(3);
  (void)!write(ports_fd, ports.data(), ports.size() * sizeof(int));
  close(ports_fd);
  char c = 0;
  while (::read(alive_fd, &c, 1) > 0) {
  }
  _exit(0);  // no orderly shutdown: its only client is gone
}

// A host that hangs: the kernel completes the TCP handshake into the backlog, nothing ever
// answers the TLS handshake.
class DeadHost {
 public:
  DeadHost() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || listen(fd_, 64) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("cannot make a listening socket on 127.0.0.1");
    port_ = ntohs(a.sin_port);
  }
  ~DeadHost() { close(fd_); }
  DeadHost(const DeadHost&) = delete;
  DeadHost& operator=(const DeadHost&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

RemoteFault bench_fault(const std::string& id) {
  RemoteFault f;
  f.owner = kOwner;
  f.fault_id = id;
  f.kind = "process_pause";
  f.params = {{"count", "1"}};
  f.selector.name = "fl-bench-scale";
  f.duration = std::chrono::seconds(30);
  f.lease = kLease;
  return f;
}

struct Figures {
  std::vector<double> apply_ms, revert_ms, renew_ms;
  std::vector<double> apply_cpu_ms, revert_cpu_ms, renew_cpu_ms;  // per round, whole process
  size_t errors = 0;
  std::string first_error;
  void note(const std::optional<Error>& e) {
    if (!e) return;
    ++errors;
    if (first_error.empty()) first_error = e->message;
  }
};

// Times `round()` and the process's CPU during it.
template <typename Fn>
void timed(std::vector<double>& wall, std::vector<double>& cpu, Fn&& round) {
  const double cpu0 = self_cpu_ms();
  const TimePoint t0 = Clock::now();
  round();
  wall.push_back(Ms(Clock::now() - t0).count());
  cpu.push_back(self_cpu_ms() - cpu0);
}

// Today's fan-out: every call started at once on warm channels, answered on gRPC's threads.
void async_round(RemoteFaults& remote, const std::vector<std::shared_ptr<AgentClient>>& clients,
                 const std::vector<Agent>& hosts, const std::string& id, Figures& f) {
  timed(f.apply_ms, f.apply_cpu_ms, [&] {
    for (const auto& r : remote.apply(hosts, bench_fault(id))) f.note(r.error);
  });
  timed(f.revert_ms, f.revert_cpu_ms, [&] {
    for (const auto& r : remote.revert(id)) f.note(r.error);
  });
  // A renewal round as RemoteFaults makes it: one call per host, each on its own.
  std::mutex m;
  timed(f.renew_ms, f.renew_cpu_ms, [&] {
    all_at_once(clients.size(), [&](size_t i, auto answered) {
      clients[i]->renew_async(kOwner, kLease, kCallTimeout, [&, answered](Result<RenewResult> r) {
        if (!r) {
          std::lock_guard lock(m);
          f.note(r.error());
        }
        answered();
      });
    });
  });
}

// The peer: the controller's previous fan-out, a thread per host for every round, each thread
// making one blocking call.
template <typename Fn>
void thread_per_host(size_t n, Fn&& fn) {
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (size_t i = 0; i < n; ++i) threads.emplace_back([&fn, i] { fn(i); });
  for (std::thread& t : threads) t.join();
}

void threaded_round(const std::vector<std::shared_ptr<AgentClient>>& clients, const std::string& id,
                    Figures& f) {
  std::mutex m;
  auto note = [&](const auto& r) {
    if (r) return;
    std::lock_guard lock(m);
    f.note(r.error());
  };
  const RemoteFault fault = bench_fault(id);
  timed(f.apply_ms, f.apply_cpu_ms, [&] {
    thread_per_host(clients.size(),
                    [&](size_t i) { note(clients[i]->apply(fault, kCallTimeout)); });
  });
  timed(f.revert_ms, f.revert_cpu_ms, [&] {
    thread_per_host(clients.size(),
                    [&](size_t i) { note(clients[i]->revert(kOwner, id, kCallTimeout)); });
  });
  timed(f.renew_ms, f.renew_cpu_ms, [&] {
    thread_per_host(clients.size(),
                    [&](size_t i) { note(clients[i]->renew(kOwner, kLease, kCallTimeout)); });
  });
}

void print_row(const char* what, const std::vector<double>& wall, const std::vector<double>& cpu,
               size_t hosts) {
  const bench::Stats w = bench::stats(wall), c = bench::stats(cpu);
  std::printf("  %-8s median %7.1f ms  p99 %7.1f ms   controller CPU %.3f ms/host (median)\n", what,
              w.median, w.p99, c.median / static_cast<double>(hosts));
}

void print_figures(const char* title, const Figures& f, size_t hosts) {
  std::printf("%s:\n", title);
  print_row("apply", f.apply_ms, f.apply_cpu_ms, hosts);
  print_row("revert", f.revert_ms, f.revert_cpu_ms, hosts);
  print_row("renew", f.renew_ms, f.renew_cpu_ms, hosts);
  std::printf("  errors %zu%s%s\n", f.errors, f.first_error.empty() ? "" : ", first: ",
              f.first_error.c_str());
}

int run(size_t n, int rounds, size_t dead) {
  bench::install_interrupt_flag();
  // The command runs with a login's usual soft limit of 1,024 descriptors, fewer than its
  // connections need: it must raise its own.
  rlimit user_limit = raise_fd_limit();
  user_limit.rlim_cur = std::min<rlim_t>(1024, user_limit.rlim_max);
  bench::ScratchDir dir;
  const std::vector<std::string> names = bench::numbered("scale", n);
  const std::string certs = bench::make_certs(dir.path(), names);

  int ports_pipe[2], alive_pipe[2];
  if (pipe2(ports_pipe, O_CLOEXEC) != 0 || pipe2(alive_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  // The fleet is forked before this process starts any gRPC thread.
  const pid_t fleet = fork();
  if (fleet < 0) throw std::runtime_error("fork failed");
  if (fleet == 0) {
    close(ports_pipe[0]);
    close(alive_pipe[1]);
    try {
      serve_fleet(certs, names, ports_pipe[1], alive_pipe[0]);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "fleet: %s\n", e.what());
      _exit(3);
    }
  }
  close(ports_pipe[1]);
  close(alive_pipe[0]);
  struct FleetGuard {
    pid_t pid;
    int alive;
    ~FleetGuard() {
      close(alive);
      int status = 0;
      waitpid(pid, &status, 0);
    }
  } guard{fleet, alive_pipe[1]};

  std::vector<int> ports(n, 0);
  size_t got = 0;
  auto* bytes = reinterpret_cast<char*>(ports.data());
  while (got < n * sizeof(int)) {
    const ssize_t r = read(ports_pipe[0], bytes + got, n * sizeof(int) - got);
    if (r <= 0) throw std::runtime_error("the stand-in fleet did not start (see above)");
    got += static_cast<size_t>(r);
  }
  close(ports_pipe[0]);

  std::vector<Agent> hosts(n);
  for (size_t i = 0; i < n; ++i) {
    hosts[i].name = names[i];
    hosts[i].address = fmt::format("127.0.0.1:{}", ports[i]);
    hosts[i].tls =
        TlsFiles{certs + "/ca.pem", certs + "/controller.pem", certs + "/controller.key"};
  }
  auto pool = std::make_shared<AgentPool>();
  std::vector<std::shared_ptr<AgentClient>> clients;
  for (const Agent& h : hosts) clients.push_back(pool->client(h));

  std::printf(
      "fleet_scale_bench: %zu endpoints with mutual TLS on 127.0.0.1 (a stand-in that "
      "answers at once, in a child process), %d rounds, %s\n",
      n, rounds, bench::load_note().c_str());
  RemoteFaults remote(pool, kOwner, kLease, Clock::now(), [](const std::string&) {});
  {
    const double cpu0 = self_cpu_ms();
    const TimePoint t0 = Clock::now();
    remote.connect(hosts);
    std::printf(
        "  connect  %7.1f ms for all (TCP + TLS handshake each), controller CPU %.3f "
        "ms/host\n",
        Ms(Clock::now() - t0).count(), (self_cpu_ms() - cpu0) / static_cast<double>(n));
  }
  Figures async, threaded;
  for (int r = 0; r < rounds; ++r) {
    bench::throw_if_interrupted();
    async_round(remote, clients, hosts, fmt::format("a{}", r), async);
    threaded_round(clients, fmt::format("t{}", r), threaded);
  }
  print_figures("async fan-out (today: one call per host on a warm channel, no thread per host)",
                async, n);
  print_figures("peer, thread per host (before), same channels and rounds", threaded, n);
  const double ratio_apply =
      bench::stats(threaded.apply_ms).p99 / std::max(bench::stats(async.apply_ms).p99, 1e-9);
  const double ratio_cpu = bench::stats(threaded.apply_cpu_ms).median /
                           std::max(bench::stats(async.apply_cpu_ms).median, 1e-9);
  std::printf("  thread per host / async: apply p99 %.2fx, apply CPU %.2fx\n", ratio_apply,
              ratio_cpu);

  {
    // The same endpoints as an inventory, for the command.
    const std::string inventory = dir.path() + "/inventory.yaml";
    std::ofstream out(inventory);
    out << fmt::format(
        "tls: {{ca: {0}/ca.pem, cert: {0}/controller.pem, key: {0}/controller.key}}\n"
        "agents:\n",
        certs);
    for (const Agent& h : hosts)
      out << fmt::format("  - {{name: {}, address: \"{}\"}}\n", h.name, h.address);
    out.close();
    std::vector<double> ms;
    size_t failed = 0;
    for (int r = 0; r < 5; ++r) {
      bool all_up = false;
      ms.push_back(agents_command_ms(inventory, user_limit, all_up));
      failed += all_up ? 0 : 1;
    }
    const bench::Stats s = bench::stats(ms);
    std::printf(
        "`faultline agents --inventory` over the %zu (a new process: every connection "
        "made anew), descriptor limit %llu: median %.0f ms, max %.0f ms; %zu of 5 runs "
        "saw an agent down\n",
        n, static_cast<unsigned long long>(user_limit.rlim_cur), s.median, s.max, failed);
  }

  if (dead > 0) {
    // Renewal with hung hosts among the live ones: each live answer's time from the round's
    // start, with and without them.
    std::vector<std::unique_ptr<DeadHost>> hung;
    std::vector<std::shared_ptr<AgentClient>> mixed = clients;
    for (size_t i = 0; i < dead; ++i) {
      hung.push_back(std::make_unique<DeadHost>());
      Agent a = hosts[0];
      a.name = fmt::format("hung-{}", i);
      a.address = fmt::format("127.0.0.1:{}", hung.back()->port());
      mixed.push_back(pool->client(a));
    }
    // Each live host's answer time from the round's start; `failed` counts the live hosts that
    // did not answer, `hung_failed` the hung hosts that ended by their deadline.
    auto live_answers = [&](const std::vector<std::shared_ptr<AgentClient>>& cs, double& end_ms,
                            size_t& failed, size_t& hung_failed) {
      std::vector<double> at(cs.size(), -1);
      const TimePoint t0 = Clock::now();
      all_at_once(cs.size(), [&](size_t i, auto answered) {
        cs[i]->renew_async(kOwner, kLease, kDeadTimeout, [&, i, answered](Result<RenewResult> r) {
          if (r) at[i] = Ms(Clock::now() - t0).count();
          answered();
        });
      });
      end_ms = Ms(Clock::now() - t0).count();
      std::vector<double> live;
      for (size_t i = 0; i < cs.size(); ++i) {
        if (i < n && at[i] >= 0) live.push_back(at[i]);
        if (i < n && at[i] < 0) ++failed;
        if (i >= n && at[i] < 0) ++hung_failed;
      }
      return live;
    };
    std::vector<double> alone_p99, with_p99, with_end;
    size_t live_failed = 0, hung_failed = 0;
    const int dead_rounds = std::max(3, rounds / 4);
    for (int r = 0; r < dead_rounds; ++r) {
      double end = 0;
      alone_p99.push_back(bench::stats(live_answers(clients, end, live_failed, hung_failed)).p99);
      with_p99.push_back(bench::stats(live_answers(mixed, end, live_failed, hung_failed)).p99);
      with_end.push_back(end);
    }
    std::printf("renewal with %zu hung hosts among the %zu (their deadline %.0f ms), %d rounds:\n",
                dead, n, Ms(kDeadTimeout).count(), dead_rounds);
    std::printf(
        "  live hosts' answers p99: %.1f ms with the hung hosts, %.1f ms without (median "
        "of rounds); the round's last answer (a hung host's deadline) at %.1f ms\n",
        bench::stats(with_p99).median, bench::stats(alone_p99).median,
        bench::stats(with_end).median);
    std::printf("  hung hosts ended by their deadline: %zu of %zu; live hosts that failed: %zu\n",
                hung_failed, dead * static_cast<size_t>(dead_rounds), live_failed);
    // The hung hosts' channels go with the pool before the listeners close.
    mixed.clear();
  }
  return async.errors + threaded.errors == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 1000;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 20;
  const size_t dead = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 10;
  if (n == 0 || rounds <= 0) {
    std::fprintf(stderr, "usage: fleet_scale_bench [N=1000] [ROUNDS=20] [DEAD=10]\n");
    return 2;
  }
  try {
    return run(n, rounds, dead);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fleet_scale_bench: %s\n", e.what());
    return 1;
  }
}
