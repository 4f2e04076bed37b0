// File: arbiter/policy_io.h
//
// Reading and writing a v1::PolicySet in the three protobuf encodings:
// text format (`.textproto`, `.txtpb`, `.pbtxt`), JSON (`.json`, protobuf's
// JSON mapping) and binary (`.binpb`, `.pb`, `.bin`).
//
// Example:
//
//   absl::StatusOr<arbiter::v1::PolicySet> state =
//       arbiter::LoadPolicySetFile("org.json");
//   if (!state.ok()) std::cerr << state.status().message() << "\n";
//   // "org.json:12:7: expected ':' ..."

#ifndef ARBITER_POLICY_IO_H_
#define ARBITER_POLICY_IO_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "arbiter/v1/policy_set.pb.h"

namespace arbiter {

enum class PolicyFormat {
  kAuto,  // from the file extension, else from the content
  kText,
  kJson,
  kBinary,
};

// "text", "json", "binary" (and "textproto", "txtpb", "pbtxt", "binpb",
// "pb"). Returns InvalidArgument for anything else.
absl::StatusOr<PolicyFormat> ParsePolicyFormat(absl::string_view name);
absl::string_view PolicyFormatName(PolicyFormat format);

// The format implied by a path's extension, or kAuto if none is known.
PolicyFormat FormatFromPath(absl::string_view path);

struct LoadOptions {
  // Larger inputs are refused with ResourceExhausted. Default 256 MiB.
  size_t max_bytes = size_t{256} << 20;
  // JSON only: ignore unknown fields instead of failing. Default false.
  bool ignore_unknown_json_fields = false;
  // Binary and JSON: refuse (ResourceExhausted) an input whose parsed form
  // would take more than this many bytes of memory per input byte, as
  // estimated from the encoding before anything is parsed. protobuf keeps
  // every message in a heap object of about 80 bytes, while an empty element
  // costs 2 bytes of binary and 3 of JSON: without this bound a 20 MB binary
  // of empty principals takes 864 MB to parse. Generated org states take
  // about 5 bytes per input byte in binary and 2 in JSON (SECURITY.md,
  // "Cost model of a load"); inputs whose estimate is at most 1 MiB are
  // never refused. Text format needs no estimate: its densest input
  // (`grants{}`, 8 bytes each) peaks at about 12 bytes per input byte.
  // 0 turns the check off.
  double max_memory_ratio = 16;
};

// Parses `data`. `source` names the input in messages ("org.json:3:7: ...").
// kAuto guesses from the content: JSON starts with '{', text format is
// printable, anything else is binary. A leading UTF-8 byte order mark is
// ignored for text and JSON. JSON is strict RFC 8259, and an object that
// names a key twice (also as "principal_id" and "principalId", the two
// spellings of one field) is refused: protobuf would merge the two. Errors
// are InvalidArgument with the line and column for text and JSON, e.g.
// "org.json:9:3: invalid JSON: duplicate key "grants" at grants (first at
// 7:1)".
absl::StatusOr<v1::PolicySet> ParsePolicySet(
    absl::string_view data, PolicyFormat format,
    absl::string_view source = "<input>", const LoadOptions& options = {});

// Reads and parses a file. NotFound / PermissionDenied / ResourceExhausted /
// InvalidArgument, each naming the path.
absl::StatusOr<v1::PolicySet> LoadPolicySetFile(
    const std::string& path, PolicyFormat format = PolicyFormat::kAuto,
    const LoadOptions& options = {});

// Encodes a state. Text and JSON are human-readable and deterministic.
absl::StatusOr<std::string> SerializePolicySet(const v1::PolicySet& state,
                                               PolicyFormat format);

}  // namespace arbiter

#endif  // ARBITER_POLICY_IO_H_
