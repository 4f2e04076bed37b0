// AuditLog: per-organization hash chains, checkpoints, sinks and export.

#include <algorithm>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "arbiter/audit.h"
#include "src/audit/export.h"
#include "src/audit/format.h"
#include "src/audit/record_check.h"

namespace arbiter {

using internal::AuditGenesisHash;
using internal::ComputeAuditHash;

// ---- MemoryAuditSink
// -----------------------------------------------------------

absl::Status MemoryAuditSink::Write(absl::Span<const v1::AuditRecord> batch) {
  std::lock_guard<std::mutex> lock(mu_);
  records_.insert(records_.end(), batch.begin(), batch.end());
  ++batches_;
  return absl::OkStatus();
}

std::vector<v1::AuditRecord> MemoryAuditSink::records() const {
  std::lock_guard<std::mutex> lock(mu_);
  return records_;
}

size_t MemoryAuditSink::batches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return batches_;
}

// ---- AuditLog
// ------------------------------------------------------------------

struct AuditLog::OrgChain {
  uint64_t sequence = 0;
  std::string hash = AuditGenesisHash();
  uint64_t since_checkpoint = 0;
  uint64_t last_revision = 0;
  uint64_t exported_through = 0;
  int64_t last_export_time = 0;
  // The records still in memory: every record after the last
  // ReleaseExported, in sequence order.
  std::deque<v1::AuditRecord> records;

  void Add(const v1::AuditRecord& r, bool retain) {
    sequence = r.sequence();
    hash = r.hash();
    last_revision = r.revision();
    if (r.has_checkpoint()) {
      since_checkpoint = 0;
      if (r.checkpoint().reason() == internal::kCheckpointReasonExport) {
        exported_through = r.sequence();
        last_export_time = r.checkpoint().export_time();
      }
    } else {
      ++since_checkpoint;
    }
    if (retain) records.push_back(r);
  }
};

AuditLog::AuditLog(AuditLogOptions options)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? *options_.clock : Clock::System()) {}

AuditLog::~AuditLog() = default;

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Create(
    AuditLogOptions options, absl::Span<const v1::AuditRecord> existing) {
  if (options.max_batch_records == 0) {
    return absl::InvalidArgumentError(
        "AuditLogOptions.max_batch_records: must be at least 1");
  }
  // Signatures are the offline verifier's business (the key may have been
  // rotated); the chain itself must be whole before we extend it.
  AuditVerification v = VerifyAuditChain(existing);
  if (!v.ok()) {
    return absl::DataLossError(absl::StrCat(
        "existing audit records are broken: ", v.problem->ToString()));
  }
  std::unique_ptr<AuditLog> log(new AuditLog(std::move(options)));
  for (const v1::AuditRecord& r : existing) {
    std::unique_ptr<OrgChain>& chain = log->chains_[r.org_id()];
    if (chain == nullptr) chain = std::make_unique<OrgChain>();
    chain->Add(r, log->options_.retain_records);
  }
  return log;
}

absl::StatusOr<v1::AuditRecord> AuditLog::MakeCheckpointLocked(
    const std::string& org_id, uint64_t sequence, const std::string& prev_hash,
    uint64_t revision, absl::string_view reason, int64_t export_time) const {
  v1::AuditRecord c;
  c.set_timestamp(FormatAuditTimestamp(clock_.Now()));
  c.set_action(audit_action::kCheckpoint);
  c.set_entity(audit_entity::kCheckpoint);
  c.set_org_id(org_id);
  c.set_revision(revision);
  c.set_sequence(sequence);
  c.mutable_user();  // {"name": "", "email": ""}
  v1::AuditCheckpoint* cp = c.mutable_checkpoint();
  cp->set_reason(std::string(reason));
  cp->set_export_time(export_time);
  if (options_.signing_key != nullptr) {
    cp->set_key_id(options_.signing_key->key_id());
  }
  c.set_prev_hash(prev_hash);
  c.set_hash(ComputeAuditHash(prev_hash, c));
  if (options_.signing_key != nullptr) {
    absl::StatusOr<std::string> signature =
        options_.signing_key->Sign(internal::CheckpointSignedMessage(c));
    if (!signature.ok()) return signature.status();
    cp->set_signature(*std::move(signature));
  }
  return c;
}

