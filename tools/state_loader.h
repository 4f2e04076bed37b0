// Reading policy files for the arbiter command: size limits checked before
// reading (a 1 GB file is refused without touching its bytes), directories
// and unreadable paths refused with one-line messages, `-` for standard
// input, the built-in demo, and binary inputs that carry unknown fields (a
// sign of junk or of the wrong message type) refused.

#ifndef ARBITER_TOOLS_STATE_LOADER_H_
#define ARBITER_TOOLS_STATE_LOADER_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "arbiter/policy_io.h"
#include "arbiter/v1/policy_set.pb.h"
#include "google/protobuf/message.h"

namespace arbiter {
namespace cli {

// Reads a whole file, or standard input for "-". Errors (one line, naming
// the path): NotFound, PermissionDenied, InvalidArgument for a directory,
// ResourceExhausted when larger than `max_bytes`.
absl::StatusOr<std::string> ReadInputFile(const std::string& path,
                                          size_t max_bytes);

struct LoadedState {
  v1::PolicySet state;
  // The name used in messages: the path as given, "<stdin>" or "demo".
  std::string name;
  // The format that was parsed.
  PolicyFormat format = PolicyFormat::kAuto;
  size_t bytes = 0;
  // The file's content when it was text format and `keep_text` was asked
  // (used to locate validation problems).
  std::string text;
};

struct StateLoadOptions {
  // kAuto: from the extension, else from the content.
  PolicyFormat format = PolicyFormat::kAuto;
  size_t max_bytes = LoadOptions().max_bytes;
  bool keep_text = false;
};

// Loads and parses a policy file: ReadInputFile, then ParseStateData.
absl::StatusOr<LoadedState> LoadStateFile(const std::string& path,
                                          const StateLoadOptions& options);

// Parses the content of the policy file `path` ("-" for standard input).
// Errors are InvalidArgument, with file:line:column for text and JSON.
absl::StatusOr<LoadedState> ParseStateData(std::string data,
                                           const std::string& path,
                                           const StateLoadOptions& options);

// Removes a leading UTF-8 byte order mark, which text and JSON inputs may
// carry (editors on Windows write one) and which parsers ignore.
void StripUtf8Bom(std::string* data);

// The built-in demo organization (its text is kept when asked).
LoadedState LoadDemoState(bool keep_text);

// The format that `path` and `data` imply: the extension first, then the
// content (JSON starts with '{' after any byte order mark and whitespace,
// text is printable, else binary).
PolicyFormat DetectFormat(absl::string_view path, absl::string_view data);

// Parses any message in text format or JSON, for files other than policy
// sets (test suites). A leading UTF-8 byte order mark is ignored. JSON is
// strict (internal::ParseStrictJson): a key named twice in one object, in
// either spelling of a field, is refused. Errors are one line:
// "source:line:column: message", or "source: message" when protobuf's JSON
// error names no place.
absl::Status ParseTextOrJson(absl::string_view data, PolicyFormat format,
                             absl::string_view source,
                             google::protobuf::Message* message);

// True if `message` or any message inside it holds fields unknown to its
// type (what binary junk or another message type parses into).
bool HasUnknownFields(const google::protobuf::Message& message);

// Collapses a status message to one line (protobuf's JSON errors span
// several) and caps its length.
std::string OneLine(absl::string_view message);

}  // namespace cli
}  // namespace arbiter

#endif  // ARBITER_TOOLS_STATE_LOADER_H_
