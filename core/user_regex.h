#pragma once
// The one regular expression type for what users write: process selectors' cmdline, probes'
// body_matches and stdout_matches. RE2 (Google's, Debian's libre2) matches in time linear in the
// text and compiles without recursion, so no pattern a scenario or an RPC carries can stall a
// probe or the agent ("(.*)*!" on a long command line), overflow a stack ("((((..."), or need the
// text cut short (a Java command line's main class after a 10 KB classpath is still searched).
// Syntax: RE2's, which is ECMAScript's without back-references and look-around.
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

namespace re2 {
class RE2;
}

namespace faultline {

class UserRegex {
 public:
  // The error says what is wrong in the pattern, in RE2's words ("missing ): (a"); with `what`
  // (the field, e.g. "body_matches"), as "<what> is not a valid regular expression: <why>".
  static Result<UserRegex> compile(std::string_view pattern, std::string_view what = {});
  // Whether the pattern matches anywhere in `text` (unanchored, as grep).
  bool search(std::string_view text) const;
  const std::string& pattern() const;

 private:
  explicit UserRegex(std::shared_ptr<const re2::RE2> re) : re_(std::move(re)) {}
  std::shared_ptr<const re2::RE2> re_;  // shared: matchers are copied, RE2 is not copyable
};

// A piece of pattern that matches where the rest of the text does not start with `prefix`: what
// the look-ahead "(?!prefix)" said, in the syntax RE2 has (e.g. "^nginx " +
// regex_not_starting_with("-g ")). Every character of `prefix` is taken literally. For a policy
// that protects every process but those of one command line.
std::string regex_not_starting_with(std::string_view prefix);

}  // namespace faultline
