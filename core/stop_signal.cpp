#include "core/stop_signal.h"

#include <csignal>

namespace faultline {
namespace {
std::atomic<int> g_stop_signal{0};
void on_stop(int signal) {
  g_stop_signal.store(signal);
}
}  // namespace

const std::atomic<int>& stop_signal() {
  return g_stop_signal;
}

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGHUP, &action, nullptr);
  // A write to a guardian that died must fail with EPIPE, not end faultline mid-revert.
  signal(SIGPIPE, SIG_IGN);
}

}  // namespace faultline
