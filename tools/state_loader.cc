#include "tools/state_loader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "arbiter/demo.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/unknown_field_set.h"
#include "src/io/json_scan.h"

namespace arbiter {
namespace cli {
namespace {

class FirstError : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (message_.empty()) {
      line_ = line + 1;
      column_ = column + 1;
      message_ = message.empty() ? "syntax error" : message;
    }
  }
  int line_ = 0, column_ = 0;
  std::string message_;
};

absl::Status OpenError(const std::string& path, int err) {
  std::string message = absl::StrCat(path, ": ", std::strerror(err));
  if (err == ENOENT || err == ENOTDIR) return absl::NotFoundError(message);
  if (err == EACCES || err == EPERM) {
    return absl::PermissionDeniedError(message);
  }
  return absl::InvalidArgumentError(message);
}

absl::Status TooLarge(const std::string& path, uint64_t size, size_t max_bytes,
                      bool exact) {
  return absl::ResourceExhaustedError(
      absl::StrCat(path, ": ", exact ? "" : "more than ", size,
                   " bytes is larger than the limit of ", max_bytes,
                   " bytes (raise it with --max-bytes)"));
}

}  // namespace

void StripUtf8Bom(std::string* data) {
  absl::string_view view(*data);
  if (internal::ConsumeUtf8Bom(&view))
    data->erase(0, data->size() - view.size());
}

absl::StatusOr<std::string> ReadInputFile(const std::string& path,
                                          size_t max_bytes) {
  const bool is_stdin = path == "-";
  const std::string name = is_stdin ? "<stdin>" : path;
  const int fd = is_stdin ? 0 : open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return OpenError(name, errno);
  struct Closer {
    int fd;
    ~Closer() {
      if (fd > 0) close(fd);
    }
  } closer{is_stdin ? -1 : fd};
  struct stat st;
  if (fstat(fd, &st) != 0) return OpenError(name, errno);
  if (S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": is a directory"));
  }
  std::string data;
  if (S_ISREG(st.st_mode)) {
    // Refuse oversized files before reading a byte of them.
    if (static_cast<uint64_t>(st.st_size) > max_bytes) {
      return TooLarge(name, static_cast<uint64_t>(st.st_size), max_bytes, true);
    }
    data.reserve(static_cast<size_t>(st.st_size));
  }
  std::vector<char> buffer(1 << 16);
  while (true) {
    const ssize_t n = read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return OpenError(name, errno);
    }
    if (n == 0) break;
    if (data.size() + static_cast<size_t>(n) > max_bytes) {
      return TooLarge(name, max_bytes, max_bytes, false);
    }
    data.append(buffer.data(), static_cast<size_t>(n));
  }
  return data;
}

PolicyFormat DetectFormat(absl::string_view path, absl::string_view data) {
  PolicyFormat format = FormatFromPath(path);
  if (format != PolicyFormat::kAuto) return format;
  internal::ConsumeUtf8Bom(&data);
  size_t i = 0;
  while (i < data.size() && absl::ascii_isspace(data[i])) ++i;
  if (i < data.size() && data[i] == '{') return PolicyFormat::kJson;
  for (char c : data.substr(0, 4096)) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\n' && c != '\r' && c != '\t') {
      return PolicyFormat::kBinary;
    }
  }
  return PolicyFormat::kText;
}

absl::StatusOr<LoadedState> LoadStateFile(const std::string& path,
                                          const StateLoadOptions& options) {
  absl::StatusOr<std::string> data = ReadInputFile(path, options.max_bytes);
  if (!data.ok()) return data.status();
  return ParseStateData(*std::move(data), path, options);
}

