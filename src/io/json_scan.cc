#include "src/io/json_scan.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"
#include "src/io/memory_estimate.h"

// RapidJSON's templates are compiled into the library: keep them in a
// namespace of our own, so that an application with another RapidJSON
// version links without the two colliding.
#define RAPIDJSON_NAMESPACE arbiter_rapidjson
#define RAPIDJSON_NAMESPACE_BEGIN namespace arbiter_rapidjson {
#define RAPIDJSON_NAMESPACE_END }
#include "rapidjson/error/error.h"
#include "rapidjson/memorystream.h"
#include "rapidjson/reader.h"

namespace arbiter {
namespace internal {
namespace {

namespace rapidjson = ::arbiter_rapidjson;

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

// Iterative: no recursion, whatever the nesting. Strings must be UTF-8.
// Numbers stay text, so no number is refused for its size.
constexpr unsigned kParseFlags = rapidjson::kParseIterativeFlag |
                                 rapidjson::kParseValidateEncodingFlag |
                                 rapidjson::kParseNumbersAsStringsFlag;

constexpr absl::string_view kBom = "\xEF\xBB\xBF";

// One step of a protobuf error path: an object member or an array element.
struct PathStep {
  std::string key;  // empty for an element
  int index = -1;
};

// "clouds[0].iam_mapping" -> {clouds}, {[0]}, {iam_mapping}.
bool SplitPath(absl::string_view path, std::vector<PathStep>* steps) {
  for (absl::string_view part : absl::StrSplit(path, '.')) {
    const size_t bracket = part.find('[');
    absl::string_view name = part.substr(0, bracket);
    if (name.empty()) return false;
    steps->push_back({std::string(name), -1});
    part.remove_prefix(bracket == absl::string_view::npos ? part.size()
                                                          : bracket);
    while (!part.empty()) {
      const size_t close = part.find(']');
      int index;
      if (part.front() != '[' || close == absl::string_view::npos ||
          !absl::SimpleAtoi(part.substr(1, close - 1), &index) || index < 0) {
        return false;
      }
      steps->push_back({"", index});
      part.remove_prefix(close + 1);
    }
  }
  return true;
}

// The path named by a protobuf JSON error message, with the unknown field
// (if any) as the last step: "(clouds[0].iam_mapping) zz: Cannot find
// field." or "(revision): invalid value ...".
bool ErrorPath(absl::string_view message, std::vector<PathStep>* steps) {
  absl::string_view rest = message;
  if (absl::ConsumePrefix(&rest, "(")) {
    const size_t close = rest.find(')');
    if (close == absl::string_view::npos ||
        !SplitPath(rest.substr(0, close), steps)) {
      return false;
    }
    rest.remove_prefix(close + 1);
    if (!absl::ConsumePrefix(&rest, " ")) return true;  // "(path): ..."
  }
  const size_t colon = rest.find(": ");
  if (colon == absl::string_view::npos || colon == 0) return !steps->empty();
  const absl::string_view field = rest.substr(0, colon);
  if (field.find_first_of(" ()[]") != absl::string_view::npos) {
    return !steps->empty();
  }
  steps->push_back({std::string(field), -1});
  return true;
}

// The fields of message types by every key protobuf's JSON parser takes for
// them: the proto name, the JSON name and the lowerCamel name.
class FieldNames {
 public:
  const FieldDescriptor* Find(const Descriptor* type, absl::string_view key) {
    auto it = tables_.find(type);
    if (it == tables_.end()) {
      Table table;
      for (int i = 0; i < type->field_count(); ++i) {
        const FieldDescriptor* field = type->field(i);
        table.emplace(field->name(), field);
        table.emplace(field->json_name(), field);
        table.emplace(field->camelcase_name(), field);
      }
      it = tables_.emplace(type, std::move(table)).first;
    }
    auto found = it->second.find(key);
    return found == it->second.end() ? nullptr : found->second;
  }

