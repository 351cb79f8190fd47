#pragma once
// What a user without root's privileges meets when writing in a directory: a forked child that
// drops to nobody writes and syncs a file there. disk_fill's proof that the disk is full for a
// service (ENOSPC), and free again after the revert ("ok").
#include <cstdint>
#include <string>

#include "core/result.h"

namespace faultline {

inline constexpr int64_t kProbeWriteBytes = 1024 * 1024;

struct WriteAttempt {
  bool checked = false;
  std::string outcome;  // when checked: "ok", or the errno name ("ENOSPC", "EDQUOT", ...)
  std::string why_not;  // when not checked: why (nobody may not write there, ...)
};

// Writes kProbeWriteBytes as nobody (an O_TMPFILE, or a file unlinked as soon as it is made) in
// `dir`, then fsyncs it; nothing stays. Not checked when nobody cannot create a file there.
Result<WriteAttempt> write_as_nobody(const std::string& dir);

}  // namespace faultline
