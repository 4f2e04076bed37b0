// gmock matchers for absl::Status and absl::StatusOr, named as in newer
// Abseil (absl/status/status_matchers.h, absent from Debian's 20220623) so
// they can be swapped for the real ones later.

#ifndef ARBITER_TESTS_TESTING_STATUS_MATCHERS_H_
#define ARBITER_TESTS_TESTING_STATUS_MATCHERS_H_

#include <ostream>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace arbiter {
namespace testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

MATCHER(IsOk, "is OK") {
  const absl::Status& s = GetStatus(arg);
  if (!s.ok()) *result_listener << "status: " << s;
  return s.ok();
}

// StatusIs(code, message_matcher): the status (or StatusOr's status) has
// `code` and a message matching `message_matcher` (a string or a matcher such
// as HasSubstr).
class StatusIsMatcher {
 public:
  StatusIsMatcher(absl::StatusCode code,
                  ::testing::Matcher<const std::string&> message)
      : code_(code), message_(std::move(message)) {}

  template <typename T>
  bool MatchAndExplain(const T& arg,
                       ::testing::MatchResultListener* listener) const {
    const absl::Status& s = GetStatus(arg);
    *listener << "whose status is " << s;
    return s.code() == code_ && message_.Matches(std::string(s.message()));
  }
  void DescribeTo(std::ostream* os) const {
    *os << "has status code " << absl::StatusCodeToString(code_)
        << " and a message that ";
    message_.DescribeTo(os);
  }
  void DescribeNegationTo(std::ostream* os) const {
    *os << "does not have status code " << absl::StatusCodeToString(code_)
        << " or has a message that ";
    message_.DescribeNegationTo(os);
  }

 private:
  absl::StatusCode code_;
  ::testing::Matcher<const std::string&> message_;
};

template <typename MessageMatcher>
::testing::PolymorphicMatcher<StatusIsMatcher> StatusIs(
    absl::StatusCode code, MessageMatcher&& message) {
  return ::testing::MakePolymorphicMatcher(StatusIsMatcher(
      code, ::testing::MatcherCast<const std::string&>(
                std::forward<MessageMatcher>(message))));
}

}  // namespace testing
}  // namespace arbiter

#define ARBITER_TESTING_CONCAT_INNER_(a, b) a##b
#define ARBITER_TESTING_CONCAT_(a, b) ARBITER_TESTING_CONCAT_INNER_(a, b)

// ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(state));
#define ASSERT_OK_AND_ASSIGN(lhs, rexpr)                                    \
  ASSERT_OK_AND_ASSIGN_IMPL_(ARBITER_TESTING_CONCAT_(statusor_, __LINE__), \
                             lhs, rexpr)
#define ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                               \
  ASSERT_TRUE(statusor.ok()) << statusor.status();       \
  lhs = std::move(statusor).value()

#define ASSERT_OK(expr) ASSERT_THAT((expr), ::arbiter::testing::IsOk())
#define EXPECT_OK(expr) EXPECT_THAT((expr), ::arbiter::testing::IsOk())

#endif  // ARBITER_TESTS_TESTING_STATUS_MATCHERS_H_
