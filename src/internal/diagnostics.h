// Diagnostics collects validation problems as InvalidArgument statuses whose
// messages start with a field path ("grants[12].scope: unknown project
// \"prj_9\""). The compiler keeps going after a problem so that Validate can
// report all of them, up to a limit.
//
// Breaches of the grant-time rules (access-model §4.3: a project grant
// without a cloud grant, a project role above a deny role's limit, roles
// that cannot be held together) are warnings, FailedPrecondition statuses
// with the same kind of message: such a state still loads, because a
// revocation can produce it and refusing it would keep the older, more
// permissive state serving. With `strict` they are errors.

#ifndef ARBITER_SRC_INTERNAL_DIAGNOSTICS_H_
#define ARBITER_SRC_INTERNAL_DIAGNOSTICS_H_

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace arbiter {
namespace internal {

class Diagnostics {
 public:
  explicit Diagnostics(size_t max_errors, bool strict = false)
      : max_errors_(max_errors == 0 ? 1 : max_errors), strict_(strict) {}

  void Add(absl::string_view path, absl::string_view message) {
    ++count_;
    if (errors_.size() < max_errors_) {
      errors_.push_back(absl::InvalidArgumentError(
          path.empty() ? std::string(message)
                       : absl::StrCat(path, ": ", message)));
    }
  }

  // Problems that are not about one field (limits, internal failures).
  void AddStatus(absl::Status status) {
    ++count_;
    if (errors_.size() < max_errors_) errors_.push_back(std::move(status));
  }

  // A breach of a grant-time rule: a warning, or an error when strict.
  void AddGrantRule(absl::string_view path, absl::string_view message) {
    if (strict_) {
      Add(path, message);
      return;
    }
    ++warning_count_;
    if (warnings_.size() < max_errors_) {
      warnings_.push_back(absl::FailedPreconditionError(
          absl::StrCat(path, ": ", message)));
    }
  }
  const std::vector<absl::Status>& warnings() const { return warnings_; }
  std::vector<absl::Status> TakeWarnings() { return std::move(warnings_); }
  size_t warning_count() const { return warning_count_; }

  bool ok() const { return count_ == 0; }
  // True once the limit is reached: callers may stop early.
  bool full() const { return errors_.size() >= max_errors_; }
  size_t count() const { return count_; }
  const std::vector<absl::Status>& errors() const { return errors_; }
  std::vector<absl::Status> TakeErrors() { return std::move(errors_); }

  // The first problem, with "(and N more problems)" appended when needed.
  absl::Status ToStatus() const {
    if (ok()) return absl::OkStatus();
    const absl::Status& first = errors_.front();
    if (count_ == 1) return first;
    return absl::Status(
        first.code(),
        absl::StrCat(first.message(), " (and ", count_ - 1,
                     count_ == 2 ? " more problem)" : " more problems)"));
  }

 private:
  size_t max_errors_;
  bool strict_;
  size_t count_ = 0;
  size_t warning_count_ = 0;
  std::vector<absl::Status> errors_;
  std::vector<absl::Status> warnings_;
};

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_INTERNAL_DIAGNOSTICS_H_