absl::StatusOr<LoadedState> ParseStateData(std::string data,
                                           const std::string& path,
                                           const StateLoadOptions& options) {
  LoadedState loaded;
  loaded.name = path == "-" ? "<stdin>" : path;
  loaded.bytes = data.size();
  loaded.format = options.format != PolicyFormat::kAuto
                      ? options.format
                      : DetectFormat(path == "-" ? "" : path, data);
  // Text and JSON ignore a leading UTF-8 byte order mark; drop it here too,
  // so that the kept text locates problems at the right columns.
  if (loaded.format != PolicyFormat::kBinary) StripUtf8Bom(&data);
  LoadOptions load;
  load.max_bytes = options.max_bytes;
  absl::StatusOr<v1::PolicySet> state =
      ParsePolicySet(data, loaded.format, loaded.name, load);
  if (!state.ok()) {
    return absl::Status(state.status().code(),
                        OneLine(state.status().message()));
  }
  if (loaded.format == PolicyFormat::kBinary && HasUnknownFields(*state)) {
    return absl::InvalidArgumentError(absl::StrCat(
        loaded.name,
        ": not a PolicySet in binary protobuf (unknown fields: junk, another "
        "message type or another format?)"));
  }
  loaded.state = *std::move(state);
  if (options.keep_text && loaded.format == PolicyFormat::kText) {
    loaded.text = std::move(data);
  }
  return loaded;
}

LoadedState LoadDemoState(bool keep_text) {
  LoadedState loaded;
  loaded.state = DemoPolicySet();
  loaded.name = "demo";
  loaded.format = PolicyFormat::kText;
  loaded.bytes = DemoPolicySetText().size();
  if (keep_text) loaded.text = std::string(DemoPolicySetText());
  return loaded;
}

absl::Status ParseTextOrJson(absl::string_view data, PolicyFormat format,
                             absl::string_view source,
                             google::protobuf::Message* message) {
  const std::string type = message->GetDescriptor()->name();
  if (data.size() > static_cast<size_t>(INT32_MAX)) {
    return absl::ResourceExhaustedError(absl::StrCat(source, ": too large"));
  }
  switch (format) {
    case PolicyFormat::kJson: {
      // Strict: duplicate keys, which protobuf would merge, are refused.
      internal::ConsumeUtf8Bom(&data);
      absl::Status status =
          internal::ParseStrictJson(data, source, {}, message);
      if (!status.ok()) {
        return absl::Status(status.code(), OneLine(status.message()));
      }
      return absl::OkStatus();
    }
    case PolicyFormat::kBinary:
      if (!message->ParseFromArray(data.data(),
                                   static_cast<int>(data.size())) ||
          HasUnknownFields(*message)) {
        return absl::InvalidArgumentError(
            absl::StrCat(source, ": not a ", type, " in binary protobuf"));
      }
      return absl::OkStatus();
    default: {
      internal::ConsumeUtf8Bom(&data);
      google::protobuf::TextFormat::Parser parser;
      FirstError errors;
      parser.RecordErrorsTo(&errors);
      google::protobuf::io::ArrayInputStream input(
          data.data(), static_cast<int>(data.size()));
      if (!parser.Parse(&input, message)) {
        if (errors.message_.empty()) {
          return absl::InvalidArgumentError(
              absl::StrCat(source, ": not a ", type, " in text format"));
        }
        return absl::InvalidArgumentError(
            OneLine(absl::StrCat(source, ":", errors.line_, ":", errors.column_,
                                 ": ", errors.message_)));
      }
      return absl::OkStatus();
    }
  }
}

bool HasUnknownFields(const google::protobuf::Message& message) {
  const google::protobuf::Reflection* reflection = message.GetReflection();
  if (!reflection->GetUnknownFields(message).empty()) return true;
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const google::protobuf::FieldDescriptor* field : fields) {
    if (field->cpp_type() !=
        google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
      continue;
    }
    if (field->is_repeated()) {
      const int n = reflection->FieldSize(message, field);
      for (int i = 0; i < n; ++i) {
        if (HasUnknownFields(
                reflection->GetRepeatedMessage(message, field, i))) {
          return true;
        }
      }
    } else if (HasUnknownFields(reflection->GetMessage(message, field))) {
      return true;
    }
  }
  return false;
}

std::string OneLine(absl::string_view message) {
  std::string out;
  out.reserve(message.size());
  bool space = false;
  for (char c : message) {
    if (c == '\n' || c == '\r' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) {
      out.push_back(' ');
      space = false;
    }
    // Control bytes from hostile input would garble a terminal.
    out.push_back(static_cast<unsigned char>(c) < 0x20 ? '?' : c);
  }
  constexpr size_t kMax = 400;
  if (out.size() > kMax) {
    out.resize(kMax);
    out.append("...");
  }
  return out;
}

}  // namespace cli
}  // namespace arbiter
