#include "core/user_regex.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <cctype>

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

std::string regex_not_starting_with(std::string_view prefix) {
  // Letters and digits as they are, punctuation escaped, anything else by its code.
  const auto literal = [](char c) -> std::string {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) return std::string(1, c);
    if (std::ispunct(u)) return std::string{'\\', c};
    return fmt::format("\\x{{{:02x}}}", u);
  };
  if (prefix.empty()) return "[^\\s\\S]";  // every text starts with "": nothing follows
  // A text that does not start with the prefix leaves it at some character (the prefix's first
  // i characters, then another character), or ends before the prefix is complete.
  std::string differs;
  std::string shorter;
  std::string head;
  for (size_t i = 0; i < prefix.size(); ++i) {
    differs += fmt::format("{}{}[^{}]", i ? "|" : "", head, literal(prefix[i]));
    shorter += fmt::format("{}{}", i ? "|" : "", head);
    head += literal(prefix[i]);
  }
  return fmt::format("(?:{}|(?:{})$)", differs, shorter);
}

}  // namespace faultline
