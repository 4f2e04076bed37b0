// Building audit records (arbiter/audit.h) and checking them
// (src/audit/record_check.h).

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "arbiter/audit.h"
#include "google/protobuf/struct.pb.h"
#include "src/audit/format.h"
#include "src/audit/record_check.h"
#include "src/internal/names.h"

namespace arbiter {

using google::protobuf::Struct;
using google::protobuf::Value;

namespace {

constexpr char kTimestampFormat[] = "%Y-%m-%d %H:%M:%E6S+00:00";

Value* MetadataValue(v1::AuditRecord* record, absl::string_view key) {
  return &(*record->mutable_metadata()->mutable_fields())[std::string(key)];
}

}  // namespace

v1::AuditRecord NewAuditRecord(
    const AuditActor& actor, const AuditEvent& event,
    std::initializer_list<std::pair<absl::string_view, absl::string_view>>
        metadata) {
  v1::AuditRecord r;
  if (event.time.has_value())
    r.set_timestamp(FormatAuditTimestamp(*event.time));
  r.set_user_id(std::string(actor.user_id));
  r.set_source_ip(std::string(actor.source_ip));
  r.set_action(std::string(event.action));
  r.set_entity(std::string(event.entity));
  r.mutable_user()->set_name(std::string(actor.name));
  r.mutable_user()->set_email(std::string(actor.email));
  r.set_org_id(std::string(event.org_id));
  r.set_revision(event.revision);
  r.set_resource_id(std::string(event.resource_id));
  for (const auto& [key, value] : metadata) SetAuditMetadata(&r, key, value);
  return r;
}

void SetAuditMetadata(v1::AuditRecord* record, absl::string_view key,
                      absl::string_view value) {
  MetadataValue(record, key)->set_string_value(std::string(value));
}

void SetAuditMetadataBool(v1::AuditRecord* record, absl::string_view key,
                          bool value) {
  MetadataValue(record, key)->set_bool_value(value);
}

void SetAuditMetadataNumber(v1::AuditRecord* record, absl::string_view key,
                            double value) {
  MetadataValue(record, key)->set_number_value(value);
}

void SetAuditRefusal(v1::AuditRecord* record, const absl::Status& refusal) {
  v1::AuditRefusal* r = record->mutable_refusal();
  r->set_code(absl::StatusCodeToString(refusal.code()));
  r->set_message(std::string(refusal.message()));
}

std::string FormatAuditTimestamp(absl::Time time) {
  return absl::FormatTime(kTimestampFormat, time, absl::UTCTimeZone());
}

namespace internal {
namespace {

constexpr size_t kMaxOrgIdBytes = 128;
constexpr size_t kMaxNameBytes = 64;

// Why `value` (at `path`, `depth` levels down) cannot be hashed and
// exported faithfully; "" when it can.
std::string CheckValue(const Value& value, const std::string& path, int depth);

std::string CheckStruct(const Struct& object, const std::string& path,
                        int depth) {
  if (depth > kAuditMaxMetadataDepth) {
    return absl::StrCat(path, ": nested deeper than ", kAuditMaxMetadataDepth,
                        " levels");
  }
  for (const auto& [key, value] : object.fields()) {
    if (!IsValidUtf8(key)) {
      return absl::StrCat(path, ": key ", Quote(key), " is not valid UTF-8");
    }
    std::string problem =
        CheckValue(value, absl::StrCat(path, ".", key), depth + 1);
    if (!problem.empty()) return problem;
  }
  return "";
}

std::string CheckValue(const Value& value, const std::string& path, int depth) {
  switch (value.kind_case()) {
    case Value::KIND_NOT_SET:
      return absl::StrCat(path, ": value not set (use null)");
    case Value::kNullValue:
    case Value::kBoolValue:
      return "";
    case Value::kNumberValue:
      if (!std::isfinite(value.number_value())) {
        return absl::StrCat(path, ": ", value.number_value(),
                            " is not a JSON number");
      }
      return "";
    case Value::kStringValue:
      if (!IsValidUtf8(value.string_value())) {
        return absl::StrCat(path, ": ", Quote(value.string_value()),
                            " is not valid UTF-8");
      }
      return "";
    case Value::kListValue: {
      if (depth > kAuditMaxMetadataDepth) {
        return absl::StrCat(path, ": nested deeper than ",
                            kAuditMaxMetadataDepth, " levels");
      }
      int i = 0;
      for (const Value& v : value.list_value().values()) {
        std::string problem =
            CheckValue(v, absl::StrCat(path, "[", i++, "]"), depth + 1);
        if (!problem.empty()) return problem;
      }
      return "";
    }
    case Value::kStructValue:
      return CheckStruct(value.struct_value(), path, depth);
  }
  return absl::StrCat(path, ": unknown value kind");
}

// The checks shared by appended and stored records; "" when fine.
std::string CheckCommon(const v1::AuditRecord& r) {
  std::string problem = CheckAuditOrgId(r.org_id());
  if (!problem.empty()) return absl::StrCat("org_id: ", problem);
  if (!IsAuditName(r.action())) {
    return absl::StrCat("action: ", Quote(r.action()),
                        " is not an upper-snake-case name ([A-Z][A-Z0-9_]*, "
                        "at most 64 bytes)");
  }
  if (!IsAuditName(r.entity())) {
    return absl::StrCat("entity: ", Quote(r.entity()),
                        " is not an upper-snake-case name ([A-Z][A-Z0-9_]*, "
                        "at most 64 bytes)");
  }
  const std::pair<const char*, const std::string*> strings[] = {
      {"user_id", &r.user_id()},
      {"source_ip", &r.source_ip()},
      {"resource_id", &r.resource_id()},
      {"user.name", &r.user().name()},
      {"user.email", &r.user().email()},
      {"refusal.code", &r.refusal().code()},
      {"refusal.message", &r.refusal().message()},
  };
  for (const auto& [name, value] : strings) {
    if (!IsValidUtf8(*value)) {
      return absl::StrCat(name, ": ", Quote(*value), " is not valid UTF-8");
    }
    if (value->size() > (size_t{1} << 30)) {
      return absl::StrCat(name, ": ", value->size(), " bytes (at most 1 GiB)");
    }
  }
  if (r.has_refusal() && !IsAuditName(r.refusal().code())) {
    return absl::StrCat("refusal.code: ", Quote(r.refusal().code()),
                        " is not a status code name (PERMISSION_DENIED...)");
  }
  if (r.has_metadata()) {
    problem = CheckStruct(r.metadata(), "metadata", 1);
    if (!problem.empty()) return problem;
  }
  return "";
}

}  // namespace

bool IsAuditName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes) return false;
  if (name[0] < 'A' || name[0] > 'Z') return false;
  for (char c : name) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return true;
}

