#include "tools/proto_json.h"

#include <cstdint>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "tools/query_line.h"

namespace arbiter {
namespace cli {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

bool IsTimestamp(const Descriptor* d) {
  return d->full_name() == "google.protobuf.Timestamp";
}

// True when the writer renders every field of `d` and of the messages it
// holds. `memo` breaks recursion (a type being checked counts as supported).
bool Supported(const Descriptor* d,
               absl::flat_hash_map<const Descriptor*, bool>* memo) {
  auto [it, inserted] = memo->emplace(d, true);
  if (!inserted) return it->second;
  bool ok = true;
  for (int i = 0; i < d->field_count() && ok; ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->is_map()) {
      ok = false;
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE ||
               f->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT ||
               f->type() == FieldDescriptor::TYPE_BYTES) {
      ok = false;
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      const Descriptor* sub = f->message_type();
      if (IsTimestamp(sub)) continue;
      ok = !absl::StartsWith(sub->file()->name(), "google/protobuf/") &&
           Supported(sub, memo);
    }
  }
  (*memo)[d] = ok;
  return ok;
}

// RFC 3339 in UTC, with 0, 3, 6 or 9 fractional digits, as protobuf prints
// a Timestamp.
void AppendTimestamp(const Message& m, std::string* out) {
  const Descriptor* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  const int64_t seconds = r->GetInt64(m, d->FindFieldByName("seconds"));
  const int32_t nanos = r->GetInt32(m, d->FindFieldByName("nanos"));
  const absl::Time t = absl::FromUnixSeconds(seconds);
  out->push_back('"');
  out->append(absl::FormatTime("%Y-%m-%dT%H:%M:%S", t, absl::UTCTimeZone()));
  if (nanos != 0) {
    if (nanos % 1000000 == 0) {
      absl::StrAppendFormat(out, ".%03d", nanos / 1000000);
    } else if (nanos % 1000 == 0) {
      absl::StrAppendFormat(out, ".%06d", nanos / 1000);
    } else {
      absl::StrAppendFormat(out, ".%09d", nanos);
    }
  }
  out->append("Z\"");
}

void AppendMessage(const Message& m, std::string* out);

// One value of field `f` (element `index` of a repeated field, else -1).
void AppendValue(const Message& m, const FieldDescriptor* f, int index,
                 std::string* out) {
  const Reflection* r = m.GetReflection();
  const bool rep = index >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      absl::StrAppend(
          out, rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f));
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      absl::StrAppend(
          out, rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f));
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      absl::StrAppend(
          out, "\"", rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f),
          "\"");
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      absl::StrAppend(
          out, "\"",
          rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f), "\"");
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      out->append((rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f))
                      ? "true"
                      : "false");
      break;
    case FieldDescriptor::CPPTYPE_ENUM: {
      const int value =
          rep ? r->GetRepeatedEnumValue(m, f, index) : r->GetEnumValue(m, f);
      const google::protobuf::EnumValueDescriptor* v =
          f->enum_type()->FindValueByNumber(value);
      if (v == nullptr) {
        absl::StrAppend(out, value);
      } else {
        AppendJsonString(v->name(), out);
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& s =
          rep ? r->GetRepeatedStringReference(m, f, index, &scratch)
              : r->GetStringReference(m, f, &scratch);
      AppendJsonString(s, out);
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Message& sub =
          rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f);
      if (IsTimestamp(f->message_type())) {
        AppendTimestamp(sub, out);
      } else {
        AppendMessage(sub, out);
      }
      break;
    }
    default:  // excluded by Supported
      out->append("null");
      break;
  }
}

void AppendMessage(const Message& m, std::string* out) {
  const Descriptor* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  out->push_back('{');
  bool first = true;
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (!f->is_repeated() &&
        (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE ||
         f->containing_oneof() != nullptr || f->has_presence()) &&
        !r->HasField(m, f)) {
      continue;  // unset messages, oneof members and optional fields
    }
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(f->name(), out);
    out->push_back(':');
    if (f->is_repeated()) {
      out->push_back('[');
      const int n = r->FieldSize(m, f);
      for (int k = 0; k < n; ++k) {
        if (k > 0) out->push_back(',');
        AppendValue(m, f, k, out);
      }
      out->push_back(']');
    } else {
      AppendValue(m, f, -1, out);
    }
  }
  out->push_back('}');
}

}  // namespace

absl::Status AppendProtoJson(const google::protobuf::Message& message,
                             std::string* out) {
  absl::flat_hash_map<const Descriptor*, bool> memo;
  if (Supported(message.GetDescriptor(), &memo)) {
    AppendMessage(message, out);
    return absl::OkStatus();
  }
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  const auto status =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot print ", message.GetDescriptor()->full_name(),
                     " as JSON: ", std::string(status.message())));
  }
  out->append(json);
  return absl::OkStatus();
}

}  // namespace cli
}  // namespace arbiter
