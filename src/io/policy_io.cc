#include "arbiter/policy_io.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"

namespace arbiter {
namespace {

// Records the first text-format error with its position (1-based).
class FirstError : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (!has_error_) {
      has_error_ = true;
      line_ = line + 1;
      column_ = column + 1;
      message_ = message;
    }
  }
  bool has_error() const { return has_error_; }
  int line() const { return line_; }
  int column() const { return column_; }
  const std::string& message() const { return message_; }

 private:
  bool has_error_ = false;
  int line_ = 0, column_ = 0;
  std::string message_;
};

// 1-based line and column of byte `offset`.
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

// A minimal JSON scanner that finds where well-formedness first breaks, so
// JSON syntax errors get a line and column even though protobuf's JSON
// parser reports none. Returns the byte offset, or npos if the text is
// well-formed JSON.
class JsonScanner {
 public:
  explicit JsonScanner(absl::string_view s) : s_(s) {}

  size_t FirstError() {
    SkipSpace();
    if (!Value(0)) return pos_;
    SkipSpace();
    return pos_ == s_.size() ? absl::string_view::npos : pos_;
  }
  const std::string& what() const { return what_; }

 private:
  bool Fail(const char* what) {
    what_ = what;
    return false;
  }
  void SkipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' ||
                                s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Literal(absl::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return Fail("invalid literal");
    pos_ += word.size();
    return true;
  }
  bool String() {
    ++pos_;  // opening quote
    while (pos_ < s_.size()) {
      char c = s_[pos_++];
      if (c == '"') return true;
      if (c == '\\') {
        if (pos_ >= s_.size()) break;
        ++pos_;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        --pos_;
        return Fail("control character in string");
      }
    }
    return Fail("unterminated string");
  }
  bool Number() {
    size_t start = pos_;
    if (s_[pos_] == '-') ++pos_;
    while (pos_ < s_.size() &&
           (absl::ascii_isdigit(s_[pos_]) || s_[pos_] == '.' ||
            s_[pos_] == 'e' || s_[pos_] == 'E' || s_[pos_] == '+' ||
            s_[pos_] == '-')) {
      ++pos_;
    }
    if (pos_ == start || (pos_ == start + 1 && s_[start] == '-')) {
      return Fail("invalid number");
    }
    return true;
  }
  bool Value(int depth) {
    if (depth > 100) return Fail("nested too deeply");
    SkipSpace();
    if (pos_ >= s_.size()) return Fail("unexpected end of input");
    char c = s_[pos_];
    if (c == '{') {
      ++pos_;
      SkipSpace();
      if (pos_ < s_.size() && s_[pos_] == '}') return ++pos_, true;
      while (true) {
        SkipSpace();
        if (pos_ >= s_.size() || s_[pos_] != '"')
          return Fail("expected a field name in quotes");
        if (!String()) return false;
        SkipSpace();
        if (pos_ >= s_.size() || s_[pos_] != ':') return Fail("expected ':'");
        ++pos_;
        if (!Value(depth + 1)) return false;
        SkipSpace();
        if (pos_ < s_.size() && s_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (pos_ < s_.size() && s_[pos_] == '}') return ++pos_, true;
        return Fail("expected ',' or '}'");
      }
    }
    if (c == '[') {
      ++pos_;
      SkipSpace();
      if (pos_ < s_.size() && s_[pos_] == ']') return ++pos_, true;
      while (true) {
        if (!Value(depth + 1)) return false;
        SkipSpace();
        if (pos_ < s_.size() && s_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (pos_ < s_.size() && s_[pos_] == ']') return ++pos_, true;
        return Fail("expected ',' or ']'");
      }
    }
    if (c == '"') return String();
    if (c == 't') return Literal("true");
    if (c == 'f') return Literal("false");
    if (c == 'n') return Literal("null");
    if (c == '-' || absl::ascii_isdigit(c)) return Number();
    return Fail("unexpected character");
  }

  absl::string_view s_;
  size_t pos_ = 0;
  std::string what_;
};

// Locating protobuf's JSON errors. JsonStringToMessage reports semantic
// errors (unknown fields, wrong value types) without a position but with a
// path: "(clouds[0].iam_mapping) zz: Cannot find field." or
// "(revision): invalid value ...". The helpers below find that path in the
// (already well-formed) JSON text so the error can carry a line and column.

struct PathStep {
  std::string key;  // object member (proto or JSON name), or empty
  int index = -1;   // array element when key is empty
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
// (if any) as the last step.
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

// "iamMapping" and "iam_mapping" name the same field.
bool SameFieldName(absl::string_view json_key, absl::string_view name) {
  auto next = [](absl::string_view s, size_t& i) {
    while (i < s.size() && s[i] == '_') ++i;
    return i < s.size() ? absl::ascii_tolower(s[i++]) : '\0';
  };
  size_t i = 0, j = 0;
  while (true) {
    const char a = next(json_key, i), b = next(name, j);
    if (a != b) return false;
    if (a == '\0') return true;
  }
}

// Walks well-formed JSON along `steps`; returns the offset of the last
// step's key (or element), or npos if the path is not there.
class JsonLocator {
 public:
  explicit JsonLocator(absl::string_view s) : s_(s) {}

  size_t Find(const std::vector<PathStep>& steps) {
    SkipSpace();
    size_t found = absl::string_view::npos;
    for (const PathStep& step : steps) {
      found = step.key.empty() ? Element(step.index) : Member(step.key);
      if (found == absl::string_view::npos) return found;
    }
    return found;
  }

 private:
  void SkipSpace() {
    while (pos_ < s_.size() && absl::ascii_isspace(s_[pos_])) ++pos_;
  }
  // At a string's opening quote: its raw contents; moves past it.
  absl::string_view String() {
    const size_t start = ++pos_;
    while (pos_ < s_.size() && s_[pos_] != '"')
      pos_ += s_[pos_] == '\\' ? 2 : 1;
    absl::string_view contents = s_.substr(start, pos_ - start);
    ++pos_;
    return contents;
  }
  void SkipValue() {
    SkipSpace();
    if (pos_ >= s_.size()) return;
    if (s_[pos_] == '"') {
      String();
      return;
    }
    if (s_[pos_] == '{' || s_[pos_] == '[') {
      int depth = 0;
      while (pos_ < s_.size()) {
        const char c = s_[pos_];
        if (c == '"') {
          String();
          continue;
        }
        ++pos_;
        if (c == '{' || c == '[') ++depth;
        if ((c == '}' || c == ']') && --depth == 0) return;
      }
      return;
    }
    while (pos_ < s_.size() && s_[pos_] != ',' && s_[pos_] != '}' &&
           s_[pos_] != ']' && !absl::ascii_isspace(s_[pos_])) {
      ++pos_;
    }
  }
  // In an object: positions at the value of `key`; returns the key's offset.
  size_t Member(absl::string_view key) {
    SkipSpace();
    if (pos_ >= s_.size() || s_[pos_] != '{') return absl::string_view::npos;
    ++pos_;
    while (true) {
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '"') return absl::string_view::npos;
      const size_t key_offset = pos_;
      const absl::string_view name = String();
      SkipSpace();
      ++pos_;  // ':'
      SkipSpace();
      if (SameFieldName(name, key)) return key_offset;
      SkipValue();
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ',') return absl::string_view::npos;
      ++pos_;
    }
  }
  // In an array: positions at element `index`; returns its offset.
  size_t Element(int index) {
    SkipSpace();
    if (pos_ >= s_.size() || s_[pos_] != '[') return absl::string_view::npos;
    ++pos_;
    for (int i = 0; i < index; ++i) {
      SkipValue();
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ',') return absl::string_view::npos;
      ++pos_;
    }
    SkipSpace();
    if (pos_ >= s_.size() || s_[pos_] == ']') return absl::string_view::npos;
    return pos_;
  }

