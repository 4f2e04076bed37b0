// The selector language of cloud IAM mapping rules: Kubernetes label-selector
// syntax over three keys, plus Arbiter's `key~=PATTERN`.
//
//   selector     := "" | requirement ("," requirement)*
//   requirement  := key | "!" key
//                 | key ("=" | "==" | "!=") value
//                 | key ("in" | "notin") "(" value ("," value)* ")"
//                 | key "~=" pattern
//   key          := workload-type | project | user
//   value        := [A-Za-z0-9@.+_-]+
//
// Spaces and tabs may surround every token. A pattern runs to the next comma
// that is not inside parentheses, a character class, a {n,m} repetition or a
// \Q...\E quote; spaces around it are dropped (write `\ ` or `[ ]` for a
// significant leading or trailing space). Control characters are rejected
// everywhere; bytes >= 0x80 are allowed only inside patterns.
//
// This file only parses. Compiling patterns and the meaning of each
// requirement live in src/iam/cloud_mapping.{h,cc}.

#ifndef ARBITER_SRC_IAM_SELECTOR_H_
#define ARBITER_SRC_IAM_SELECTOR_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace arbiter {
namespace internal {

enum class SelectorKey : uint8_t { kWorkloadType = 0, kProject = 1, kUser = 2 };
inline constexpr int kNumSelectorKeys = 3;

// "workload-type", "project", "user".
absl::string_view SelectorKeyName(SelectorKey key);

enum class SelectorOp : uint8_t {
  kEquals,     // k=v, k==v
  kNotEquals,  // k!=v
  kIn,         // k in (a,b)
  kNotIn,      // k notin (a,b)
  kExists,     // k
  kNotExists,  // !k
  kMatches,    // k~=PATTERN (full match)
};

struct SelectorRequirement {
  SelectorKey key = SelectorKey::kProject;
  SelectorOp op = SelectorOp::kExists;
  // kEquals, kNotEquals: one value; kIn, kNotIn: one or more, in the order
  // written (duplicates kept); kMatches: the pattern; otherwise none.
  std::vector<std::string> values;
  // Byte offset in the selector of each entry of `values`.
  std::vector<size_t> value_offsets;
  // The requirement's text is selector[begin, end), without surrounding
  // spaces.
  size_t begin = 0;
  size_t end = 0;
};

struct ParsedSelector {
  // Empty: the selector matches every workload.
  std::vector<SelectorRequirement> requirements;
};

// Parses `selector`. On error returns InvalidArgument "column N: what", N
// being the 1-based byte column of the fault. Workload-type values must be
// job, service or workspace; patterns are not compiled here.
absl::StatusOr<ParsedSelector> ParseSelector(absl::string_view selector);

// A canonical rendering that ParseSelector reads back to the same
// requirements: `k=v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`,
// `k~=p`, joined by ",".
std::string FormatSelector(const ParsedSelector& selector);

// Where the pattern that starts at text[start] ends: returns the offset of
// the first comma outside parentheses, character classes, {n,m} repetitions
// and \Q...\E, or text.size(). `*significant_end` receives the end of the
// pattern without trailing unescaped spaces; `*closed` is false when the text
// ends inside one of those constructs (such a pattern can only be the last
// requirement of a selector).
size_t ScanPattern(absl::string_view text, size_t start,
                   size_t* significant_end, bool* closed);

// True for the bytes a value may contain.
inline bool IsSelectorValueChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '@' || c == '.' || c == '+' ||
         c == '-' || c == '_';
}

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_IAM_SELECTOR_H_
