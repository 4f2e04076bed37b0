#include "src/replication/replica_audit.h"

#include <map>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace arbiter {
namespace internal {
namespace {

struct Pinned {
  const ReplayClock* clock = nullptr;
  std::deque<absl::Time> times;
};
thread_local Pinned* pinned = nullptr;

// The inverse of FormatAuditTimestamp ("2023-08-01 01:04:05.073682+00:00").
bool ParseAuditTimestamp(const std::string& text, absl::Time* time) {
  std::string error;
  if (!absl::ParseTime("%Y-%m-%d %H:%M:%E*S+00:00", text, absl::UTCTimeZone(),
                       time, &error)) {
    return false;
  }
  return FormatAuditTimestamp(*time) == text;
}

std::string ShortHex(const std::string& hash) {
  return absl::BytesToHexString(hash).substr(0, 16);
}

}  // namespace

absl::Time ReplayClock::Now() const {
  Pinned* p = pinned;
  if (p != nullptr && p->clock == this && !p->times.empty()) {
    const absl::Time t = p->times.front();
    p->times.pop_front();
    return t;
  }
  return base_ != nullptr ? base_->Now() : absl::Now();
}

ReplayClock::Pin::Pin(const ReplayClock& clock, std::deque<absl::Time> times) {
  pinned = new Pinned{&clock, std::move(times)};
}

ReplayClock::Pin::~Pin() {
  delete pinned;
  pinned = nullptr;
}

absl::Status ChainTracker::Write(absl::Span<const v1::AuditRecord> batch) {
  if (next_ != nullptr) {
    if (absl::Status s = next_->Write(batch); !s.ok()) return s;
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (const v1::AuditRecord& r : batch) CountLocked(r);
  return absl::OkStatus();
}

void ChainTracker::Reset(absl::Span<const v1::AuditRecord> chain) {
  std::lock_guard<std::mutex> lock(mu_);
  since_.clear();
  for (const v1::AuditRecord& r : chain) CountLocked(r);
}

void ChainTracker::CountLocked(const v1::AuditRecord& r) {
  uint64_t& n = since_[r.org_id()];
  n = r.has_checkpoint() ? 0 : n + 1;
}

bool ChainTracker::WouldCheckpoint(absl::Span<const v1::AuditRecord> records,
                                   uint64_t interval) const {
  if (interval == 0) return false;
  std::map<absl::string_view, uint64_t> added;
  for (const v1::AuditRecord& r : records) ++added[r.org_id()];
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [org, n] : added) {
    auto it = since_.find(org);
    const uint64_t since = it == since_.end() ? 0 : it->second;
    if (since + n >= interval) return true;
  }
  return false;
}

absl::StatusOr<ReplayableAudit> PrepareReplay(
    const std::vector<v1::AuditRecord>& records) {
  ReplayableAudit out;
  out.records.reserve(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    const v1::AuditRecord& r = records[i];
    if (r.has_checkpoint()) {
      absl::Time t;
      if (!ParseAuditTimestamp(r.timestamp(), &t)) {
        return absl::DataLossError(
            absl::StrCat("audit[", i, "].timestamp: \"", r.timestamp(),
                         "\" is not an audit timestamp"));
      }
      out.checkpoint_times.push_back(t);
      continue;
    }
    v1::AuditRecord copy = r;
    copy.clear_sequence();
    copy.clear_prev_hash();
    copy.clear_hash();
    out.records.push_back(std::move(copy));
  }
  return out;
}

absl::Status CheckAdoptedHeads(const AuditLog& log,
                               const std::vector<v1::AuditRecord>& records,
                               absl::string_view where) {
  std::map<std::string, const v1::AuditRecord*> last;
  for (const v1::AuditRecord& r : records) last[r.org_id()] = &r;
  for (const auto& [org, record] : last) {
    const AuditHead head = log.Head(org);
    if (head.sequence != record->sequence() || head.hash != record->hash()) {
      return absl::DataLossError(absl::StrCat(
          where, ": the audit chain of organization ", org,
          " would differ from the log's (this replica: sequence ",
          head.sequence, " hash ", ShortHex(head.hash), "; the log: sequence ",
          record->sequence(), " hash ", ShortHex(record->hash()),
          "); every replica must use the same AuditLogOptions "
          "checkpoint_interval and signing_key"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::AuditRecord>> WholeChain(const AuditLog& log) {
  std::vector<v1::AuditRecord> out;
  for (const std::string& org : log.Organizations()) {
    std::vector<v1::AuditRecord> records = log.Records(org);
    const AuditHead head = log.Head(org);
    if (records.size() != head.sequence ||
        (!records.empty() && records.front().sequence() != 1)) {
      return absl::DataLossError(absl::StrCat(
          "the audit log of organization ", org, " holds ", records.size(),
          " of its ", head.sequence,
          " records (records were released or not retained: a replicated "
          "store needs AuditLogOptions::retain_records)"));
    }
    for (v1::AuditRecord& r : records) out.push_back(std::move(r));
  }
  return out;
}

}  // namespace internal
}  // namespace arbiter
