#pragma once
// Finding the guardian of a faultline process (agent/local/guardian.h), so that a test can kill both,
// as the OOM killer or `kill -9 -PGID` would.
#include <sys/types.h>

#include <optional>

namespace faultline::test {

// The child of `parent` named faultline-guard, if there is one.
std::optional<pid_t> guardian_of(pid_t parent);

// SIGKILLs the guardian of `parent` and waits until it is gone; false if it had none.
bool kill_guardian_of(pid_t parent);

}  // namespace faultline::test
