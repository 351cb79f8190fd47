// Idle overhead: faultline's own CPU time during a scenario with one TCP probe a second and no
// fault activity, as a share of one core. The probe's target is a listening socket of this
// benchmark on 127.0.0.1.
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "bench/bench_util.h"

using namespace faultline;

int main(int argc, char** argv) {
  const std::string binary = argc > 1 ? argv[1] : "build/controller/faultline";
  const int seconds = argc > 2 ? std::atoi(argv[2]) : 60;
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  listen(listener, 1024);
  const int port = ntohs(addr.sin_port);
  // Accept and close connections so the backlog never fills.
  std::thread acceptor([&] {
    for (;;) {
      const int c = accept(listener, nullptr, nullptr);
      if (c < 0) return;
      close(c);
    }
  });

  const std::string path = "/tmp/faultline-bench-idle.yaml";
  std::ofstream(path) << fmt::format(R"(version: 1
title: idle
blast_radius: {{max_duration: 10m}}
phases: {{before: {}s, after: 1s}}
recovery: {{within: 1s}}
steady_state:
  - name: port
    tcp: {{address: "127.0.0.1:{}", timeout: 500ms}}
    expect: {{connects: true}}
    interval: 1s
faults: []
)",
                                     seconds - 1, port);
  const auto start = std::chrono::steady_clock::now();
  const pid_t tool = bench::spawn({binary, "run", path});
  const double cpu = bench::wait_cpu_seconds(tool);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("idle overhead, %d s scenario with one TCP probe a second:\n", seconds);
  std::printf("  faultline used %.3f s of CPU in %.1f s: %.3f%% of a core (target < 1%%)\n", cpu,
              wall, 100.0 * cpu / wall);
  shutdown(listener, SHUT_RDWR);
  close(listener);
  acceptor.join();
  std::remove(path.c_str());
  return 0;
}
