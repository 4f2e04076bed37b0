// DeniedCheckSampler: a bounded multi-producer ring (D. Vyukov's bounded
// MPMC queue, with a single consumer under a mutex) of fixed-size slots
// allocated once, so that Record never allocates, never locks and never
// waits: a full ring drops the sample and counts it.

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "arbiter/audit.h"
#include "src/audit/record_check.h"
#include "src/internal/names.h"

namespace arbiter {
namespace {

enum IdField { kOrg = 0, kPrincipal, kPermission, kResource, kIdFields };

// Copies at most `max` bytes of `src`, cut at a UTF-8 character boundary;
// returns the bytes copied and sets *truncated when some were left out.
uint8_t CopyId(absl::string_view src, char* dst, size_t max, bool* truncated) {
  size_t n = src.size();
  if (n > max) {
    n = max;
    // Do not split a character: back off over continuation bytes.
    while (n > 0 && (static_cast<unsigned char>(src[n]) & 0xC0) == 0x80) --n;
    *truncated = true;
  }
  std::memcpy(dst, src.data(), n);
  return static_cast<uint8_t>(n);
}

// `bytes` as UTF-8 for the record: as they are when valid, else with every
// non-ASCII byte replaced by '?'.
std::string Utf8OrMasked(absl::string_view bytes) {
  std::string s(bytes);
  if (internal::IsValidUtf8(s)) return s;
  for (char& c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) c = '?';
  }
  return s;
}

}  // namespace

struct DeniedCheckSampler::Slot {
  std::atomic<uint64_t> sequence{0};
  int64_t time_us = 0;
  uint64_t revision = 0;
  Reason reason = Reason::kInternalError;
  bool truncated = false;
  uint8_t length[kIdFields] = {};
  char id[kIdFields][kMaxIdBytes];
};

static_assert(DeniedCheckSampler::kMaxIdBytes <= 255,
              "id lengths are stored in a byte");

DeniedCheckSampler::DeniedCheckSampler(const Options& options, size_t capacity)
    : one_in_(options.sample_one_in),
      mask_(capacity - 1),
      clock_(options.clock != nullptr ? *options.clock : Clock::System()),
      slots_(new Slot[capacity]) {
  for (size_t i = 0; i < capacity; ++i) {
    slots_[i].sequence.store(i, std::memory_order_relaxed);
  }
}

DeniedCheckSampler::~DeniedCheckSampler() = default;

absl::StatusOr<std::unique_ptr<DeniedCheckSampler>> DeniedCheckSampler::Create(
    const Options& options) {
  if (options.sample_one_in == 0) {
    return absl::InvalidArgumentError(
        "DeniedCheckSamplerOptions.sample_one_in: must be at least 1");
  }
  if (options.capacity < 2 || options.capacity > (size_t{1} << 24)) {
    return absl::InvalidArgumentError(
        absl::StrCat("DeniedCheckSamplerOptions.capacity: ", options.capacity,
                     " (from 2 to 16777216 slots)"));
  }
  size_t capacity = 2;
  while (capacity < options.capacity) capacity <<= 1;
  return std::unique_ptr<DeniedCheckSampler>(
      new DeniedCheckSampler(options, capacity));
}

bool DeniedCheckSampler::Record(absl::string_view org_id,
                                const AccessRequest& request,
                                const Decision& decision) {
  if (decision.allowed()) return false;
  if (org_id.empty()) {
    unattributed_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  const uint64_t n = denied_.fetch_add(1, std::memory_order_relaxed);
  if (n % one_in_ != 0) return false;

  uint64_t pos = enqueue_pos_.load(std::memory_order_relaxed);
  Slot* slot;
  for (;;) {
    slot = &slots_[pos & mask_];
    const uint64_t seq = slot->sequence.load(std::memory_order_acquire);
    const int64_t dif = static_cast<int64_t>(seq - pos);
    if (dif == 0) {
      if (enqueue_pos_.compare_exchange_weak(pos, pos + 1,
                                             std::memory_order_relaxed)) {
        break;
      }
    } else if (dif < 0) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    } else {
      pos = enqueue_pos_.load(std::memory_order_relaxed);
    }
  }
  // The slot is ours until the release store below publishes it.
  bool truncated = false;
  const absl::string_view ids[kIdFields] = {
      org_id, request.principal, request.permission, request.resource};
  for (int f = 0; f < kIdFields; ++f) {
    slot->length[f] = CopyId(ids[f], slot->id[f], kMaxIdBytes, &truncated);
  }
  slot->truncated = truncated;
  slot->reason = decision.reason;
  slot->revision = decision.revision;
  slot->time_us = absl::ToUnixMicros(clock_.Now());
  slot->sequence.store(pos + 1, std::memory_order_release);
  sampled_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

std::vector<v1::AuditRecord> DeniedCheckSampler::Drain(size_t max_records) {
  std::lock_guard<std::mutex> lock(drain_mu_);
  std::vector<v1::AuditRecord> out;
  while (out.size() < max_records) {
    const uint64_t pos = dequeue_pos_.load(std::memory_order_relaxed);
    Slot& slot = slots_[pos & mask_];
    const uint64_t seq = slot.sequence.load(std::memory_order_acquire);
    if (static_cast<int64_t>(seq - (pos + 1)) < 0) break;  // empty
    auto id = [&](int f) {
      return Utf8OrMasked(absl::string_view(slot.id[f], slot.length[f]));
    };
    const std::string org = id(kOrg);
    const std::string principal = id(kPrincipal);
    const std::string permission = id(kPermission);
    const std::string resource = id(kResource);
    const absl::Time time = absl::FromUnixMicros(slot.time_us);
    const Reason reason = slot.reason;
    const uint64_t revision = slot.revision;
    const bool truncated = slot.truncated;
    // Only the consumer moves dequeue_pos_ (under drain_mu_).
    dequeue_pos_.store(pos + 1, std::memory_order_relaxed);
    slot.sequence.store(pos + mask_ + 1, std::memory_order_release);

    // An org id that cannot name an export directory would make Append
    // refuse the whole batch: count it rather than record it.
    if (!internal::CheckAuditOrgId(org).empty()) {
      unattributed_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    v1::AuditRecord r = NewAuditRecord(
        AuditActor{principal, "", "", ""},
        AuditEvent{org, audit_action::kDeny, audit_entity::kAccess, resource,
                   revision, time},
        {{"principal", principal},
         {"permission", permission},
         {"resource", resource},
         {"reason", ReasonName(reason)}});
    SetAuditMetadataNumber(&r, "sample_one_in", one_in_);
    SetAuditMetadataBool(&r, "truncated", truncated);
    out.push_back(std::move(r));
  }
  return out;
}

DeniedCheckSampler::Stats DeniedCheckSampler::stats() const {
  Stats s;
  s.denied = denied_.load(std::memory_order_relaxed);
  s.sampled = sampled_.load(std::memory_order_relaxed);
  s.dropped = dropped_.load(std::memory_order_relaxed);
  s.unattributed = unattributed_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace arbiter
