#pragma once
// A directory of the test's own under /tmp, removed with everything in it when the test ends,
// whichever way it ends.
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>

namespace faultline::test {

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/fl-test-XXXXXX";
    if (mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace faultline::test
