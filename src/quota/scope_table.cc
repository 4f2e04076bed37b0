#include "src/quota/scope_table.h"

#include <tuple>

#include "absl/hash/hash.h"

namespace arbiter {
namespace internal {
namespace {

constexpr size_t kInitialCapacity = 1024;  // a power of two

}  // namespace

ScopeTable::Slots::Slots(size_t capacity)
    : mask(capacity - 1), slot(new Slot[capacity]) {}

ScopeTable::ScopeTable() {
  tables_.push_back(std::make_unique<Slots>(kInitialCapacity));
  current_.store(tables_.back().get(), std::memory_order_release);
}

ScopeTable::~ScopeTable() = default;

uint64_t AcceleratorKey(absl::string_view canonical_type) {
  return absl::Hash<absl::string_view>()(canonical_type);
}

size_t ScopeTable::Hash(absl::string_view cloud, absl::string_view project,
                        absl::string_view user) {
  return absl::Hash<
      std::tuple<absl::string_view, absl::string_view, absl::string_view>>()(
      std::make_tuple(cloud, project, user));
}

ScopeRecord* ScopeTable::Probe(const Slots& slots, size_t hash,
                               absl::string_view cloud,
                               absl::string_view project,
                               absl::string_view user) {
  for (size_t i = hash & slots.mask;; i = (i + 1) & slots.mask) {
    const Slot& slot = slots.slot[i];
    ScopeRecord* r = slot.record.load(std::memory_order_acquire);
    if (r == nullptr) return nullptr;
    if (slot.hash.load(std::memory_order_relaxed) == hash &&
        SameBytes(r->cloud, cloud) && SameBytes(r->project, project) &&
        SameBytes(r->user, user)) {
      return r;
    }
  }
}

ScopeRecord* ScopeTable::Find(absl::string_view cloud,
                              absl::string_view project,
                              absl::string_view user) const {
  // The table is never full (load <= 1/2), so the probe ends on an empty
  // slot.
  return Probe(*current_.load(std::memory_order_acquire),
               Hash(cloud, project, user), cloud, project, user);
}

void ScopeTable::InsertLocked(ScopeRecord* record) {
  Slots* slots = tables_.back().get();
  if ((records_.size() + 1) * 2 > slots->mask + 1) {
    // Grow: copy every record into a table twice as large, then publish it.
    // Readers still probing the old array see a consistent (if incomplete)
    // table and fall back to this locked path on a miss.
    auto bigger = std::make_unique<Slots>((slots->mask + 1) * 2);
    for (ScopeRecord& r : records_) {
      if (&r == record) continue;
      size_t i = r.hash & bigger->mask;
      while (bigger->slot[i].record.load(std::memory_order_relaxed) !=
             nullptr) {
        i = (i + 1) & bigger->mask;
      }
      bigger->slot[i].hash.store(r.hash, std::memory_order_relaxed);
      bigger->slot[i].record.store(&r, std::memory_order_relaxed);
    }
    slots = bigger.get();
    tables_.push_back(std::move(bigger));
  }
  size_t i = record->hash & slots->mask;
  while (slots->slot[i].record.load(std::memory_order_relaxed) != nullptr) {
    i = (i + 1) & slots->mask;
  }
  // Release: a reader that finds the pointer sees the hash and the record.
  slots->slot[i].hash.store(record->hash, std::memory_order_relaxed);
  slots->slot[i].record.store(record, std::memory_order_release);
  current_.store(slots, std::memory_order_release);
}

ScopeRecord* ScopeTable::FindOrCreateLocked(absl::string_view cloud,
                                            absl::string_view project,
                                            absl::string_view user) {
  const size_t hash = Hash(cloud, project, user);
  if (ScopeRecord* r = Probe(*tables_.back(), hash, cloud, project, user)) {
    return r;
  }
  ScopeRecord& r = records_.emplace_back();
  r.hash = hash;
  r.cloud = std::string(cloud);
  r.project = std::string(project);
  r.user = std::string(user);
  InsertLocked(&r);
  return &r;
}

ScopeRecord* ScopeTable::FindOrCreateLeaf(absl::string_view cloud,
                                          absl::string_view project,
                                          absl::string_view user) {
  if (ScopeRecord* r = Find(cloud, project, user)) return r;
  std::lock_guard<std::mutex> lock(mu_);
  const size_t hash = Hash(cloud, project, user);
  if (ScopeRecord* r = Probe(*tables_.back(), hash, cloud, project, user)) {
    return r;
  }
  // Parents first, and the leaf's shapes filled before the leaf is
  // published, so a reader that finds the leaf finds them too.
  ScopeRecord* parents[3] = {FindOrCreateLocked(cloud, "", ""),
                             FindOrCreateLocked(cloud, project, ""),
                             FindOrCreateLocked(cloud, "", user)};
  ScopeRecord& leaf = records_.emplace_back();
  leaf.hash = hash;
  leaf.cloud = std::string(cloud);
  leaf.project = std::string(project);
  leaf.user = std::string(user);
  leaf.shapes[0] = parents[0];
  leaf.shapes[1] = parents[1];
  leaf.shapes[2] = parents[2];
  leaf.shapes[3] = &leaf;
  InsertLocked(&leaf);
  return &leaf;
}

size_t ScopeTable::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return records_.size();
}

}  // namespace internal
}  // namespace arbiter
