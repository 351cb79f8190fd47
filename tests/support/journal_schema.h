#pragma once
// Every journal a test makes is checked against the documented schema
// (docs/schema/journal.schema.json), with Debian's python3-jsonschema.
#include <catch2/catch.hpp>
#include <string>

#include "tests/support/child_process.h"

namespace faultline::test {

inline void check_journal_schema(const std::string& journal) {
  const std::vector<std::string> argv = {
      std::string(FAULTLINE_SOURCE_DIR) + "/tests/support/check_journal.py",
      std::string(FAULTLINE_SOURCE_DIR) + "/docs/schema/journal.schema.json", journal};
  const CommandResult r = run_command(argv);
  INFO(describe_command(argv, r));
  CHECK(r.exit_code == 0);
}

}  // namespace faultline::test
