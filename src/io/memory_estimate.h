// Estimates of the memory a parsed protobuf message takes, computed from its
// encoding before parsing it (the binary encoding here; JSON in the strict
// scan of src/io/json_scan.cc), so that a loader can refuse an input whose
// in-memory form would be out of proportion to its size: protobuf keeps
// every message element in its own heap object (about 80 bytes for an empty
// Principal), while the binary encoding of an empty element is 2 bytes and
// its JSON 3.
//
// The estimates follow protobuf's own accounting (Message::SpaceUsedLong):
// per message element its prototype's SpaceUsedLong plus a pointer slot when
// repeated; per string sizeof(std::string) plus its heap buffer when it is
// longer than the small-string buffer; per repeated scalar its width; per
// unknown binary field an UnknownField and its payload. They allocate
// nothing proportional to the input.
//
// Internal: included by src/io, not installed.

#ifndef ARBITER_SRC_IO_MEMORY_ESTIMATE_H_
#define ARBITER_SRC_IO_MEMORY_ESTIMATE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"

namespace arbiter {
namespace internal {

// Inputs whose estimate is at most this many bytes are never refused for
// their ratio, whatever their size.
inline constexpr uint64_t kMemoryEstimateFloor = uint64_t{1} << 20;

// A repeated field's slot for one element: a pointer to a message or
// string, or a scalar (at most 8 bytes).
inline constexpr uint64_t kRepeatedSlot = sizeof(void*);

// The estimate of an object of a JSON input whose message type is
// not known (an unknown field, a well-known type's object).
inline constexpr uint64_t kGenericObjectEstimate = 128;

// Messages nested deeper than this stop the binary estimate (protobuf's own
// parser stops at the same default depth).
inline constexpr int kMaxEstimateDepth = 100;

// The memory of one string value of `length` bytes held by a message:
// sizeof(std::string), plus its heap buffer beyond the small-string buffer.
inline uint64_t StringEstimate(uint64_t length) {
  return sizeof(std::string) + (length > 15 ? length + 1 : 0);
}

// The memory of an empty message of each type: its prototype's
// SpaceUsedLong, computed once per type.
class MessageSizes {
 public:
  uint64_t Of(const google::protobuf::Descriptor* type);

 private:
  absl::flat_hash_map<const google::protobuf::Descriptor*, uint64_t> sizes_;
};

struct Estimate {
  uint64_t bytes = 0;
  // False when the input is malformed (truncated, an invalid tag, nested
  // deeper than kMaxEstimateDepth): `bytes` then counts what precedes the
  // problem, which a parser would allocate before it finds the problem.
  bool complete = true;
};

// The memory a `type` parsed from the binary encoding `data` takes, from a
// pass over the wire format guided by the descriptors.
Estimate EstimateBinary(absl::string_view data,
                        const google::protobuf::Descriptor* type);

// OK if `estimate` is at most kMemoryEstimateFloor or at most `max_ratio`
// times `input_bytes`; else ResourceExhausted naming `source`, e.g.
//   org.binpb: parsing would take an estimated 84000000 bytes of memory for
//   2000000 bytes of input, more than 16 per input byte
//   (LoadOptions::max_memory_ratio)
absl::Status CheckMemoryEstimate(uint64_t estimate, size_t input_bytes,
                                 double max_ratio, absl::string_view source);

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_IO_MEMORY_ESTIMATE_H_