 private:
  using Table = absl::flat_hash_map<std::string, const FieldDescriptor*>;
  absl::flat_hash_map<const Descriptor*, Table> tables_;
};

// What a JSON value stands for in the message being read.
struct Context {
  const Descriptor* message = nullptr;     // an object of this type
  const FieldDescriptor* field = nullptr;  // else the value of this field
  bool element = false;                    // an element of repeated `field`
};

// How an object's keys are compared.
enum class KeyMode {
  kFields,   // message fields: by field
  kMapKeys,  // a map field: by key value
  kExact,    // anything else: as decoded strings
};

struct Frame {
  bool is_object = false;
  KeyMode mode = KeyMode::kExact;
  const Descriptor* message = nullptr;       // kFields
  const FieldDescriptor* map_key = nullptr;  // kMapKeys
  Context element;  // arrays: of their elements; maps: of their values
  Context value;    // objects: of the current key's value
  // Objects: the current key, as shown in paths: the field's name, else the
  // key itself.
  const FieldDescriptor* key_field = nullptr;
  std::string key;
  absl::string_view PathKey() const {
    return key_field != nullptr ? absl::string_view(key_field->name())
                                : absl::string_view(key);
  }
  size_t count = 0;  // arrays: elements begun
  // Objects: every key so far with its [begin, end) offsets: the fields of
  // a message by field (few, so a list), other keys by decoded text.
  struct SeenField {
    const FieldDescriptor* field;
    size_t begin, end;
  };
  std::vector<SeenField> fields;
  absl::flat_hash_map<std::string, std::pair<size_t, size_t>> seen;
  // Locating: this container is the one the target path's first `depth`
  // steps name.
  bool on_path = false;
  bool key_on_path = false;
};

bool IsWellKnown(const Descriptor* type) {
  return type->file()->package() == "google.protobuf";
}

// The RapidJSON SAX handler: tracks where each value sits in the message,
// refuses duplicate keys and, when given a target path, stops at it.
class Walker {
 public:
  Walker(absl::string_view data, const Descriptor* type,
         const std::vector<PathStep>* target)
      : data_(data), target_(target) {
    root_.message = type;
  }

  void set_stream(const rapidjson::MemoryStream* stream) { stream_ = stream; }
  bool failed() const { return failed_; }
  size_t error_offset() const { return error_offset_; }
  const std::string& error() const { return error_; }
  absl::optional<size_t> found() const { return found_; }
  // The memory protobuf would take for the message read so far
  // (src/io/memory_estimate.h): each message object its type's empty size,
  // each string its bytes beyond the small-string buffer, each repeated
  // element a pointer or a scalar slot.
  uint64_t memory_estimate() const { return estimate_; }

  // rapidjson's Handler concept.
  bool Null() { return Scalar(Pos() - 4); }
  bool Bool(bool b) { return Scalar(Pos() - (b ? 4 : 5)); }
  // With kParseNumbersAsStringsFlag every number arrives as RawNumber.
  bool Int(int) { return Scalar(Pos()); }
  bool Uint(unsigned) { return Scalar(Pos()); }
  bool Int64(int64_t) { return Scalar(Pos()); }
  bool Uint64(uint64_t) { return Scalar(Pos()); }
  bool Double(double) { return Scalar(Pos()); }
  bool RawNumber(const char*, rapidjson::SizeType length, bool) {
    return Scalar(Pos() - length);
  }
  bool String(const char*, rapidjson::SizeType length, bool) {
    estimate_ += StringEstimate(length);
    // Where the string begins matters only when locating.
    return Scalar(target_ != nullptr ? StringStart(Pos()) : 0);
  }
  bool StartObject() { return Open(/*is_object=*/true); }
  bool Key(const char* s, rapidjson::SizeType length, bool);
  bool EndObject(rapidjson::SizeType) {
    --depth_;
    return true;
  }
  bool StartArray() { return Open(/*is_object=*/false); }
  bool EndArray(rapidjson::SizeType) {
    --depth_;
    return true;
  }

 private:
  size_t Pos() const { return stream_->Tell(); }

