// Maps a field path such as `grants[12].scope` (the prefix of every
// validation message) to the line and column where that field was written in
// a protobuf text-format file, so that `arbiter validate` can print
// `org.textproto:57:3: grants[12].scope: unknown project "prj_9"`.

#ifndef ARBITER_TOOLS_TEXT_LOCATOR_H_
#define ARBITER_TOOLS_TEXT_LOCATOR_H_

#include <memory>
#include <utility>

#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "google/protobuf/message.h"
#include "google/protobuf/text_format.h"

namespace arbiter {
namespace cli {

class TextLocator {
 public:
  // Parses `text` into a fresh message of `prototype`'s type, recording where
  // each field was written. Returns nullptr if the text does not parse.
  static std::unique_ptr<TextLocator> Create(
      absl::string_view text, const google::protobuf::Message& prototype);

  // The 1-based line and column of the deepest field of `path` that was
  // written in the text (an oneof name selects its set field), or nullopt
  // when not even the first segment is found or the path is malformed.
  absl::optional<std::pair<int, int>> Locate(absl::string_view path) const;

 private:
  TextLocator() = default;
  std::unique_ptr<google::protobuf::Message> message_;
  google::protobuf::TextFormat::ParseInfoTree tree_;
};

// The field path at the front of a validation message ("grants[3].role" of
// "grants[3].role: unknown role ..."), or empty if the message has none.
absl::string_view MessagePath(absl::string_view message);

}  // namespace cli
}  // namespace arbiter

#endif  // ARBITER_TOOLS_TEXT_LOCATOR_H_
