#include "tools/text_locator.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace arbiter {
namespace cli {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using google::protobuf::TextFormat;

class SilentErrors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int, google::protobuf::io::ColumnNumber,
                const std::string&) override {}
};

bool IsPathChar(char c) {
  return absl::ascii_isalnum(c) || c == '_' || c == '.' || c == '[' || c == ']';
}

// Splits "name[12]" into ("name", 12); index -1 when there is none.
bool SplitSegment(absl::string_view segment, absl::string_view* name,
                  int* index) {
  const size_t open = segment.find('[');
  if (open == absl::string_view::npos) {
    *name = segment;
    *index = -1;
    return !segment.empty();
  }
  if (segment.back() != ']' || open == 0) return false;
  *name = segment.substr(0, open);
  return absl::SimpleAtoi(segment.substr(open + 1, segment.size() - open - 2),
                          index) &&
         *index >= 0;
}

}  // namespace

std::unique_ptr<TextLocator> TextLocator::Create(absl::string_view text,
                                                 const Message& prototype) {
  std::unique_ptr<TextLocator> locator(new TextLocator());
  locator->message_.reset(prototype.New());
  TextFormat::Parser parser;
  SilentErrors errors;
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(&locator->tree_);
  if (text.size() > static_cast<size_t>(INT32_MAX)) return nullptr;
  google::protobuf::io::ArrayInputStream input(text.data(),
                                               static_cast<int>(text.size()));
  if (!parser.Parse(&input, locator->message_.get())) return nullptr;
  return locator;
}

absl::optional<std::pair<int, int>> TextLocator::Locate(
    absl::string_view path) const {
  absl::optional<std::pair<int, int>> best;
  const Message* msg = message_.get();
  const TextFormat::ParseInfoTree* tree = &tree_;
  while (!path.empty() && msg != nullptr && tree != nullptr) {
    const size_t dot = path.find('.');
    absl::string_view segment = path.substr(0, dot);
    path = dot == absl::string_view::npos ? absl::string_view()
                                          : path.substr(dot + 1);
    absl::string_view name;
    int index;
    if (!SplitSegment(segment, &name, &index)) break;
    const Reflection* reflection = msg->GetReflection();
    const FieldDescriptor* field =
        msg->GetDescriptor()->FindFieldByName(std::string(name));
    if (field == nullptr) {
      const auto* oneof =
          msg->GetDescriptor()->FindOneofByName(std::string(name));
      if (oneof != nullptr) {
        field = reflection->GetOneofFieldDescriptor(*msg, oneof);
      }
    }
    if (field == nullptr) break;
    if (field->is_repeated()) {
      if (index < 0) index = 0;
      if (index >= reflection->FieldSize(*msg, field)) break;
    } else {
      index = -1;
    }
    TextFormat::ParseLocation loc = tree->GetLocation(field, index);
    if (loc.line < 0 && index > 0) {
      // List syntax (`member_ids: ["a", "b"]`) records only the first
      // element: point at the list.
      loc = tree->GetLocation(field, 0);
      if (loc.line >= 0) best = std::make_pair(loc.line + 1, loc.column + 1);
      break;
    }
    if (loc.line < 0) break;
    best = std::make_pair(loc.line + 1, loc.column + 1);
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) break;
    tree = tree->GetTreeForNested(field, index);
    msg = field->is_repeated()
              ? &reflection->GetRepeatedMessage(*msg, field, index)
              : &reflection->GetMessage(*msg, field);
  }
  return best;
}

absl::string_view MessagePath(absl::string_view message) {
  const size_t colon = message.find(": ");
  if (colon == absl::string_view::npos || colon == 0) return {};
  absl::string_view path = message.substr(0, colon);
  for (char c : path) {
    if (!IsPathChar(c)) return {};
  }
  if (!absl::ascii_isalpha(path[0])) return {};
  return path;
}

}  // namespace cli
}  // namespace arbiter
