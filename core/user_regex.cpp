#include "core/user_regex.h"

#include <re2/re2.h>

namespace faultline {

Result<UserRegex> UserRegex::compile(std::string_view pattern) {
  RE2::Options options;
  options.set_log_errors(false);  // the error is returned to the caller, not printed to stderr
  auto re = std::make_shared<const RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re->ok()) {
    if (re->error_code() == RE2::ErrorBadPerlOp)
      return fail("{}; look-ahead and look-behind ((?=, (?!, (?<=, (?<!) are not supported, "
                  "as patterns match in time linear in the text (RE2 syntax): match what you want "
                  "directly",
                  re->error());
    return fail("{}", re->error());
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