absl::StatusOr<AuditBatch> AuditLog::PrepareLocked(
    std::vector<v1::AuditRecord> records) const {
  if (records.size() > options_.max_batch_records) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "audit batch of ", records.size(), " records exceeds the limit of ",
        options_.max_batch_records, " (AuditLogOptions.max_batch_records)"));
  }
  for (size_t i = 0; i < records.size(); ++i) {
    absl::Status s = internal::CheckAppendableAuditRecord(
        records[i], absl::StrCat("records[", i, "]"));
    if (!s.ok()) return s;
  }
  // The heads as the batch advances them, per organization, in order of
  // first appearance (the order of the checkpoints at the end).
  struct Head {
    uint64_t sequence;
    std::string hash;
    uint64_t since_checkpoint;
    uint64_t revision;
  };
  std::vector<std::pair<const std::string*, Head>> heads;
  auto head_of = [&](const std::string& org) -> Head& {
    for (auto& [name, head] : heads) {
      if (*name == org) return head;
    }
    auto it = chains_.find(org);
    if (it == chains_.end()) {
      heads.push_back({&org, Head{0, AuditGenesisHash(), 0, 0}});
    } else {
      const OrgChain& c = *it->second;
      heads.push_back({&org, Head{c.sequence, c.hash, c.since_checkpoint,
                                  c.last_revision}});
    }
    return heads.back().second;
  };

  AuditBatch batch;
  std::string now;
  for (v1::AuditRecord& r : records) {
    if (r.timestamp().empty()) {
      if (now.empty()) now = FormatAuditTimestamp(clock_.Now());
      r.set_timestamp(now);
    }
    Head& head = head_of(r.org_id());
    r.set_sequence(head.sequence + 1);
    r.set_prev_hash(head.hash);
    r.set_hash(ComputeAuditHash(head.hash, r));
    head.sequence = r.sequence();
    head.hash = r.hash();
    head.revision = r.revision();
    ++head.since_checkpoint;
  }
  // Record the bases before the records move (heads point into them).
  for (const auto& [org, head] : heads) {
    auto it = chains_.find(*org);
    batch.base_[*org] = it == chains_.end() ? 0 : it->second->sequence;
  }
  std::vector<v1::AuditRecord> checkpoints;
  if (options_.checkpoint_interval > 0) {
    for (const auto& [org, head] : heads) {
      if (head.since_checkpoint < options_.checkpoint_interval) continue;
      absl::StatusOr<v1::AuditRecord> c = MakeCheckpointLocked(
          *org, head.sequence + 1, head.hash, head.revision,
          internal::kCheckpointReasonInterval, 0);
      if (!c.ok()) return c.status();
      checkpoints.push_back(*std::move(c));
    }
  }
  batch.records_ = std::move(records);
  for (v1::AuditRecord& c : checkpoints) batch.records_.push_back(std::move(c));
  return batch;
}

