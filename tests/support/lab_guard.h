#pragma once
// For tests of `faultline lab`: a temporary lab directory, and `lab down` at the end whichever
// way the test ends. A test skips (77) rather than touch a lab that was already up.
#include <dirent.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/network_namespace.h"

namespace faultline::test {

// Names of fl-lab* namespaces and links on this host.
inline std::vector<std::string> lab_leftovers() {
  namespace fs = std::filesystem;
  std::vector<std::string> found;
  if (DIR* d = opendir("/run/netns")) {
    while (const dirent* e = readdir(d))
      if (std::string(e->d_name).starts_with("fl-lab")) found.push_back(e->d_name);
    closedir(d);
  }
  for (const auto& e : fs::directory_iterator("/sys/class/net"))
    if (e.path().filename().string().starts_with("fl-lab"))
      found.push_back(e.path().filename().string());
  return found;
}

// A temporary lab directory, and `lab down` at the end whatever happened.
struct LabGuard {
  std::string dir;
  LabGuard() {
    skip_unless_netns_available();
    if (!lab_leftovers().empty()) {
      std::printf("SKIPPED: a lab is already up on this host; not touching it\n");
      std::fflush(stdout);
      std::_Exit(77);
    }
    char pattern[] = "/tmp/fl-test-lab-XXXXXX";
    dir = mkdtemp(pattern);
  }
  ~LabGuard() {
    run_command({FAULTLINE_BINARY, "lab", "down", "--dir", dir});
    std::filesystem::remove_all(dir);
  }
  CommandResult lab(const std::string& verb, std::vector<std::string> more = {}) const {
    std::vector<std::string> args = {FAULTLINE_BINARY, "lab", verb, "--dir", dir};
    args.insert(args.end(), more.begin(), more.end());
    return run_command(args, 60000);
  }
};


}  // namespace faultline::test