std::string CheckAuditOrgId(absl::string_view org_id) {
  if (org_id.empty())
    return "missing (every record belongs to an organization)";
  if (org_id.size() > kMaxOrgIdBytes) {
    return absl::StrCat(org_id.size(), " bytes (at most ", kMaxOrgIdBytes, ")");
  }
  if (org_id[0] == '.') {
    return absl::StrCat(Quote(org_id), " starts with '.'");
  }
  for (char c : org_id) {
    if (c <= ' ' || c > '~' || c == '/' || c == '\\') {
      return absl::StrCat(Quote(org_id),
                          " cannot name a directory (printable ASCII, no "
                          "spaces, '/' or '\\')");
    }
  }
  return "";
}

std::string CheckAuditTimestamp(absl::string_view timestamp) {
  // "YYYY-MM-DD HH:MM:SS.ffffff+00:00", checked by hand rather than with
  // absl::ParseTime: verification checks every record, and this is ten
  // times cheaper.
  static constexpr absl::string_view kShape =
      "dddd-dd-dd dd:dd:dd.dddddd+00:00";
  bool ok = timestamp.size() == kShape.size();
  for (size_t i = 0; ok && i < kShape.size(); ++i) {
    ok = kShape[i] == 'd' ? (timestamp[i] >= '0' && timestamp[i] <= '9')
                          : timestamp[i] == kShape[i];
  }
  if (ok) {
    auto num = [&](size_t at, size_t len) {
      int v = 0;
      for (size_t i = at; i < at + len; ++i) v = v * 10 + (timestamp[i] - '0');
      return v;
    };
    const int y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2),
              mi = num(14, 2), s = num(17, 2);
    // A civil time that normalizes to itself is a real date and time.
    const absl::CivilSecond c(y, mo, d, h, mi, s);
    ok = c.year() == y && c.month() == mo && c.day() == d && c.hour() == h &&
         c.minute() == mi && c.second() == s;
  }
  if (!ok) {
    return absl::StrCat(Quote(timestamp),
                        " is not a timestamp like \"2023-08-01 "
                        "01:04:05.073682+00:00\"");
  }
  return "";
}

