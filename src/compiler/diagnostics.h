// Diagnostics collects validation problems as InvalidArgument statuses whose
// messages start with a field path ("grants[12].scope: unknown project
// \"prj_9\""). The compiler keeps going after a problem so that Validate can
// report all of them, up to a limit.

#ifndef ARBITER_SRC_COMPILER_DIAGNOSTICS_H_
#define ARBITER_SRC_COMPILER_DIAGNOSTICS_H_

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
  explicit Diagnostics(size_t max_errors)
      : max_errors_(max_errors == 0 ? 1 : max_errors) {}

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
  size_t count_ = 0;
  std::vector<absl::Status> errors_;
};

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_COMPILER_DIAGNOSTICS_H_
