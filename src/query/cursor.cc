#include "src/query/cursor.h"

#include <cstring>
#include <functional>
#include <string_view>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "src/internal/hashing.h"

namespace arbiter {
namespace internal {
namespace {

constexpr size_t kChecksumBytes = 8;

// Deterministic across processes of one build (std::hash of bytes has no
// per-process seed), so a cursor printed by one `arbiter` run is accepted
// by the next.
uint64_t Checksum(absl::string_view bytes) {
  const uint64_t h = std::hash<std::string_view>()(
      std::string_view(bytes.data(), bytes.size()));
  return hashing_internal::Mix(h ^ 0x6c6f6f6b75702d31ull);  // "lookup-1"
}

}  // namespace

uint64_t IdHash(absl::string_view id) {
  return hashing_internal::Mix(
      std::hash<std::string_view>()(std::string_view(id.data(), id.size())));
}

namespace {

absl::Status Invalid(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("cursor: ", why));
}

}  // namespace

std::string EncodeCursor(const v1::LookupCursor& cursor) {
  std::string raw(1, static_cast<char>(kCursorVersion));
  cursor.AppendToString(&raw);
  const uint64_t sum = Checksum(raw);
  for (size_t i = 0; i < kChecksumBytes; ++i) {
    raw.push_back(static_cast<char>((sum >> (8 * i)) & 0xff));
  }
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<v1::LookupCursor> DecodeCursor(absl::string_view text) {
  if (text.size() > kMaxCursorLength) {
    return Invalid(absl::StrCat("too long (", text.size(), " characters; a ",
                                "cursor has at most ", kMaxCursorLength, ")"));
  }
  std::string raw;
  if (!absl::WebSafeBase64Unescape(text, &raw)) {
    return Invalid("not a cursor (bad base64url)");
  }
  if (raw.size() < 1 + kChecksumBytes) return Invalid("truncated");
  const absl::string_view body(raw.data(), raw.size() - kChecksumBytes);
  uint64_t sum = 0;
  for (size_t i = 0; i < kChecksumBytes; ++i) {
    sum |= uint64_t{static_cast<unsigned char>(raw[body.size() + i])}
           << (8 * i);
  }
  if (sum != Checksum(body)) return Invalid("corrupted (checksum mismatch)");
  if (static_cast<unsigned char>(body[0]) != kCursorVersion) {
    return Invalid(absl::StrCat("unsupported version ",
                                static_cast<unsigned char>(body[0])));
  }
  v1::LookupCursor cursor;
  if (!cursor.ParseFromArray(body.data() + 1,
                             static_cast<int>(body.size() - 1))) {
    return Invalid("malformed");
  }
  if (cursor.version() != kCursorVersion) {
    return Invalid(absl::StrCat("unsupported version ", cursor.version()));
  }
  if (cursor.query() != v1::LookupCursor::RESOURCES &&
      cursor.query() != v1::LookupCursor::SUBJECTS) {
    return Invalid("unknown lookup");
  }
  return cursor;
}

absl::Status CheckCursor(const v1::LookupCursor& c, const CursorBinding& b) {
  if (c.revision() != b.revision) {
    return absl::FailedPreconditionError(
        absl::StrCat("cursor: issued at revision ", c.revision(),
                     ", but this snapshot is revision ", b.revision,
                     "; start the lookup again without a cursor"));
  }
  if (c.digest() != b.digest) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cursor: issued for another state of revision ", c.revision(),
        " (lineage ", c.lineage(), "; this snapshot's is ", b.lineage,
        ", and their contents differ); start the lookup again without a "
        "cursor"));
  }
  const bool same_query =
      c.query() == b.query && c.principal() == b.principal &&
      c.permission() == b.permission && c.kind() == b.kind &&
      c.scope() == b.scope && c.channel() == b.channel;
  if (!same_query) {
    return Invalid(
        "issued for another lookup (a cursor continues the request that "
        "returned it: same principal, permission, kind, scope and channel)");
  }
  return absl::OkStatus();
}

v1::LookupCursor MakeCursor(const CursorBinding& b, int64_t at_unix_nanos,
                            uint32_t last, absl::string_view last_id) {
  v1::LookupCursor c;
  c.set_version(kCursorVersion);
  c.set_query(b.query);
  c.set_revision(b.revision);
  c.set_lineage(b.lineage);
  c.set_digest(b.digest);
  c.set_principal(b.principal);
  c.set_permission(b.permission);
  c.set_kind(b.kind);
  c.set_scope(b.scope);
  c.set_channel(b.channel);
  c.set_at_unix_nanos(at_unix_nanos);
  c.set_last(last);
  c.set_last_id_hash(IdHash(last_id));
  return c;
}

}  // namespace internal
}  // namespace arbiter
