// Strict JSON for protobuf's JSON mapping. protobuf's JSON parser accepts an
// object that names a key twice and merges the two (a repeated field keeps
// both lists, a scalar takes the last value), while jq, Python and most
// reviewers see only the last one: {"grants": [owner], "grants": [readonly]}
// reads as one read-only grant but loads both. Every JSON input of the
// library and of the arbiter command therefore goes through CheckStrictJson
// first, a RapidJSON SAX pass that refuses what the reviewer and protobuf
// could disagree on, with the line, column and path of the offending key.
//
// Internal: included by src/io and tools/, not installed.

#ifndef ARBITER_SRC_IO_JSON_SCAN_H_
#define ARBITER_SRC_IO_JSON_SCAN_H_

#include <cstddef>
#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace arbiter {
namespace internal {

// Objects and arrays nested deeper than this are refused (protobuf's JSON
// parser has the same limit). The scan itself does not recurse.
inline constexpr int kMaxJsonDepth = 100;

// Removes a leading UTF-8 byte order mark (EF BB BF) from `data`; returns
// whether there was one. Text and JSON loads ignore a BOM (editors on
// Windows write one); a binary protobuf never starts with one.
bool ConsumeUtf8Bom(absl::string_view* data);

// The 1-based line and column of byte `offset` of `data`; columns count
// bytes.
std::pair<int, int> LineColumn(absl::string_view data, size_t offset);

// Checks that `data` is exactly one JSON value (RFC 8259: UTF-8, no comments,
// no trailing text, no NUL bytes), nested at most kMaxJsonDepth deep, in
// which no object names a key twice. Keys are compared after decoding
// escapes ("gr\u0061nts" is "grants").
//
// With `type`, `data` is read as protobuf's JSON mapping of that message, as
// JsonStringToMessage would: keys that name the same field (the proto name
// `principal_id`, the JSON name `principalId`) are the same key, and map
// keys are compared as values of the map's key type ("1" and "01" in a
// map<int32, ...>). Objects of well-known types (Struct, Any) and of unknown
// fields compare their keys exactly.
//
// Returns InvalidArgument "SOURCE:LINE:COLUMN: invalid JSON: WHAT", e.g.
//   org.json:7:5: invalid JSON: duplicate key "role" at grants[0].role
//   (first at 6:5)
//
// With `memory_estimate`, sets it to the bytes protobuf would allocate to
// hold the parsed message (src/io/memory_estimate.h).
absl::Status CheckStrictJson(absl::string_view data,
                             const google::protobuf::Descriptor* type,
                             absl::string_view source,
                             uint64_t* memory_estimate = nullptr);

// The byte offset in `data` (well-formed JSON of `type`) of the key or array
// element that an error message of protobuf's JSON parser names, e.g.
// "(clouds[0].iam_mapping) zz: Cannot find field." or "(revision): invalid
// value ..."; nullopt when the message names no path or the path is not in
// `data`.
absl::optional<size_t> LocateProtoJsonError(
    absl::string_view data, const google::protobuf::Descriptor* type,
    absl::string_view message);

struct JsonParseOptions {
  bool ignore_unknown_fields = false;
  // When positive, refuse (ResourceExhausted) an input whose parsed form
  // would take more than this many bytes of memory per input byte
  // (CheckMemoryEstimate in src/io/memory_estimate.h).
  double max_memory_ratio = 0;
};

// CheckStrictJson, then protobuf's JsonStringToMessage into `message` (which
// is cleared first). Errors are InvalidArgument naming `source`, with a line
// and column when one is known:
//   org.json:3:7: invalid JSON: expected ':'
//   org.json:4:36: not a PolicySet in JSON: (clouds[0]) zz: Cannot find field.
absl::Status ParseStrictJson(absl::string_view data, absl::string_view source,
                             const JsonParseOptions& options,
                             google::protobuf::Message* message);

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_IO_JSON_SCAN_H_