  absl::string_view s_;
  size_t pos_ = 0;
};

PolicyFormat Sniff(absl::string_view data) {
  size_t i = 0;
  while (i < data.size() && absl::ascii_isspace(data[i])) ++i;
  if (i < data.size() && data[i] == '{') return PolicyFormat::kJson;
  for (char c : data.substr(0, 4096)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\n' && c != '\r' && c != '\t')
      return PolicyFormat::kBinary;
  }
  return PolicyFormat::kText;
}

}  // namespace

absl::StatusOr<PolicyFormat> ParsePolicyFormat(absl::string_view name) {
  std::string n = absl::AsciiStrToLower(name);
  if (n == "text" || n == "textproto" || n == "txtpb" || n == "pbtxt") {
    return PolicyFormat::kText;
  }
  if (n == "json") return PolicyFormat::kJson;
  if (n == "binary" || n == "binpb" || n == "pb" || n == "bin") {
    return PolicyFormat::kBinary;
  }
  if (n == "auto") return PolicyFormat::kAuto;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown format \"", name, "\" (text, json or binary)"));
}

absl::string_view PolicyFormatName(PolicyFormat format) {
  switch (format) {
    case PolicyFormat::kAuto:
      return "auto";
    case PolicyFormat::kText:
      return "text";
    case PolicyFormat::kJson:
      return "json";
    case PolicyFormat::kBinary:
      return "binary";
  }
  return "auto";
}

PolicyFormat FormatFromPath(absl::string_view path) {
  std::string p = absl::AsciiStrToLower(path);
  for (absl::string_view ext : {".textproto", ".txtpb", ".pbtxt", ".txt"}) {
    if (absl::EndsWith(p, ext)) return PolicyFormat::kText;
  }
  if (absl::EndsWith(p, ".json")) return PolicyFormat::kJson;
  for (absl::string_view ext : {".binpb", ".pb", ".bin"}) {
    if (absl::EndsWith(p, ext)) return PolicyFormat::kBinary;
  }
  return PolicyFormat::kAuto;
}

