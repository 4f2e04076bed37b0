#include "src/store/policy_codec.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "arbiter/policy_store.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/wire_format_lite.h"
#include "src/store/status_macros.h"

namespace arbiter {
namespace store {
namespace {

using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;
using google::protobuf::io::CodedOutputStream;
using google::protobuf::io::StringOutputStream;

constexpr int kFormatField = 1;
constexpr int kRevisionField = 2;
constexpr int kStateField = 3;
constexpr int kAuditField = 4;

void WriteMessage(int field, const google::protobuf::MessageLite& m,
                  CodedOutputStream* out) {
  out->WriteTag(WireFormatLite::MakeTag(
      field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
  const size_t size = m.ByteSizeLong();
  out->WriteVarint64(size);
  m.SerializeWithCachedSizes(out);
}

// Parses the length-delimited message at the stream's position into `m`,
// without copying its bytes first.
bool ReadMessage(absl::string_view payload, CodedInputStream* in,
                 google::protobuf::MessageLite* m) {
  uint64_t size = 0;
  if (!in->ReadVarint64(&size)) return false;
  const int at = in->CurrentPosition();
  if (at < 0 || size > payload.size() - static_cast<size_t>(at)) return false;
  if (!m->ParseFromArray(payload.data() + at, static_cast<int>(size))) {
    return false;
  }
  return in->Skip(static_cast<int>(size));
}

}  // namespace

std::string EncodeCheckpoint(uint64_t revision, const v1::PolicySet& state,
                             absl::Span<const v1::AuditRecord> audit) {
  std::string payload;
  {
    StringOutputStream stream(&payload);
    CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);
    WireFormatLite::WriteString(kFormatField, kCheckpointFormat, &out);
    WireFormatLite::WriteUInt64(kRevisionField, revision, &out);
    WriteMessage(kStateField, state, &out);
    for (const v1::AuditRecord& r : audit) WriteMessage(kAuditField, r, &out);
  }
  return payload;
}

absl::StatusOr<DecodedCheckpoint> DecodeCheckpoint(absl::string_view payload,
                                                   uint64_t revision,
                                                   absl::string_view where) {
  auto bad = [&](absl::string_view what) {
    return absl::DataLossError(
        absl::StrCat(where, ": checkpoint at revision ", revision, ": ", what));
  };
  if (payload.size() > static_cast<size_t>(INT32_MAX)) {
    return bad("larger than 2 GiB, which protobuf cannot parse");
  }
  CodedInputStream in(reinterpret_cast<const uint8_t*>(payload.data()),
                      static_cast<int>(payload.size()));
  DecodedCheckpoint out;
  bool has_format = false, has_revision = false, has_state = false;
  while (true) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) break;
    const int field = WireFormatLite::GetTagFieldNumber(tag);
    const auto type = WireFormatLite::GetTagWireType(tag);
    if (field == kFormatField &&
        type == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      std::string format;
      if (!WireFormatLite::ReadString(&in, &format)) {
        return bad("malformed format field");
      }
      if (format != kCheckpointFormat) {
        return bad(absl::StrCat("format \"", format.substr(0, 64), "\", not \"",
                                kCheckpointFormat,
                                "\" (a newer Arbiter, or not a checkpoint "
                                "of a policy store)"));
      }
      has_format = true;
    } else if (field == kRevisionField &&
               type == WireFormatLite::WIRETYPE_VARINT) {
      if (!in.ReadVarint64(&out.revision)) return bad("malformed revision");
      has_revision = true;
    } else if (field == kStateField &&
               type == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      if (!ReadMessage(payload, &in, &out.state)) {
        return bad("the state does not parse");
      }
      has_state = true;
    } else if (field == kAuditField &&
               type == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      out.audit.emplace_back();
      if (!ReadMessage(payload, &in, &out.audit.back())) {
        return bad(absl::StrCat("audit record ", out.audit.size() - 1,
                                " does not parse"));
      }
    } else {
      return bad(absl::StrCat("unexpected field ", field, " (wire type ",
                              static_cast<int>(type), ")"));
    }
  }
  if (!in.ConsumedEntireMessage() ||
      in.CurrentPosition() != static_cast<int>(payload.size())) {
    return bad("malformed (trailing bytes)");
  }
  if (!has_format) return bad("no format field (not a policy checkpoint)");
  if (!has_revision || !has_state)
    return bad("the revision or state is missing");
  if (out.revision != revision || out.state.revision() != revision) {
    return bad(absl::StrCat("it holds revision ", out.revision,
                            " and a state at revision ", out.state.revision()));
  }
  return out;
}

absl::StatusOr<v1::LogRecord> DecodeEntry(const LogEntry& entry,
                                          absl::string_view where) {
  v1::LogRecord record;
  auto bad = [&](absl::string_view what) {
    return absl::DataLossError(absl::StrCat(where, ": entry at revision ",
                                            entry.revision, ": ", what));
  };
  if (!record.ParseFromString(entry.payload)) {
    return bad("not a log record (does not parse)");
  }
  if (record.revision() != entry.revision ||
      record.delta().revision() != entry.revision ||
      record.delta().base_revision() + 1 != entry.revision) {
    return bad(absl::StrCat("the record says revision ", record.revision(),
                            ", a delta from ", record.delta().base_revision(),
                            " to ", record.delta().revision()));
  }
  return record;
}

absl::StatusOr<RecoveryView> ReadRecoveryView(DurableLog& log) {
  const std::string where =
      absl::StrCat(log.directory(), "/", DurableLog::kDatabaseFile);
  absl::Status last_error;
  // A checkpoint by another process between the two reads compacts the
  // entries after the one we read: read again (a few times at most).
  for (int attempt = 0; attempt < 5; ++attempt) {
    RecoveryView view;
    STORE_ASSIGN_OR_RETURN(absl::optional<Checkpoint> cp,
                           log.LatestCheckpoint());
    if (cp.has_value()) {
      STORE_ASSIGN_OR_RETURN(
          DecodedCheckpoint decoded,
          DecodeCheckpoint(cp->payload, cp->revision, where));
      cp.reset();  // free the payload before the entries are read
      view.has_checkpoint = true;
      view.checkpoint_revision = decoded.revision;
      view.state = std::move(decoded.state);
      view.audit = std::move(decoded.audit);
    }
    view.revision = view.checkpoint_revision;
    absl::Status read = log.ReadEntries(
        view.checkpoint_revision, [&](const LogEntry& e) -> absl::Status {
          if (e.revision != view.revision + 1) {
            return absl::DataLossError(
                absl::StrCat(where, ": revision ", view.revision + 1,
                             " is missing after the checkpoint"));
          }
          STORE_ASSIGN_OR_RETURN(v1::LogRecord record, DecodeEntry(e, where));
          view.entry_bytes += e.payload.size();
          view.revision = e.revision;
          view.deltas.push_back(std::move(*record.mutable_delta()));
          for (v1::AuditRecord& r : *record.mutable_audit()) {
            view.audit.push_back(std::move(r));
          }
          return absl::OkStatus();
        });
    if (absl::IsOutOfRange(read)) {
      last_error = read;
      continue;
    }
    STORE_RETURN_IF_ERROR(read);
    return view;
  }
  return last_error;
}

absl::StatusOr<v1::PolicySet> ReplayState(RecoveryView view) {
  const uint64_t revision = view.revision;
  absl::StatusOr<v1::PolicySet> state =
      PolicyStore::ReplayDeltas(std::move(view.state), std::move(view.deltas));
  if (!state.ok()) {
    return absl::DataLossError(
        absl::StrCat("the log does not replay to revision ", revision, ": ",
                     state.status().message()));
  }
  return state;
}

absl::StatusOr<std::string> ReplayAndEncode(RecoveryView view) {
  const uint64_t revision = view.revision;
  std::vector<v1::AuditRecord> audit = std::move(view.audit);
  STORE_ASSIGN_OR_RETURN(v1::PolicySet state, ReplayState(std::move(view)));
  return EncodeCheckpoint(revision, state, audit);
}

}  // namespace store
}  // namespace arbiter
