#pragma once
// Errors are values: every fallible call returns Result<T>, whose error quotes the bad input.
#include <fmt/format.h>

#include <expected>
#include <string>
#include <utility>

namespace faultline {

struct Error {
  std::string message;
  // A refusal (the blast radius, a policy) rather than a failure: nothing was attempted.
  bool refused = false;
};

template <class T>
using Result = std::expected<T, Error>;

template <class... Args>
std::unexpected<Error> refuse(fmt::format_string<Args...> format, Args&&... args) {
  return std::unexpected<Error>(Error{fmt::format(format, std::forward<Args>(args)...), true});
}

inline std::unexpected<Error> fail(std::string message) {
  return std::unexpected<Error>(Error{std::move(message)});
}

template <class... Args>
std::unexpected<Error> fail(fmt::format_string<Args...> format, Args&&... args) {
  return std::unexpected<Error>(Error{fmt::format(format, std::forward<Args>(args)...)});
}

}  // namespace faultline

// Passes an error up to the caller; yields the value otherwise (a GNU statement expression).
#define FL_TRY(expr)                                                                \
  ({                                                                                \
    auto fl_try_result_ = (expr);                                                   \
    if (!fl_try_result_) return std::unexpected(std::move(fl_try_result_.error())); \
    std::move(*fl_try_result_);                                                     \
  })

// The same for a Result<void>, as a statement.
#define FL_TRY_VOID(expr)                                                           \
  do {                                                                              \
    auto fl_try_result_ = (expr);                                                   \
    if (!fl_try_result_) return std::unexpected(std::move(fl_try_result_.error())); \
  } while (0)