  // The offset of the opening quote of the string whose closing quote ends
  // just before `end`. The text is well-formed up to there: the opening
  // quote is the nearest '"' not escaped by an odd run of backslashes.
  size_t StringStart(size_t end) const {
    size_t i = end - 1;  // the closing quote
    while (i > 0) {
      --i;
      if (data_[i] != '"') continue;
      size_t j = i;
      while (j > 0 && data_[j - 1] == '\\') --j;
      if ((i - j) % 2 == 0) return i;
    }
    return 0;
  }

  bool Fail(size_t offset, std::string message) {
    failed_ = true;
    error_offset_ = offset;
    error_ = std::move(message);
    return false;
  }

  // A value begins at `begin`: its context, and whether it is on the target
  // path. Returns false to stop (the target was found).
  bool BeginValue(size_t begin, Context* context, bool* on_path) {
    if (depth_ == 0) {
      *context = root_;
      *on_path = target_ != nullptr;
    } else {
      Frame& parent = frames_[depth_ - 1];
      if (parent.is_object) {
        *context = parent.value;
        *on_path = parent.key_on_path;
      } else {
        const size_t index = parent.count++;
        *context = parent.element;
        const size_t step = depth_ - 1;
        *on_path = parent.on_path && step < target_->size() &&
                   (*target_)[step].key.empty() &&
                   static_cast<size_t>((*target_)[step].index) == index;
        if (*on_path && depth_ == target_->size()) {
          found_ = begin;
          return false;
        }
      }
    }
    return true;
  }

  bool Scalar(size_t begin) {
    Context context;
    bool on_path;
    if (!BeginValue(begin, &context, &on_path)) return false;
    if (context.element) estimate_ += kRepeatedSlot;
    return true;
  }

  bool Open(bool is_object) {
    // The iterative parser calls StartObject and StartArray before it takes
    // the bracket.
    const size_t begin = Pos();
    Context context;
    bool on_path;
    if (!BeginValue(begin, &context, &on_path)) return false;
    if (depth_ >= static_cast<size_t>(kMaxJsonDepth)) {
      return Fail(begin, absl::StrCat("nested too deeply (more than ",
                                      kMaxJsonDepth, " levels)"));
    }
    if (frames_.size() == depth_) frames_.emplace_back();
    Frame& frame = frames_[depth_++];
    frame.is_object = is_object;
    frame.mode = KeyMode::kExact;
    frame.message = nullptr;
    frame.map_key = nullptr;
    frame.element = Context();
    frame.value = Context();
    frame.key_field = nullptr;
    frame.key.clear();
    frame.count = 0;
    frame.fields.clear();
    frame.seen.clear();
    frame.on_path = on_path;
    frame.key_on_path = false;
    const FieldDescriptor* field = context.field;
    if (is_object) {
      const Descriptor* message = context.message;
      if (message == nullptr && field != nullptr) {
        if (field->is_map() && !context.element) {
          frame.mode = KeyMode::kMapKeys;
          frame.map_key = field->message_type()->map_key();
          frame.element.field = field->message_type()->map_value();
        } else if ((!field->is_repeated() || context.element) &&
                   field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          message = field->message_type();
        }
      }
      // Struct, Any and the other well-known types: keys as they are.
      if (message != nullptr && !IsWellKnown(message)) {
        frame.mode = KeyMode::kFields;
        frame.message = message;
      }
      estimate_ +=
          message != nullptr ? sizes_.Of(message) : kGenericObjectEstimate;
      if (context.element) estimate_ += kRepeatedSlot;
    } else if (field != nullptr && field->is_repeated() && !field->is_map() &&
               !context.element) {
      frame.element.field = field;
      frame.element.element = true;
    }
    return true;
  }

  // The path of the current position, e.g. grants[0].role.
  std::string Path() const {
    std::string path;
    for (size_t i = 0; i < depth_; ++i) {
      const Frame& frame = frames_[i];
      if (!frame.is_object) {
        if (frame.count > 0) absl::StrAppend(&path, "[", frame.count - 1, "]");
      } else if (frame.mode == KeyMode::kMapKeys) {
        absl::StrAppend(&path, "[\"", frame.PathKey(), "\"]");
      } else {
        if (!path.empty()) path.push_back('.');
        path.append(frame.PathKey().data(), frame.PathKey().size());
      }
    }
    return path;
  }

