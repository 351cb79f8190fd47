#pragma once
// "did you mean ...?" for misspelt keys and names.
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace faultline {

// The closest candidate within an edit distance of 2 (or a third of the word), if any.
std::optional<std::string> closest_match(std::string_view word,
                                         std::span<const std::string_view> candidates);

// " (did you mean 'faults'?)" or "".
std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates);

}  // namespace faultline
