// Every file in tests/malformed is a mistake a user makes. Its first lines say exactly what
// faultline must answer, one "# expect: LINE:COL: MESSAGE" line per diagnostic, in order; no
// scenario may come out of it.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "controller/scenario/parse.h"

namespace faultline {
namespace {

constexpr std::string_view kExpectPrefix = "# expect: ";
// The corpus as it is: adding a file means raising this, so that a file that is lost (renamed
// to .yml, deleted in a merge) fails the test instead of quietly testing less.
constexpr size_t kCorpusFiles = 113;

// Every file in the folder but this test's own source, so that none is silently skipped.
std::vector<std::string> corpus_files() {
  std::vector<std::string> files;
  for (const auto& entry :
       std::filesystem::directory_iterator(FAULTLINE_SOURCE_DIR "/tests/malformed"))
    if (entry.path().filename() != "malformed_corpus_test.cpp")
      files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

// The "# expect:" lines that open `path`. "{last_cpu}" stands for the highest CPU number of this
// host, the one part of a message that depends on the machine.
std::vector<std::string> expected_diagnostics(const std::string& path) {
  const std::string last_cpu = std::to_string(sysconf(_SC_NPROCESSORS_CONF) - 1);
  std::vector<std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line) && line.starts_with(kExpectPrefix)) {
    std::string expected = line.substr(kExpectPrefix.size());
    for (size_t at = expected.find("{last_cpu}"); at != std::string::npos;
         at = expected.find("{last_cpu}"))
      expected.replace(at, std::string_view("{last_cpu}").size(), last_cpu);
    out.push_back(std::move(expected));
  }
  return out;
}

}  // namespace

TEST_CASE("each malformed scenario gets exactly its expected diagnostics", "[malformed]") {
  const std::vector<std::string> files = corpus_files();
  CHECK(files.size() == kCorpusFiles);
  for (const std::string& path : files) {
    DYNAMIC_SECTION(std::filesystem::path(path).filename().string()) {
      INFO(path);
      REQUIRE(std::filesystem::is_regular_file(path));
      REQUIRE(std::filesystem::path(path).extension() == ".yaml");
      const std::vector<std::string> expected = expected_diagnostics(path);
      REQUIRE_FALSE(expected.empty());  // a corpus file without expectations tests nothing

      const ParsedScenario parsed = parse_scenario_file(path);
      std::vector<std::string> actual;
      for (const Diagnostic& d : parsed.errors) {
        CHECK(d.where.file == path);
        actual.push_back(fmt::format("{}:{}: {}", d.where.line, d.where.column, d.message));
      }
      REQUIRE(actual == expected);
      REQUIRE_FALSE(parsed.scenario.has_value());
    }
  }
}

}  // namespace faultline
