#pragma once
// Files that are always whole: each write goes to a temporary file beside the target, is
// fsynced and renamed over it, and the folder is fsynced, so a crash or a kill at any moment
// leaves either the previous complete file or the new one, never a torn one. The run's journal
// and the agent's state file are written this way.
#include <string>

#include "core/result.h"

namespace faultline {

// Writes `content` to `path` atomically and durably.
Result<void> write_file_atomically(const std::string& path, const std::string& content);

}  // namespace faultline
