#pragma once
// REQUIRE_OK / CHECK_OK: assert that a Result (std::expected<T, Error>, or any result with
// .error().message) holds a value, and when it does not, print the expression and its error.
// A bare REQUIRE(result) only prints "{?}", which says nothing about why the step failed.
#include <catch2/catch.hpp>

#define FL_RESULT_ASSERT_(macro, ...)                                   \
  do {                                                                  \
    const auto& fl_result_ = (__VA_ARGS__);                             \
    if (!fl_result_)                                                    \
      macro(#__VA_ARGS__ << " failed: " << fl_result_.error().message); \
    else                                                                \
      SUCCEED(#__VA_ARGS__);                                            \
  } while (false)

#define REQUIRE_OK(...) FL_RESULT_ASSERT_(FAIL, __VA_ARGS__)
#define CHECK_OK(...) FL_RESULT_ASSERT_(FAIL_CHECK, __VA_ARGS__)

// The value of a Result; when it holds an error, the test stops with the expression and the
// error: `auto dir = REQUIRE_VALUE(find_cgroup_hierarchy("memory"));`.
#define REQUIRE_VALUE(...)                                                       \
  ([&]() {                                                                       \
    auto fl_result_ = (__VA_ARGS__);                                             \
    if (!fl_result_) FAIL(#__VA_ARGS__ << " failed: " << fl_result_.error().message); \
    return std::move(*fl_result_);                                               \
  }())
