#pragma once
// The time zone tests need the system's tzdata (Debian's `tzdata`, in scripts/install-deps.sh).
#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace faultline::test {

inline void skip_without_tzdata() {
  if (std::filesystem::exists("/usr/share/zoneinfo/Europe/Berlin")) return;
  std::printf("skipped: no tzdata (/usr/share/zoneinfo/Europe/Berlin); apt-get install tzdata\n");
  std::exit(77);
}

}  // namespace faultline::test
