// Syntax checks for ids, names and emails, and quoting of hostile strings in
// error messages (truncated, non-printable bytes escaped).

#ifndef ARBITER_SRC_INTERNAL_NAMES_H_
#define ARBITER_SRC_INTERNAL_NAMES_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace arbiter {
namespace internal {

// `"value"` with C escapes, cut to 64 bytes ("...") so a 100,000-byte name
// does not become a 100,000-byte error message.
std::string Quote(absl::string_view value);

bool IsValidUtf8(absl::string_view s);

// Ids: 1..max_length printable ASCII bytes, no spaces, no '/' (paths use it)
// and no '@' (emails use it), so a name tells by itself what it is. Returns an
// empty string when valid, else what is wrong.
std::string CheckId(absl::string_view id, size_t max_length);

// Names: 1..max_length bytes of valid UTF-8 without control characters or
// '/'.
std::string CheckName(absl::string_view name, size_t max_length);

// Emails: 1..max_length printable ASCII bytes, one '@' with text on both
// sides, no spaces.
std::string CheckEmail(absl::string_view email, size_t max_length);

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_INTERNAL_NAMES_H_
