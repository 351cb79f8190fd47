#pragma once
#include "injectors/injector.h"

namespace faultline {
// Fills a filesystem to a given level with one file held open (an O_TMPFILE where the filesystem
// has it, so the kernel frees the space if faultline dies), and shows that an unprivileged write
// there gets ENOSPC until the revert.
InjectorDescriptor disk_fill_descriptor();
}  // namespace faultline
