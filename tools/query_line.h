// One line of `arbiter check --queries`: a flat JSON object naming an access
// request. A hand-written scanner (no DOM, no allocation once the scratch
// buffers have grown) so that hundreds of thousands of lines per second can
// be parsed; pure, so that a fuzzer can call it directly.
//
//   {"id": 7, "principal": "alice@acme.com", "permission": "project.view",
//    "resource": "prod/web", "org": "acme", "channel": "console",
//    "at": "2026-12-01T00:00:00Z"}
//
// Keys: principal, permission, resource (strings, required); org, channel,
// at (strings, optional); id (string or number, optional, echoed verbatim).
// A null value means the key is absent. Unknown keys, duplicate keys (also
// when spelled with escapes, "pr\u0069ncipal"), other value types, strings
// that are not UTF-8, numbers that are not JSON numbers (`01`, `1.`, `+1`)
// and trailing content are errors. An "id" is echoed exactly as written.

#ifndef ARBITER_TOOLS_QUERY_LINE_H_
#define ARBITER_TOOLS_QUERY_LINE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace arbiter {
namespace cli {

struct QueryLine {
  // Each view points into the line or into the scratch buffer given to
  // ParseQueryLine (when the JSON string had escapes). Empty when absent.
  absl::string_view principal;
  absl::string_view permission;
  absl::string_view resource;
  absl::string_view org;
  absl::string_view channel;
  absl::string_view at;
  // The raw JSON token of "id" (`"a-1"` with its quotes, or `17`); empty
  // when absent. Safe to copy into JSON output as is.
  absl::string_view id;
};

// Holds decoded strings that contained escapes. Reuse one across lines.
struct QueryScratch {
  std::string strings[6];
};

// Parses one line (without its newline; surrounding whitespace is allowed).
// On error returns InvalidArgument with a short message naming the column
// ("column 14: expected ':'"); `out->id` is set if "id" was read before the
// error.
absl::Status ParseQueryLine(absl::string_view line, QueryLine* out,
                            QueryScratch* scratch);

// True if the line holds only whitespace (such lines are skipped).
bool IsBlankLine(absl::string_view line);

// Appends `s` as a JSON string literal (quotes included), escaping '"', '\\'
// and control characters. UTF-8 is copied as it is; bytes that are not
// well-formed UTF-8 become \ufffd, so the output is always valid JSON.
void AppendJsonString(absl::string_view s, std::string* out);

}  // namespace cli
}  // namespace arbiter

#endif  // ARBITER_TOOLS_QUERY_LINE_H_
