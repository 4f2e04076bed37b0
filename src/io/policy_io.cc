#include "arbiter/policy_io.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "src/io/json_scan.h"
#include "src/io/memory_estimate.h"

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
  // Editors on Windows may start a file with a UTF-8 byte order mark; text
  // and JSON ignore it. (Binary protobuf never starts with one: its first
  // byte would be a tag of wire type 7, which does not exist.)
  if (format != PolicyFormat::kBinary) internal::ConsumeUtf8Bom(&data);
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
      internal::JsonParseOptions json_options;
      json_options.ignore_unknown_fields = options.ignore_unknown_json_fields;
      json_options.max_memory_ratio = options.max_memory_ratio;
      absl::Status status =
          internal::ParseStrictJson(data, source, json_options, &state);
      if (!status.ok()) return status;
      return state;
    }
    case PolicyFormat::kBinary:
    case PolicyFormat::kAuto: {
      if (options.max_memory_ratio > 0) {
        // A malformed input is refused by the parse below; its estimate
        // counts what precedes the problem, which the parser would allocate
        // first.
        const internal::Estimate estimate =
            internal::EstimateBinary(data, v1::PolicySet::descriptor());
        absl::Status fits = internal::CheckMemoryEstimate(
            estimate.bytes, data.size(), options.max_memory_ratio, source);
        if (!fits.ok()) return fits;
      }
      if (data.size() > static_cast<size_t>(INT32_MAX) ||
          !state.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
        return absl::InvalidArgumentError(
            absl::StrCat(source,
                         ": not a PolicySet in binary protobuf (truncated or "
                         "another format?)"));
      }
      return state;
    }
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
