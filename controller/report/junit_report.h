#pragma once
// JUnit XML in the shape GitLab, Jenkins and GitHub Actions' report actions read: one
// testsuite per scenario; one testcase per (probe, phase), per fault on each host, and one for
// the revert. GitLab shows `classname` as the suite and keeps only the first of equal names,
// so every name says what it checks and is unique within its scenario.
// docs/schema/junit.xsd is the shape, checked in tests with `xmllint --schema`.
#include <string>

#include "controller/report/report_set.h"

namespace faultline {

std::string format_junit(const ReportSet& set);

}  // namespace faultline
