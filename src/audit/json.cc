// Audit records as JSON Lines (arbiter/audit.h: AuditRecordToJson,
// AuditRecordFromJson). Written with RapidJSON's writer; read with the
// strict scanner (duplicate keys refused) and RapidJSON's DOM, then mapped
// field by field so that any key, type or encoding that AuditRecordToJson
// would not write is refused: the hash covers the record's contents, so
// nothing may ride along that the hash does not cover.

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "arbiter/audit.h"
#include "google/protobuf/struct.pb.h"
#include "src/audit/format.h"
#include "src/io/json_scan.h"

// As in src/io/json_scan.cc: RapidJSON's templates in a namespace of our own.
#define RAPIDJSON_NAMESPACE arbiter_rapidjson
#define RAPIDJSON_NAMESPACE_BEGIN namespace arbiter_rapidjson {
#define RAPIDJSON_NAMESPACE_END }
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace arbiter {
namespace {

namespace rapidjson = ::arbiter_rapidjson;

using google::protobuf::Struct;
using google::protobuf::Value;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;
using JsonValue = rapidjson::Value;

void WriteString(Writer& w, absl::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void WriteKey(Writer& w, absl::string_view key) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

void WriteValue(Writer& w, const Value& v);

void WriteStruct(Writer& w, const Struct& s) {
  // Sorted keys, as the canonical bytes hash them: the line reads the same
  // wherever it was written.
  std::vector<const std::string*> keys;
  keys.reserve(s.fields_size());
  for (const auto& entry : s.fields()) keys.push_back(&entry.first);
  std::sort(keys.begin(), keys.end(),
            [](const std::string* a, const std::string* b) { return *a < *b; });
  w.StartObject();
  for (const std::string* key : keys) {
    WriteKey(w, *key);
    WriteValue(w, s.fields().at(*key));
  }
  w.EndObject();
}

void WriteValue(Writer& w, const Value& v) {
  switch (v.kind_case()) {
    case Value::kBoolValue:
      w.Bool(v.bool_value());
      return;
    case Value::kNumberValue:
      // Append refuses NaN and infinities; null keeps the line valid JSON
      // for a record built some other way (whose hash then fails).
      if (std::isfinite(v.number_value())) {
        w.Double(v.number_value());
      } else {
        w.Null();
      }
      return;
    case Value::kStringValue:
      WriteString(w, v.string_value());
      return;
    case Value::kListValue:
      w.StartArray();
      for (const Value& e : v.list_value().values()) WriteValue(w, e);
      w.EndArray();
      return;
    case Value::kStructValue:
      WriteStruct(w, v.struct_value());
      return;
    case Value::kNullValue:
    case Value::KIND_NOT_SET:
      w.Null();
      return;
  }
  w.Null();
}

// ---- Reading ----

class Reader {
 public:
  explicit Reader(absl::string_view source) : source_(source) {}

  absl::Status Fail(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(source_, ": ", what));
  }

  // Checks that `object` has exactly the keys `names` (any order).
  absl::Status ExactKeys(const JsonValue& object, absl::string_view where,
                         std::initializer_list<absl::string_view> names) const {
    for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
      const absl::string_view key(it->name.GetString(),
                                  it->name.GetStringLength());
      bool known = false;
      for (absl::string_view n : names) known = known || n == key;
      if (!known) {
        return Fail(
            absl::StrCat("unknown key \"", absl::CHexEscape(key), "\"", where));
      }
    }
    for (absl::string_view n : names) {
      if (!object.HasMember(JsonValue(rapidjson::StringRef(
              n.data(), static_cast<rapidjson::SizeType>(n.size()))))) {
        return Fail(absl::StrCat("missing key \"", n, "\"", where));
      }
    }
    return absl::OkStatus();
  }

  static const JsonValue& Member(const JsonValue& object,
                                 absl::string_view name) {
    return object
        .FindMember(JsonValue(rapidjson::StringRef(
            name.data(), static_cast<rapidjson::SizeType>(name.size()))))
        ->value;
  }

  absl::Status String(const JsonValue& object, absl::string_view name,
                      std::string* out) const {
    const JsonValue& v = Member(object, name);
    if (!v.IsString()) {
      return Fail(absl::StrCat("\"", name, "\" is not a string"));
    }
    out->assign(v.GetString(), v.GetStringLength());
    return absl::OkStatus();
  }

  absl::Status Uint64(const JsonValue& object, absl::string_view name,
                      uint64_t* out) const {
    const JsonValue& v = Member(object, name);
    if (!v.IsUint64()) {
      return Fail(
          absl::StrCat("\"", name, "\" is not an unsigned 64-bit integer"));
    }
    *out = v.GetUint64();
    return absl::OkStatus();
  }

  absl::Status Hash(const JsonValue& object, absl::string_view name,
                    std::string* out) const {
    std::string hex;
    absl::Status s = String(object, name, &hex);
    if (!s.ok()) return s;
    if (hex.size() != 2 * internal::kAuditHashBytes ||
        !internal::HexDecode(hex, out)) {
      return Fail(
          absl::StrCat("\"", name, "\" is not 64 lower-case hex digits"));
    }
    return absl::OkStatus();
  }

  absl::Status ToValue(const JsonValue& v, Value* out, int depth) const {
    if (depth > internal::kAuditMaxMetadataDepth) {
      return Fail(absl::StrCat("metadata nested deeper than ",
                               internal::kAuditMaxMetadataDepth, " levels"));
    }
    if (v.IsNull()) {
      out->set_null_value(google::protobuf::NULL_VALUE);
    } else if (v.IsBool()) {
      out->set_bool_value(v.GetBool());
    } else if (v.IsNumber()) {
      out->set_number_value(v.GetDouble());
    } else if (v.IsString()) {
      out->set_string_value(std::string(v.GetString(), v.GetStringLength()));
    } else if (v.IsArray()) {
      google::protobuf::ListValue* list = out->mutable_list_value();
      for (const JsonValue& e : v.GetArray()) {
        absl::Status s = ToValue(e, list->add_values(), depth + 1);
        if (!s.ok()) return s;
      }
    } else {
      return ToStruct(v, out->mutable_struct_value(), depth);
    }
    return absl::OkStatus();
  }

  absl::Status ToStruct(const JsonValue& v, Struct* out, int depth) const {
    if (depth > internal::kAuditMaxMetadataDepth) {
      return Fail(absl::StrCat("metadata nested deeper than ",
                               internal::kAuditMaxMetadataDepth, " levels"));
    }
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
      Value& field = (*out->mutable_fields())[std::string(
          it->name.GetString(), it->name.GetStringLength())];
      absl::Status s = ToValue(it->value, &field, depth + 1);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

 private:
  absl::string_view source_;
};

}  // namespace

std::string AuditRecordToJson(const v1::AuditRecord& r) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  WriteKey(w, "timestamp");
  WriteString(w, r.timestamp());
  WriteKey(w, "user_id");
  WriteString(w, r.user_id());
  WriteKey(w, "source_ip");
  WriteString(w, r.source_ip());
  WriteKey(w, "action");
  WriteString(w, r.action());
  WriteKey(w, "entity");
  WriteString(w, r.entity());
  WriteKey(w, "metadata");
  if (r.has_metadata()) {
    WriteStruct(w, r.metadata());
  } else {
    w.Null();
  }
  WriteKey(w, "user");
  w.StartObject();
  WriteKey(w, "name");
  WriteString(w, r.user().name());
  WriteKey(w, "email");
  WriteString(w, r.user().email());
  w.EndObject();
  WriteKey(w, "org_id");
  WriteString(w, r.org_id());
  WriteKey(w, "revision");
  w.Uint64(r.revision());
  WriteKey(w, "resource_id");
  WriteString(w, r.resource_id());
  WriteKey(w, "sequence");
  w.Uint64(r.sequence());
  WriteKey(w, "refusal");
  if (r.has_refusal()) {
    w.StartObject();
    WriteKey(w, "code");
    WriteString(w, r.refusal().code());
    WriteKey(w, "message");
    WriteString(w, r.refusal().message());
    w.EndObject();
  } else {
    w.Null();
  }
  WriteKey(w, "checkpoint");
  if (r.has_checkpoint()) {
    const v1::AuditCheckpoint& c = r.checkpoint();
    w.StartObject();
    WriteKey(w, "reason");
    WriteString(w, c.reason());
    WriteKey(w, "export_time");
    w.Int64(c.export_time());
    WriteKey(w, "key_id");
    WriteString(w, c.key_id());
    WriteKey(w, "signature");
    WriteString(w, absl::Base64Escape(c.signature()));
    w.EndObject();
  } else {
    w.Null();
  }
  WriteKey(w, "prev_hash");
  WriteString(w, internal::HexEncode(r.prev_hash()));
  WriteKey(w, "hash");
  WriteString(w, internal::HexEncode(r.hash()));
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

absl::StatusOr<v1::AuditRecord> AuditRecordFromJson(absl::string_view line,
                                                    absl::string_view source) {
  // Duplicate keys, bad UTF-8, trailing text, excessive nesting: refused
  // with a line and column by the strict scanner, before anything else.
  absl::Status strict = internal::CheckStrictJson(line, nullptr, source);
  if (!strict.ok()) return strict;
  rapidjson::Document doc;
  // Full precision: a number must read back as the very double that was
  // written, or the record's hash would change. (UTF-8 was validated by the
  // scan above.)
  doc.Parse<rapidjson::kParseFullPrecisionFlag |
            rapidjson::kParseIterativeFlag>(line.data(), line.size());
  Reader reader(source);
  if (doc.HasParseError()) {
    return reader.Fail(absl::StrCat(
        "invalid JSON: ", rapidjson::GetParseError_En(doc.GetParseError())));
  }
  if (!doc.IsObject()) return reader.Fail("not a JSON object");
  absl::Status s = reader.ExactKeys(
      doc, "",
      {"timestamp", "user_id", "source_ip", "action", "entity", "metadata",
       "user", "org_id", "revision", "resource_id", "sequence", "refusal",
       "checkpoint", "prev_hash", "hash"});
  if (!s.ok()) return s;

  v1::AuditRecord r;
  std::string str;
  uint64_t u = 0;
#define ARBITER_AUDIT_READ(expr) \
  do {                           \
    absl::Status s_ = (expr);    \
    if (!s_.ok()) return s_;     \
  } while (false)
  ARBITER_AUDIT_READ(reader.String(doc, "timestamp", r.mutable_timestamp()));
  ARBITER_AUDIT_READ(reader.String(doc, "user_id", r.mutable_user_id()));
  ARBITER_AUDIT_READ(reader.String(doc, "source_ip", r.mutable_source_ip()));
  ARBITER_AUDIT_READ(reader.String(doc, "action", r.mutable_action()));
  ARBITER_AUDIT_READ(reader.String(doc, "entity", r.mutable_entity()));
  const JsonValue& metadata = Reader::Member(doc, "metadata");
  if (metadata.IsObject()) {
    ARBITER_AUDIT_READ(reader.ToStruct(metadata, r.mutable_metadata(), 1));
  } else if (!metadata.IsNull()) {
    return reader.Fail("\"metadata\" is neither an object nor null");
  }
  const JsonValue& user = Reader::Member(doc, "user");
  if (!user.IsObject()) return reader.Fail("\"user\" is not an object");
  ARBITER_AUDIT_READ(reader.ExactKeys(user, " in \"user\"", {"name", "email"}));
  ARBITER_AUDIT_READ(
      reader.String(user, "name", r.mutable_user()->mutable_name()));
  ARBITER_AUDIT_READ(
      reader.String(user, "email", r.mutable_user()->mutable_email()));
  ARBITER_AUDIT_READ(reader.String(doc, "org_id", r.mutable_org_id()));
  ARBITER_AUDIT_READ(reader.Uint64(doc, "revision", &u));
  r.set_revision(u);
  ARBITER_AUDIT_READ(
      reader.String(doc, "resource_id", r.mutable_resource_id()));
  ARBITER_AUDIT_READ(reader.Uint64(doc, "sequence", &u));
  r.set_sequence(u);
  const JsonValue& refusal = Reader::Member(doc, "refusal");
  if (refusal.IsObject()) {
    ARBITER_AUDIT_READ(
        reader.ExactKeys(refusal, " in \"refusal\"", {"code", "message"}));
    ARBITER_AUDIT_READ(
        reader.String(refusal, "code", r.mutable_refusal()->mutable_code()));
    ARBITER_AUDIT_READ(reader.String(refusal, "message",
                                     r.mutable_refusal()->mutable_message()));
  } else if (!refusal.IsNull()) {
    return reader.Fail("\"refusal\" is neither an object nor null");
  }
  const JsonValue& checkpoint = Reader::Member(doc, "checkpoint");
  if (checkpoint.IsObject()) {
    v1::AuditCheckpoint* c = r.mutable_checkpoint();
    ARBITER_AUDIT_READ(
        reader.ExactKeys(checkpoint, " in \"checkpoint\"",
                         {"reason", "export_time", "key_id", "signature"}));
    ARBITER_AUDIT_READ(
        reader.String(checkpoint, "reason", c->mutable_reason()));
    const JsonValue& t = Reader::Member(checkpoint, "export_time");
    if (!t.IsInt64()) {
      return reader.Fail("\"export_time\" is not a 64-bit integer");
    }
    c->set_export_time(t.GetInt64());
    ARBITER_AUDIT_READ(
        reader.String(checkpoint, "key_id", c->mutable_key_id()));
    ARBITER_AUDIT_READ(reader.String(checkpoint, "signature", &str));
    // One spelling per signature: the base64 must be the one we write.
    if (!absl::Base64Unescape(str, c->mutable_signature()) ||
        absl::Base64Escape(c->signature()) != str) {
      return reader.Fail("\"signature\" is not canonical base64");
    }
  } else if (!checkpoint.IsNull()) {
    return reader.Fail("\"checkpoint\" is neither an object nor null");
  }
  ARBITER_AUDIT_READ(reader.Hash(doc, "prev_hash", r.mutable_prev_hash()));
  ARBITER_AUDIT_READ(reader.Hash(doc, "hash", r.mutable_hash()));
#undef ARBITER_AUDIT_READ
  return r;
}

}  // namespace arbiter
