// Lookup page cursors: a v1::LookupCursor (proto/arbiter/v1/
// access_report.proto) serialized, followed by a checksum, in base64url.
//
// A cursor is checked, not trusted. DecodeCursor refuses anything that is
// not a whole cursor of this version (size, alphabet, checksum, fields)
// with InvalidArgument "cursor: ...". CheckCursor then binds it: the
// revision (FailedPrecondition naming both revisions), the snapshot's
// content digest (FailedPrecondition: another state of the same revision),
// the lookup (InvalidArgument: a cursor of another query) and the position
// (InvalidArgument unless the last result it names exists with that id).
// The checksum catches corruption, not deliberate forgery; a forged cursor
// that passes every check can only restart the same lookup, on the same
// snapshot, after a result of its answer.

#ifndef ARBITER_SRC_QUERY_CURSOR_H_
#define ARBITER_SRC_QUERY_CURSOR_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "arbiter/v1/access_report.pb.h"

namespace arbiter {
namespace internal {

inline constexpr uint32_t kCursorVersion = 1;
// Longer strings are refused before decoding (a cursor is about 80).
inline constexpr size_t kMaxCursorLength = 512;

std::string EncodeCursor(const v1::LookupCursor& cursor);

// Parses and checks the format. InvalidArgument on any problem.
absl::StatusOr<v1::LookupCursor> DecodeCursor(absl::string_view text);

// What a cursor must match: the snapshot and the lookup. `last` is checked
// by the caller against its own tables (the position's id).
struct CursorBinding {
  uint64_t revision = 0;
  uint32_t lineage = 0;
  uint64_t digest = 0;
  v1::LookupCursor::Query query = v1::LookupCursor::QUERY_UNSPECIFIED;
  uint32_t principal = 0;
  uint32_t permission = 0;
  uint32_t kind = 0;
  uint32_t scope = 0;
  uint32_t channel = 0;
};

// Checks `cursor` against `binding` (see the file comment).
absl::Status CheckCursor(const v1::LookupCursor& cursor,
                         const CursorBinding& binding);

// The hash of a result's id a cursor carries.
uint64_t IdHash(absl::string_view id);

// A new cursor for `binding`, at `at_unix_nanos`, after result `last`.
v1::LookupCursor MakeCursor(const CursorBinding& binding, int64_t at_unix_nanos,
                            uint32_t last, absl::string_view last_id);

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_QUERY_CURSOR_H_
