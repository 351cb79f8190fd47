#include "core/user_regex.h"

#include <re2/re2.h>

namespace faultline {

namespace {

std::string why_not(const RE2& re) {
  if (re.error_code() == RE2::ErrorBadPerlOp)
    return re.error() +
           "; look-ahead and look-behind ((?=, (?!, (?<=, (?<!) are not supported, as patterns "
           "match in time linear in the text (RE2 syntax): match what you want directly";
  return re.error();
}

}  // namespace

Result<UserRegex> UserRegex::compile(std::string_view pattern, std::string_view what) {
  RE2::Options options;
  options.set_log_errors(false);  // the error is returned to the caller, not printed to stderr
  auto re = std::make_shared<const RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re->ok()) {
    if (what.empty()) return fail("{}", why_not(*re));
    return fail("{} is not a valid regular expression: {}", what, why_not(*re));
  }
  return UserRegex(std::move(re));
}

bool UserRegex::search(std::string_view text) const {
  return RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *re_);
}

const std::string& UserRegex::pattern() const {
  return re_->pattern();
}

}  // namespace faultline
