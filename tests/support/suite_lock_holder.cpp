// Holds a game-day suite lock for tests/controller/gameday/suite_lock_test.cpp, in a process of
// its own: the test then sees a holder that is not itself, and can SIGKILL it.
//   suite_lock_holder FOLDER INVENTORY|- SUITE STARTED_AT_UNIX_SECONDS [--fork]
// Takes the lock and waits to be killed. With --fork it forks a child (which inherits the
// locked descriptor, as a child that does not exec does) and exits at once, leaving the child
// holding the lock for at most a minute.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "controller/gameday/suite_lock.h"

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s FOLDER INVENTORY|- SUITE STARTED_AT [--fork]\n", argv[0]);
    return 2;
  }
  faultline::SuiteLock::Request request;
  request.folder = argv[1];
  if (std::string(argv[2]) != "-") request.inventory = argv[2];
  request.suite_file = argv[3];
  request.started_at =
      std::chrono::system_clock::time_point(std::chrono::seconds(std::atoll(argv[4])));
  auto lock = faultline::SuiteLock::acquire(request);
  if (!lock) {
    std::fprintf(stderr, "%s\n", lock.error().message.c_str());
    return 1;
  }
  if (argc > 5 && std::string(argv[5]) == "--fork") {
    std::fflush(nullptr);
    if (fork() == 0) {
      alarm(60);
      for (;;) pause();
    }
    _exit(0);  // without releasing: the child's copy of the descriptor keeps the lock
  }
  for (;;) pause();
}