  // The key as written in the file, quotes included, cut to a sane length.
  std::string Spelling(size_t begin, size_t end) const {
    absl::string_view raw = data_.substr(begin, end - begin);
    if (raw.size() > 66) return absl::StrCat(raw.substr(0, 62), "...\"");
    return std::string(raw);
  }

  absl::string_view data_;
  const std::vector<PathStep>* target_;
  const rapidjson::MemoryStream* stream_ = nullptr;
  Context root_;
  FieldNames names_;
  std::vector<Frame> frames_;
  size_t depth_ = 0;
  std::string identity_;  // scratch
  bool failed_ = false;
  size_t error_offset_ = 0;
  std::string error_;
  absl::optional<size_t> found_;
  MessageSizes sizes_;
  uint64_t estimate_ = 0;
};

bool Walker::Key(const char* s, rapidjson::SizeType length, bool) {
  const absl::string_view key(s, length);
  const size_t end = Pos();
  const size_t begin = StringStart(end);
  Frame& frame = frames_[depth_ - 1];
  const FieldDescriptor* field = nullptr;
  identity_.clear();
  switch (frame.mode) {
    case KeyMode::kFields:
      field = names_.Find(frame.message, key);
      if (field == nullptr) identity_.assign(key.data(), key.size());
      frame.value.field = field;
      frame.value.message = nullptr;
      frame.value.element = false;
      break;
    case KeyMode::kMapKeys: {
      // protobuf parses a map key as the key type: "1" and "01" are one key
      // of a map<int32, ...>.
      int64_t i;
      uint64_t u;
      switch (frame.map_key->cpp_type()) {
        case FieldDescriptor::CPPTYPE_INT32:
        case FieldDescriptor::CPPTYPE_INT64:
          if (absl::SimpleAtoi(key, &i)) absl::StrAppend(&identity_, i);
          break;
        case FieldDescriptor::CPPTYPE_UINT32:
        case FieldDescriptor::CPPTYPE_UINT64:
          if (absl::SimpleAtoi(key, &u)) absl::StrAppend(&identity_, u);
          break;
        default:
          break;
      }
      if (identity_.empty()) identity_.assign(key.data(), key.size());
      frame.value = frame.element;
      break;
    }
    case KeyMode::kExact:
      identity_.assign(key.data(), key.size());
      frame.value = Context();
      break;
  }
  std::pair<size_t, size_t> previous(0, 0);
  bool duplicate = false;
  if (field != nullptr) {
    frame.key_field = field;
    for (const Frame::SeenField& seen : frame.fields) {
      if (seen.field == field) {
        previous = {seen.begin, seen.end};
        duplicate = true;
        break;
      }
    }
    if (!duplicate) frame.fields.push_back({field, begin, end});
  } else {
    frame.key_field = nullptr;
    frame.key.assign(key.data(), key.size());
    auto [it, inserted] = frame.seen.try_emplace(identity_, begin, end);
    previous = it->second;
    duplicate = !inserted;
  }
  if (duplicate) {
    const auto [first_line, first_column] = LineColumn(data_, previous.first);
    const std::string spelling = Spelling(begin, end);
    const std::string first = Spelling(previous.first, previous.second);
    return Fail(begin,
                absl::StrCat(
                    "duplicate key ", spelling, " at ", Path(), " (first at ",
                    first_line, ":", first_column,
                    first == spelling ? "" : absl::StrCat(" as ", first), ")"));
  }
  if (target_ != nullptr) {
    const size_t step = depth_ - 1;
    frame.key_on_path = false;
    if (frame.on_path && step < target_->size()) {
      const std::string& want = (*target_)[step].key;
      frame.key_on_path =
          !want.empty() && (field != nullptr ? (field->name() == want ||
                                                field->json_name() == want)
                                             : key == want);
    }
    if (frame.key_on_path && depth_ == target_->size()) {
      found_ = begin;
      return false;
    }
  }
  return true;
}

// A leading zero: the '0' just before `offset` begins a number ("01",
// "-01"), and RapidJSON stopped at the digit after it.
bool AfterLeadingZero(absl::string_view data, size_t offset) {
  if (offset == 0 || offset >= data.size() ||
      !absl::ascii_isdigit(data[offset]) || data[offset - 1] != '0') {
    return false;
  }
  if (offset < 2) return true;
  const char before = data[offset - 2];
  return !absl::ascii_isdigit(before) && before != '.' && before != 'e' &&
         before != 'E' && before != '+';
}

// RapidJSON reports a broken literal ("tru}") where it stopped reading it;
// the offset of the literal itself, or npos if `offset` ends none.
size_t BrokenLiteral(absl::string_view data, size_t offset) {
  size_t start = std::min(offset, data.size());
  while (start > 0 && absl::ascii_isalpha(data[start - 1])) --start;
  if (start == offset) return absl::string_view::npos;
  const absl::string_view word = data.substr(start, offset - start);
  for (absl::string_view literal : {"true", "false", "null"}) {
    if (absl::StartsWith(literal, word)) return start;
  }
  return absl::string_view::npos;
}

// Our words for RapidJSON's errors (the same as before RapidJSON, where the
// meaning is the same).
std::string SyntaxError(absl::string_view data, rapidjson::ParseErrorCode code,
                        size_t offset) {
  if (code == rapidjson::kParseErrorStringMissQuotationMark) {
    return "unterminated string";
  }
  if (offset >= data.size()) return "unexpected end of input";
  switch (code) {
    case rapidjson::kParseErrorDocumentEmpty:
      return "unexpected end of input";
    case rapidjson::kParseErrorDocumentRootNotSingular:
      return "unexpected text after the JSON value";
    case rapidjson::kParseErrorValueInvalid:
      return "unexpected character";
    case rapidjson::kParseErrorObjectMissName:
      return "expected a field name in quotes";
    case rapidjson::kParseErrorObjectMissColon:
      return "expected ':'";
    case rapidjson::kParseErrorObjectMissCommaOrCurlyBracket:
      return "expected ',' or '}'";
    case rapidjson::kParseErrorArrayMissCommaOrSquareBracket:
      return "expected ',' or ']'";
    case rapidjson::kParseErrorStringUnicodeEscapeInvalidHex:
      return "invalid \\u escape";
    case rapidjson::kParseErrorStringUnicodeSurrogateInvalid:
      return "unpaired surrogate in \\u escape";
    case rapidjson::kParseErrorStringEscapeInvalid:
      return static_cast<unsigned char>(data[offset]) < 0x20
                 ? "control character in string"
                 : "invalid escape in string";
    case rapidjson::kParseErrorStringInvalidEncoding:
      return "invalid UTF-8 in string";
    case rapidjson::kParseErrorNumberTooBig:
      return "number too large";
    case rapidjson::kParseErrorNumberMissFraction:
    case rapidjson::kParseErrorNumberMissExponent:
      return "invalid number";
    default:
      return "syntax error";
  }
}

// Runs `walker` over `data`. On a syntax error or a refusal sets `offset`
// and `message` and returns false; a walker that stopped at its target
// returns true.
bool Walk(absl::string_view data, Walker* walker, size_t* offset,
          std::string* message) {
  // RapidJSON reads '\0' as the end of input: give it what precedes the
  // first NUL, which is never valid JSON.
  const size_t limit = std::min(data.find('\0'), data.size());
  rapidjson::MemoryStream stream(data.data(), limit);
  walker->set_stream(&stream);
  rapidjson::Reader reader;
  const rapidjson::ParseResult result =
      reader.Parse<kParseFlags>(stream, *walker);
  if (walker->found().has_value()) return true;
  if (walker->failed()) {
    *offset = walker->error_offset();
    *message = walker->error();
    return false;
  }
  if (result.IsError() && result.Code() == rapidjson::kParseErrorValueInvalid) {
    const size_t literal =
        BrokenLiteral(data.substr(0, limit), result.Offset());
    if (literal != absl::string_view::npos) {
      *offset = literal;
      *message = "invalid literal";
      return false;
    }
  }
  if (result.IsError() &&
      AfterLeadingZero(data.substr(0, limit), result.Offset())) {
    // Point at the number, not at the digit after its zero.
    *offset = result.Offset() - 1;
    if (*offset > 0 && data[*offset - 1] == '-') --*offset;
    *message = "invalid number: leading zeros are not allowed";
    return false;
  }
  if (result.IsError() && result.Offset() < limit) {
    *offset = result.Offset();
    *message = SyntaxError(data.substr(0, limit), result.Code(), *offset);
    return false;
  }
  if (limit < data.size()) {
    *offset = limit;
    *message = "NUL byte";
    return false;
  }
  if (result.IsError()) {
    *offset = result.Offset();
    *message = SyntaxError(data, result.Code(), *offset);
    return false;
  }
  return true;
}

}  // namespace

bool ConsumeUtf8Bom(absl::string_view* data) {
  return absl::ConsumePrefix(data, kBom);
}

std::pair<int, int> LineColumn(absl::string_view data, size_t offset) {
  int line = 1, column = 1;
  for (size_t i = 0; i < offset && i < data.size(); ++i) {
    if (data[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

absl::Status CheckStrictJson(absl::string_view data, const Descriptor* type,
                             absl::string_view source,
                             uint64_t* memory_estimate) {
  if (absl::StartsWith(data, kBom)) {
    return absl::InvalidArgumentError(
        absl::StrCat(source,
                     ":1:1: invalid JSON: UTF-8 byte order mark at start of "
                     "file; remove it"));
  }
  Walker walker(data, type, nullptr);
  size_t offset;
  std::string message;
  if (Walk(data, &walker, &offset, &message)) {
    if (memory_estimate != nullptr) *memory_estimate = walker.memory_estimate();
    return absl::OkStatus();
  }
  const auto [line, column] = LineColumn(data, offset);
  return absl::InvalidArgumentError(absl::StrCat(source, ":", line, ":", column,
                                                 ": invalid JSON: ", message));
}

absl::optional<size_t> LocateProtoJsonError(absl::string_view data,
                                            const Descriptor* type,
                                            absl::string_view message) {
  std::vector<PathStep> steps;
  if (!ErrorPath(message, &steps) || steps.empty()) return absl::nullopt;
  Walker walker(data, type, &steps);
  size_t offset;
  std::string ignored;
  Walk(data, &walker, &offset, &ignored);
  return walker.found();
}

absl::Status ParseStrictJson(absl::string_view data, absl::string_view source,
                             const JsonParseOptions& options,
                             google::protobuf::Message* message) {
  const Descriptor* type = message->GetDescriptor();
  uint64_t estimate = 0;
  absl::Status checked = CheckStrictJson(data, type, source, &estimate);
  if (!checked.ok()) return checked;
  if (options.max_memory_ratio > 0) {
    absl::Status fits = CheckMemoryEstimate(estimate, data.size(),
                                            options.max_memory_ratio, source);
    if (!fits.ok()) return fits;
  }
  message->Clear();
  google::protobuf::util::JsonParseOptions json_options;
  json_options.ignore_unknown_fields = options.ignore_unknown_fields;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(data.data(), data.size()), message,
      json_options);
  if (status.ok()) return absl::OkStatus();
  const absl::string_view error(status.message().data(),
                                status.message().size());
  const absl::optional<size_t> at = LocateProtoJsonError(data, type, error);
  if (at.has_value()) {
    const auto [line, column] = LineColumn(data, *at);
    return absl::InvalidArgumentError(
        absl::StrCat(source, ":", line, ":", column, ": not a ", type->name(),
                     " in JSON: ", error));
  }
  return absl::InvalidArgumentError(
      absl::StrCat(source, ": not a ", type->name(), " in JSON: ", error));
}

}  // namespace internal
}  // namespace arbiter
