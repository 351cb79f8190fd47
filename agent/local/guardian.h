#pragma once
// The last line of defence when faultline (or faultline-agent) dies without reverting: a small
// process, forked before any thread starts, that holds the lock of the state file and performs
// every undo plan left in it if its parent goes away without saying goodbye (SIGKILL, a crash,
// the OOM killer). It needs none of the parent's memory: the state file (agent/local/state_file.h) is
// the whole of what it knows, and the parent writes each fault's plan there before acting.
#include <sys/types.h>

#include <string>

namespace faultline {

struct Guardian {
  pid_t pid = -1;
  int pipe = -1;  // the parent's end; closing it without "bye" sets the guardian to work
};

// Forks the guardian for `state_path`. `keep_fd` (the state file's lock) stays open in it, so a
// restarted agent waits until the guardian has finished. With `remove_when_empty`, a file left
// with no entry is removed with its lock (a local run's own file). Call before any thread starts.
Guardian start_guardian(const std::string& state_path, int keep_fd, bool remove_when_empty);
// A clean end: the guardian exits and performs nothing.
void dismiss_guardian(Guardian& guardian);

}  // namespace faultline