absl::Status CheckAppendableAuditRecord(const v1::AuditRecord& r,
                                        absl::string_view path) {
  auto fail = [&](absl::string_view problem) {
    return absl::InvalidArgumentError(absl::StrCat(path, ".", problem));
  };
  std::string problem = CheckCommon(r);
  if (!problem.empty()) return fail(problem);
  if (!r.timestamp().empty()) {
    problem = CheckAuditTimestamp(r.timestamp());
    if (!problem.empty()) return fail(absl::StrCat("timestamp: ", problem));
  }
  if (r.action() == kCheckpointName || r.entity() == kCheckpointName) {
    return fail(
        absl::StrCat(r.action() == kCheckpointName ? "action" : "entity",
                     ": CHECKPOINT is reserved for the log's own records"));
  }
  if (r.has_checkpoint()) {
    return fail("checkpoint: set by the log, not by callers");
  }
  if (r.sequence() != 0) {
    return fail(absl::StrCat("sequence: ", r.sequence(),
                             " (assigned by the log; leave it 0)"));
  }
  if (!r.prev_hash().empty() || !r.hash().empty()) {
    return fail(absl::StrCat(r.hash().empty() ? "prev_hash" : "hash",
                             ": assigned by the log; leave it empty"));
  }
  return absl::OkStatus();
}

std::string CheckStoredAuditRecord(const v1::AuditRecord& r) {
  std::string problem = CheckCommon(r);
  if (!problem.empty()) return problem;
  problem = CheckAuditTimestamp(r.timestamp());
  if (!problem.empty()) return absl::StrCat("timestamp: ", problem);
  if (r.sequence() == 0) return "sequence: 0 (sequences start at 1)";
  if (r.prev_hash().size() != kAuditHashBytes) {
    return absl::StrCat("prev_hash: ", r.prev_hash().size(), " bytes, not 32");
  }
  if (r.hash().size() != kAuditHashBytes) {
    return absl::StrCat("hash: ", r.hash().size(), " bytes, not 32");
  }
  const bool named = r.entity() == kCheckpointName;
  if (named != (r.action() == kCheckpointName) || named != r.has_checkpoint()) {
    return "a checkpoint record has entity CHECKPOINT, action CHECKPOINT and "
           "a checkpoint; another record has none of them";
  }
  if (!r.has_checkpoint()) return "";
  const v1::AuditCheckpoint& c = r.checkpoint();
  if (c.reason() == kCheckpointReasonExport) {
    if (c.export_time() <= 0) {
      return absl::StrCat("checkpoint.export_time: ", c.export_time(),
                          " (an export checkpoint names its export's time)");
    }
  } else if (c.reason() == kCheckpointReasonInterval) {
    if (c.export_time() != 0) {
      return absl::StrCat("checkpoint.export_time: ", c.export_time(),
                          " on an interval checkpoint (must be 0)");
    }
  } else {
    return absl::StrCat("checkpoint.reason: ", Quote(c.reason()),
                        " (\"interval\" or \"export\")");
  }
  if (c.key_id().empty() != c.signature().empty()) {
    return "checkpoint: a key_id without a signature or a signature without "
           "a key_id";
  }
  if (!c.key_id().empty()) {
    std::string bytes;
    if (c.key_id().size() != kAuditKeyIdHexDigits ||
        !HexDecode(c.key_id(), &bytes)) {
      return absl::StrCat("checkpoint.key_id: ", Quote(c.key_id()),
                          " is not 16 lower-case hex digits");
    }
    if (c.signature().size() != kAuditSignatureBytes) {
      return absl::StrCat("checkpoint.signature: ", c.signature().size(),
                          " bytes, not 64");
    }
  }
  if (r.has_refusal()) return "refusal: set on a checkpoint";
  return "";
}

}  // namespace internal
}  // namespace arbiter
