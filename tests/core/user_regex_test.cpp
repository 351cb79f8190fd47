// The regular expressions users write (cmdline selectors, body_matches, stdout_matches):
// RE2's syntax, searched anywhere in the text, in time linear in it, over the whole text.
#include "core/user_regex.h"

#include <catch2/catch.hpp>

#include <string>

#include "tests/support/require_ok.h"

namespace faultline {
namespace {

TEST_CASE("user regex: searched anywhere, anchors and classes as usual", "[regex]") {
  const auto re = UserRegex::compile("worker [0-9]+$");
  REQUIRE_OK(re);
  CHECK(re->pattern() == "worker [0-9]+$");
  CHECK(re->search("nginx: worker 12"));
  CHECK_FALSE(re->search("nginx: worker 12 x"));
  CHECK_FALSE(re->search("nginx: master"));
  const auto anchored = UserRegex::compile("^java ");
  REQUIRE_OK(anchored);
  CHECK(anchored->search("java -jar app.jar"));
  CHECK_FALSE(anchored->search("/usr/bin/java -jar app.jar"));
}

TEST_CASE("user regex: the whole of a long command line is searched", "[regex]") {
  // A Java command line: the main class comes after a classpath of hundreds of kilobytes.
  const std::string cmdline = "java -cp " + std::string(300000, 'x') + " com.example.Main";
  const auto re = UserRegex::compile("com\\.example\\.Main$");
  REQUIRE_OK(re);
  CHECK(re->search(cmdline));
}

TEST_CASE("user regex: a pattern that backtracking makes exponential is answered", "[regex]") {
  // With std::regex this took 2.8 s on 8 KB even in libstdc++'s polynomial mode (it was
  // quadratic), and a hang when backtracking; RE2 answers in one pass.
  const auto re = UserRegex::compile("(.*)*!");
  REQUIRE_OK(re);
  CHECK_FALSE(re->search(std::string(1 << 20, 'a')));
  CHECK(re->search(std::string(1 << 20, 'a') + "!"));
  const auto nested = UserRegex::compile("(x+x+)+y");
  REQUIRE_OK(nested);
  CHECK_FALSE(nested->search(std::string(100000, 'x')));
}

TEST_CASE("user regex: what does not compile says why", "[regex]") {
  CHECK(UserRegex::compile("worker(").error().message == "missing ): worker(");
  CHECK(UserRegex::compile("[z-a]").error().message == "invalid character class range: z-a");
  CHECK(UserRegex::compile("^(?!fl-test-)").error().message ==
        "invalid perl operator: (?!; look-ahead and look-behind ((?=, (?!, (?<=, (?<!) are not "
        "supported, as patterns match in time linear in the text (RE2 syntax): match what you "
        "want directly");
  CHECK_FALSE(UserRegex::compile("(a)\\1").has_value());  // no back-references
}

TEST_CASE("regex_not_starting_with says what a look-ahead said, in RE2's syntax", "[regex]") {
  CHECK(regex_not_starting_with("1 ") == "(?:[^1]|1[^\\x{20}]|(?:|1)$)");
  const auto re = UserRegex::compile("^fl-bench-" + regex_not_starting_with("1 "));
  REQUIRE(re);
  CHECK(re->search("fl-bench-2 sleep"));
  CHECK(re->search("fl-bench-12 sleep"));
  CHECK(re->search("fl-bench-1x"));
  CHECK(re->search("fl-bench-1"));
  CHECK(re->search("fl-bench-"));
  CHECK_FALSE(re->search("fl-bench-1 sleep"));
  CHECK_FALSE(re->search("other-2 sleep"));
  // Punctuation is taken literally, not as pattern syntax.
  const auto dots = UserRegex::compile("^" + regex_not_starting_with("a.b"));
  REQUIRE(dots);
  CHECK(dots->search("axb"));
  CHECK_FALSE(dots->search("a.b c"));
  const auto none = UserRegex::compile("^x" + regex_not_starting_with(""));
  REQUIRE(none);
  CHECK_FALSE(none->search("x"));
  CHECK_FALSE(none->search("xy"));
}

}  // namespace
}  // namespace faultline