absl::Status AuditLog::CommitLocked(const AuditBatch& batch) {
  for (const auto& [org, base] : batch.base_) {
    auto it = chains_.find(org);
    const uint64_t current = it == chains_.end() ? 0 : it->second->sequence;
    if (current != base) {
      return absl::FailedPreconditionError(absl::StrCat(
          "audit log of ", org, " moved since the batch was prepared (head ",
          base, ", now ", current, "); prepare it again"));
    }
  }
  if (batch.records_.empty()) return absl::OkStatus();
  if (options_.sink != nullptr) {
    absl::Status s = options_.sink->Write(batch.records_);
    if (!s.ok()) return s;
  }
  for (const v1::AuditRecord& r : batch.records_) {
    std::unique_ptr<OrgChain>& chain = chains_[r.org_id()];
    if (chain == nullptr) chain = std::make_unique<OrgChain>();
    chain->Add(r, options_.retain_records);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::AuditRecord>> AuditLog::Append(
    std::vector<v1::AuditRecord> records) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<AuditBatch> batch = PrepareLocked(std::move(records));
  if (!batch.ok()) return batch.status();
  absl::Status s = CommitLocked(*batch);
  if (!s.ok()) return s;
  return std::move(batch->records_);
}

absl::StatusOr<AuditBatch> AuditLog::Prepare(
    std::vector<v1::AuditRecord> records) const {
  std::lock_guard<std::mutex> lock(mu_);
  return PrepareLocked(std::move(records));
}

absl::Status AuditLog::Commit(AuditBatch batch) {
  std::lock_guard<std::mutex> lock(mu_);
  return CommitLocked(batch);
}

absl::StatusOr<v1::AuditRecord> AuditLog::Checkpoint(absl::string_view org_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = chains_.find(org_id);
  if (it == chains_.end() || it->second->sequence == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no audit records for organization \"", org_id, "\" to checkpoint"));
  }
  const OrgChain& chain = *it->second;
  AuditBatch batch;
  batch.base_[it->first] = chain.sequence;
  absl::StatusOr<v1::AuditRecord> c = MakeCheckpointLocked(
      it->first, chain.sequence + 1, chain.hash, chain.last_revision,
      internal::kCheckpointReasonInterval, 0);
  if (!c.ok()) return c.status();
  batch.records_.push_back(*c);
  absl::Status s = CommitLocked(batch);
  if (!s.ok()) return s;
  return *std::move(c);
}

absl::StatusOr<AuditExportResult> AuditLog::Export(const std::string& dir) {
  // The lock is held throughout: the export checkpoint must follow exactly
  // the records exported, so appends wait for the files to be written.
  std::lock_guard<std::mutex> lock(mu_);
  if (!options_.retain_records) {
    return absl::FailedPreconditionError(
        "audit log export needs the records in memory "
        "(AuditLogOptions.retain_records is off)");
  }
  AuditBatch batch;
  AuditExportResult result;
  const int64_t now = absl::ToUnixSeconds(clock_.Now());
  for (const auto& [org, chain] : chains_) {
    if (chain->sequence == chain->exported_through) continue;
    // Later than the previous export, so no file name is ever reused.
    const int64_t export_time = std::max(now, chain->last_export_time + 1);
    absl::StatusOr<v1::AuditRecord> c = MakeCheckpointLocked(
        org, chain->sequence + 1, chain->hash, chain->last_revision,
        internal::kCheckpointReasonExport, export_time);
    if (!c.ok()) {
      internal::RemoveAuditExportFiles(result.files);
      return c.status();
    }
    std::vector<const v1::AuditRecord*> records;
    for (const v1::AuditRecord& r : chain->records) {
      if (r.sequence() > chain->exported_through) records.push_back(&r);
    }
    records.push_back(&*c);
    absl::StatusOr<std::vector<std::string>> files =
        internal::WriteAuditExportFiles(dir, org, export_time, records);
    if (!files.ok()) {
      internal::RemoveAuditExportFiles(result.files);
      return files.status();
    }
    result.files.insert(result.files.end(), files->begin(), files->end());
    result.records += records.size();
    batch.base_[org] = chain->sequence;
    batch.records_.push_back(*std::move(c));
  }
  absl::Status s = CommitLocked(batch);
  if (!s.ok()) {
    internal::RemoveAuditExportFiles(result.files);
    return s;
  }
  return result;
}

std::vector<v1::AuditRecord> AuditLog::Records(absl::string_view org_id,
                                               uint64_t after_sequence) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<v1::AuditRecord> out;
  auto it = chains_.find(org_id);
  if (it == chains_.end()) return out;
  for (const v1::AuditRecord& r : it->second->records) {
    if (r.sequence() > after_sequence) out.push_back(r);
  }
  return out;
}

std::vector<std::string> AuditLog::Organizations() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [org, chain] : chains_) out.push_back(org);
  return out;
}

AuditHead AuditLog::Head(absl::string_view org_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = chains_.find(org_id);
  if (it == chains_.end()) return AuditHead{0, AuditGenesisHash()};
  return AuditHead{it->second->sequence, it->second->hash};
}

void AuditLog::ReleaseExported() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [org, chain] : chains_) {
    while (!chain->records.empty() &&
           chain->records.front().sequence() <= chain->exported_through) {
      chain->records.pop_front();
    }
  }
}

}  // namespace arbiter
