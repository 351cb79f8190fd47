// `faultline validate` on a 6 MB scenario with an error in each of its 60,000 faults: the first
// 100 errors, then one line that says how many more there were.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "tests/support/child_process.h"
#include "tests/support/many_faults.h"
#include "tests/support/temp_dir.h"

using namespace faultline;

TEST_CASE("validate prints the first 100 errors of 60,000 and how many more there were",
          "[validate]") {
  test::TempDir dir;
  const std::string path = dir.file("dangling.yaml");
  std::ofstream(path) << test::scenario_with_faults(60'000, true);
  const auto r = test::run_command({FAULTLINE_BINARY, "validate", path}, 120000);
  INFO("faultline validate " << path << "\nstderr (first 400 characters):\n"
                             << r.err.substr(0, 400));
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  std::istringstream err(r.err);
  std::vector<std::string> lines;
  for (std::string line; std::getline(err, line);) lines.push_back(line);
  REQUIRE(lines.size() == 101);
  CHECK(lines.back() == path + ": ... and 59,900 more errors (the first 100 are shown)");
}