absl::StatusOr<v1::PolicySet> ParsePolicySet(absl::string_view data,
                                             PolicyFormat format,
                                             absl::string_view source,
                                             const LoadOptions& options) {
  if (data.size() > options.max_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat(source, ": ", data.size(), " bytes exceeds the limit of ",
                     options.max_bytes, " (LoadOptions::max_bytes)"));
  }
  if (format == PolicyFormat::kAuto) format = Sniff(data);
  v1::PolicySet state;
  switch (format) {
    case PolicyFormat::kText: {
      google::protobuf::TextFormat::Parser parser;
      FirstError errors;
      parser.RecordErrorsTo(&errors);
      google::protobuf::io::ArrayInputStream input(
          data.data(), static_cast<int>(data.size()));
      if (!parser.Parse(&input, &state)) {
        if (errors.has_error()) {
          return absl::InvalidArgumentError(
              absl::StrCat(source, ":", errors.line(), ":", errors.column(),
                           ": ", errors.message()));
        }
        return absl::InvalidArgumentError(
            absl::StrCat(source, ": not a PolicySet in text format"));
      }
      return state;
    }
    case PolicyFormat::kJson: {
      JsonScanner scanner(data);
      size_t bad = scanner.FirstError();
      if (bad != absl::string_view::npos) {
        auto [line, column] = LineColumn(data, bad);
        return absl::InvalidArgumentError(
            absl::StrCat(source, ":", line, ":", column,
                         ": invalid JSON: ", scanner.what()));
      }
      google::protobuf::util::JsonParseOptions json_options;
      json_options.ignore_unknown_fields = options.ignore_unknown_json_fields;
      auto status = google::protobuf::util::JsonStringToMessage(
          google::protobuf::StringPiece(data.data(), data.size()), &state,
          json_options);
      if (!status.ok()) {
        const absl::string_view message(status.message().data(),
                                        status.message().size());
        std::vector<PathStep> path;
        const size_t at = ErrorPath(message, &path)
                              ? JsonLocator(data).Find(path)
                              : absl::string_view::npos;
        if (at != absl::string_view::npos) {
          auto [line, column] = LineColumn(data, at);
          return absl::InvalidArgumentError(
              absl::StrCat(source, ":", line, ":", column,
                           ": not a PolicySet in JSON: ", message));
        }
        return absl::InvalidArgumentError(
            absl::StrCat(source, ": not a PolicySet in JSON: ", message));
      }
      return state;
    }
    case PolicyFormat::kBinary:
    case PolicyFormat::kAuto:
      if (data.size() > static_cast<size_t>(INT32_MAX) ||
          !state.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
        return absl::InvalidArgumentError(
            absl::StrCat(source,
                         ": not a PolicySet in binary protobuf (truncated or "
                         "another format?)"));
      }
      return state;
  }
  return absl::InternalError("unreachable");
}

absl::StatusOr<v1::PolicySet> LoadPolicySetFile(const std::string& path,
                                                PolicyFormat format,
                                                const LoadOptions& options) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"),
                                             &std::fclose);
  if (file == nullptr) {
    const int err = errno;
    std::string message = absl::StrCat(path, ": ", std::strerror(err));
    if (err == ENOENT) return absl::NotFoundError(message);
    if (err == EACCES) return absl::PermissionDeniedError(message);
    return absl::InvalidArgumentError(message);
  }
  // Refuse an oversized regular file before reading any of it.
  struct stat info;
  if (fstat(fileno(file.get()), &info) == 0 && S_ISREG(info.st_mode) &&
      static_cast<uint64_t>(info.st_size) > options.max_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat(path, ": ", info.st_size, " bytes exceeds the limit of ",
                     options.max_bytes, " (LoadOptions::max_bytes)"));
  }
  std::string data;
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file.get())) > 0) {
    if (data.size() + n > options.max_bytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat(path, ": larger than the limit of ", options.max_bytes,
                       " bytes (LoadOptions::max_bytes)"));
    }
    data.append(buffer, n);
  }
  if (std::ferror(file.get())) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": read error (is it a directory?)"));
  }
  if (format == PolicyFormat::kAuto) format = FormatFromPath(path);
  return ParsePolicySet(data, format, path, options);
}

absl::StatusOr<std::string> SerializePolicySet(const v1::PolicySet& state,
                                               PolicyFormat format) {
  std::string out;
  switch (format) {
    case PolicyFormat::kText:
    case PolicyFormat::kAuto:
      if (!google::protobuf::TextFormat::PrintToString(state, &out)) {
        return absl::InternalError("text-format printing failed");
      }
      return out;
    case PolicyFormat::kJson: {
      google::protobuf::util::JsonPrintOptions json_options;
      json_options.add_whitespace = true;
      json_options.preserve_proto_field_names = true;
      auto status = google::protobuf::util::MessageToJsonString(state, &out,
                                                                json_options);
      if (!status.ok()) return absl::InternalError("JSON printing failed");
      return out;
    }
    case PolicyFormat::kBinary:
      if (!state.SerializeToString(&out)) {
        return absl::InternalError("binary serialization failed");
      }
      return out;
  }
  return out;
}

}  // namespace arbiter
