// The audit chain's byte formats, version 1. What a record's hash covers and
// what a checkpoint's signature signs; docs/audit.md explains why.
//
// Chain (one per organization):
//
//   hash(record)   = SHA-256(prev_hash || canonical(record))      32 bytes
//   prev_hash      = hash of the organization's previous record;
//                    32 zero bytes for sequence 1
//
// canonical(record), fields in this order, nothing else:
//
//   magic          8 bytes   "ARBAUD01" (format version 1)
//   sequence       u64
//   org_id         str
//   timestamp      str
//   user_id        str
//   source_ip      str
//   action         str
//   entity         str
//   resource_id    str
//   revision       u64
//   user.name      str
//   user.email     str
//   metadata       value     'n' when null, else an object ('o')
//   refusal        0x00                       absent
//                  0x01 str(code) str(message)
//   checkpoint     0x00                       absent
//                  0x01 str(reason) u64(export_time) str(key_id)
//                  (the signature is not covered: it signs the hash)
//
//   u64            8 bytes, big-endian (export_time: two's complement)
//   str            u32 big-endian byte length, then the bytes (UTF-8)
//   value          'n'                        null
//                  'f' | 't'                  false | true
//                  'd' + 8 bytes              number: IEEE 754 binary64
//                                             bits, big-endian
//                  's' str                    string
//                  'l' u32 count, values      list
//                  'o' u32 count, then count  object, keys in increasing
//                    (str key, value) pairs   byte order
//
// Checkpoint signature: Ed25519 (RFC 8032, pure) over
//
//   "ARBAUD01-CHECKPOINT" (19 bytes) || str(org_id) || u64(sequence) ||
//   hash(checkpoint record)                                  32 bytes
//
// key_id = the first 16 hex digits (lower case) of SHA-256 over the raw
// 32-byte Ed25519 public key.
//
// Internal: not installed.

#ifndef ARBITER_SRC_AUDIT_FORMAT_H_
#define ARBITER_SRC_AUDIT_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "arbiter/v1/audit.pb.h"

namespace arbiter {
namespace internal {

inline constexpr absl::string_view kAuditMagic = "ARBAUD01";
inline constexpr absl::string_view kAuditSignatureDomain =
    "ARBAUD01-CHECKPOINT";
inline constexpr size_t kAuditHashBytes = 32;
inline constexpr size_t kAuditSignatureBytes = 64;
inline constexpr size_t kAuditKeyIdHexDigits = 16;
// Metadata nested deeper than this is refused on append (and on reading).
inline constexpr int kAuditMaxMetadataDepth = 16;

inline constexpr absl::string_view kCheckpointName = "CHECKPOINT";
inline constexpr absl::string_view kCheckpointReasonInterval = "interval";
inline constexpr absl::string_view kCheckpointReasonExport = "export";

// 32 zero bytes: the prev_hash of sequence 1.
const std::string& AuditGenesisHash();

// Appends canonical(record) to *out. The record must be encodable (see
// CheckAuditRecordEncodable): metadata values all set, strings shorter than
// 4 GiB.
void AppendCanonicalAuditRecord(const v1::AuditRecord& record,
                                std::string* out);

// SHA-256(prev_hash || canonical(record)), 32 bytes.
std::string ComputeAuditHash(absl::string_view prev_hash,
                             const v1::AuditRecord& record);

// SHA-256 of `data`, 32 bytes.
std::string Sha256(absl::string_view data);

// The message a checkpoint's signature signs: the domain, org_id, sequence
// and the record's hash (which must be set).
std::string CheckpointSignedMessage(const v1::AuditRecord& checkpoint);

// Lower-case hex of `bytes`.
std::string HexEncode(absl::string_view bytes);
// Decodes exactly lower-case hex of even length; false otherwise.
bool HexDecode(absl::string_view hex, std::string* bytes);

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_AUDIT_FORMAT_H_
