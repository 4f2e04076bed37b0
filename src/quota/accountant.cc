// QuotaAccountant: usage per scope, admission with reservations, expiry.
//
// Concurrency (docs/quotas.md, "Concurrency"):
//  * Usage lives in ScopeRecords (scope_table.h), found lock-free; each
//    record's counters are guarded by its own spinlock.
//  * A decision locks the node's four records in shape order, reads the
//    usage of every applicable quota's scope, and (when admitting) adds the
//    node to all four before unlocking: check and update are one atomic
//    step for every scope that carries a quota, so concurrent admissions
//    never pass a hard limit.
//  * Reservations live in a fixed array of slots. A slot's state and
//    generation share one atomic word (generation << 2 | state); every
//    transition is a CAS on that word, so a reservation is committed,
//    released or expired exactly once, and a stale id (an older generation)
//    is refused. Fields are written while the slot is BUSY (owned) and
//    published by the release store of ACTIVE.
//  * Expiry is driven by the injected clock: ExpireReservations scans the
//    slots; AdmitNode calls it only when its answer would not be a plain
//    admit and the earliest deadline has passed, so the common path reads
//    no clock.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "arbiter/quota.h"
#include "src/internal/names.h"
#include "src/internal/time_util.h"
#include "src/quota/book_data.h"
#include "src/quota/scope_table.h"

namespace arbiter {
namespace internal {

enum SlotState : uint64_t { kFree = 0, kBusy = 1, kActive = 2 };

inline uint64_t SlotWord(uint64_t generation, SlotState state) {
  return (generation << 2) | state;
}
inline SlotState StateOf(uint64_t word) {
  return static_cast<SlotState>(word & 3);
}
inline uint64_t GenerationOf(uint64_t word) { return word >> 2; }

// One reservation. 64 bytes, aligned so that neighbours do not share a
// cache line.
struct alignas(64) ReservationSlot {
  std::atomic<uint64_t> word{SlotWord(0, kFree)};
  // Read before the slot is owned (by the expiry scan), hence atomic.
  std::atomic<int64_t> deadline{0};
  // Written while BUSY, read by the next owner: ordered by `word`.
  ScopeRecord* leaf = nullptr;
  int64_t cpus = 0;
  int64_t gpus = 0;
  int64_t accelerators = 0;
  // Index of the type in the leaf's accelerator list (append-only), or -1.
  int32_t accelerator_index = -1;
};

struct AccountantState {
  explicit AccountantState(const QuotaAccountantOptions& o)
      : options(o),
        clock(o.clock != nullptr ? o.clock.get() : &Clock::System()),
        num_slots(std::max<size_t>(
            1, std::min<size_t>(o.max_reservations, 0x7FFFFFFF))),
        slots(new ReservationSlot[num_slots]) {}

  QuotaAccountantOptions options;  // keeps the clock alive
  const Clock* clock;
  ScopeTable scopes;
  size_t num_slots;
  std::unique_ptr<ReservationSlot[]> slots;
  // No live reservation's deadline is earlier (UnixNanos); INT64_MAX when
  // none. May be lower than the true minimum, never higher.
  std::atomic<int64_t> earliest_deadline{kNanosMax};
  std::mutex expiry_mu;  // one expiry scan at a time
};

namespace {

// Largest amount a node may carry in one dimension: sums of 9 million such
// nodes still fit in an int64.
constexpr int64_t kMaxAmount = int64_t{1} << 40;

struct Amounts {
  int64_t cpus = 0;
  int64_t gpus = 0;
  int64_t accelerators = 0;
  absl::string_view type;  // canonical; empty when accelerators == 0
  uint64_t key = 0;        // AcceleratorKey(type)
};

// Checks a node's shape; fills `amounts` (its type viewing `buffer`, upper
// case). One pass over the type: validate and canonicalize.
bool ParseNode(const Node& node, char* buffer, Amounts* amounts) {
  if (node.cloud_id.empty() || node.project_id.empty() ||
      node.creator_id.empty()) {
    return false;
  }
  if (node.cpus < 0 || node.gpus < 0 || node.accelerators < 0 ||
      node.cpus > kMaxAmount || node.gpus > kMaxAmount ||
      node.accelerators > kMaxAmount) {
    return false;
  }
  amounts->cpus = node.cpus;
  amounts->gpus = node.gpus;
  amounts->accelerators = node.accelerators;
  const absl::string_view type = node.accelerator_type;
  if (node.accelerators > 0 || !type.empty()) {
    // IsValidAcceleratorType, inline: 1..64 of [A-Za-z0-9._-], first alnum.
    if (type.empty() || type.size() > kMaxAcceleratorTypeLength) return false;
    for (size_t i = 0; i < type.size(); ++i) {
      const char c = type[i];
      const bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                         (c >= '0' && c <= '9');
      if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) {
        return false;
      }
      buffer[i] = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
    }
  }
  if (node.accelerators > 0) {
    amounts->type = absl::string_view(buffer, type.size());
    amounts->key = AcceleratorKey(amounts->type);
  } else {
    amounts->type = {};
  }
  return true;
}

// usage + requested > limit, without overflow; limit -1 is unlimited.
inline bool Passes(int64_t usage, int64_t requested, int64_t limit) {
  return limit >= 0 && requested > limit - usage;
}

// The first dimension of `q` that the node would pass in scope `u`.
bool FirstBreach(const CompiledQuota& q, const ScopeUsage& u, const Amounts& a,
                 QuotaBreach* b) {
  auto fill = [&](QuotaDimension d, int64_t usage, int64_t requested,
                  int64_t limit, absl::string_view type) {
    b->dimension = d;
    b->accelerator_type = type;
    b->usage = usage;
    b->requested = requested;
    b->limit = limit;
    return true;
  };
  if (Passes(u.cpus, a.cpus, q.cpus))
    return fill(QuotaDimension::kCpus, u.cpus, a.cpus, q.cpus, {});
  if (Passes(u.gpus, a.gpus, q.gpus))
    return fill(QuotaDimension::kGpus, u.gpus, a.gpus, q.gpus, {});
  if (Passes(u.instances, 1, q.instances))
    return fill(QuotaDimension::kInstances, u.instances, 1, q.instances, {});
  for (const CompiledQuota::Accelerator& acc : q.accelerators) {
    const int64_t usage = u.Accelerators(acc.key, acc.type);
    const int64_t requested =
        acc.key == a.key && SameBytes(acc.type, a.type) ? a.accelerators : 0;
    if (Passes(usage, requested, acc.limit)) {
      return fill(QuotaDimension::kAccelerators, usage, requested, acc.limit,
                  acc.type);
    }
  }
  return false;
}

void LockShapes(ScopeRecord* leaf) {
  for (ScopeRecord* r : leaf->shapes) r->usage.lock.lock();
}
void UnlockShapes(ScopeRecord* leaf) {
  for (int i = 3; i >= 0; --i) leaf->shapes[i]->usage.lock.unlock();
}

// Adds the node to the four shapes (locks held). Returns the index of its
// accelerator type in the leaf's list, or -1.
int32_t AddLocked(ScopeRecord* leaf, const Amounts& a) {
  int32_t index = -1;
  for (ScopeRecord* r : leaf->shapes) {
    ScopeUsage& u = r->usage;
    u.cpus += a.cpus;
    u.gpus += a.gpus;
    u.instances += 1;
    if (a.accelerators > 0) u.Entry(a.key, a.type).count += a.accelerators;
  }
  if (a.accelerators > 0) {
    const auto& list = leaf->usage.accelerators;
    for (size_t i = 0; i < list.size(); ++i) {
      if (list[i].key == a.key && SameBytes(list[i].type, a.type))
        index = static_cast<int32_t>(i);
    }
  }
  return index;
}

// Removes a node from the four shapes (locks held), never below what the
// leaf holds, so the parents (sums over leaves) stay consistent even if a
// caller stopped a node that was only reserved.
void SubtractLocked(ScopeRecord* leaf, int64_t cpus, int64_t gpus,
                    int32_t accelerator_index, int64_t accelerators) {
  ScopeUsage& l = leaf->usage;
  const int64_t dc = std::min(cpus, l.cpus);
  const int64_t dg = std::min(gpus, l.gpus);
  const int64_t di = std::min<int64_t>(1, l.instances);
  int64_t da = 0;
  uint64_t key = 0;
  // A view: Entry below finds the type in every shape (a parent holds at
  // least what the leaf holds), so no list grows and the view stays valid.
  absl::string_view type;
  if (accelerator_index >= 0 &&
      static_cast<size_t>(accelerator_index) < l.accelerators.size()) {
    da = std::min(accelerators, l.accelerators[accelerator_index].count);
    key = l.accelerators[accelerator_index].key;
    if (da > 0) type = l.accelerators[accelerator_index].type;
  }
  for (ScopeRecord* r : leaf->shapes) {
    ScopeUsage& u = r->usage;
    u.cpus -= dc;
    u.gpus -= dg;
    u.instances -= di;
    if (da > 0) u.Entry(key, type).count -= da;
  }
}

}  // namespace

// The decision procedure shared by AdmitNode and CheckNode.
class Admitter {
 public:
  static NodeAdmission Run(AccountantState& s, const QuotaBook& book,
                           const Node& node, bool reserve);
  static size_t Expire(AccountantState& s);
  static void Free(ReservationSlot& slot, uint64_t generation) {
    slot.word.store(SlotWord(generation, kFree), std::memory_order_release);
  }

 private:
  static bool Claim(AccountantState& s, uint32_t* index, uint64_t* generation);
  static void Decide(const QuotaBookData& book, const uint32_t* quotas, int n,
                     ScopeRecord* leaf, const Amounts& a, NodeAdmission* out);
};

bool Admitter::Claim(AccountantState& s, uint32_t* index,
                     uint64_t* generation) {
  // Each thread starts where it last succeeded, so threads do not contend
  // on a shared cursor.
  thread_local uint32_t cursor = static_cast<uint32_t>(
      std::hash<std::thread::id>()(std::this_thread::get_id()));
  const size_t n = s.num_slots;
  for (size_t k = 0; k < n; ++k) {
    const uint32_t i = static_cast<uint32_t>((cursor + k) % n);
    ReservationSlot& slot = s.slots[i];
    uint64_t w = slot.word.load(std::memory_order_relaxed);
    if (StateOf(w) != kFree) continue;
    uint64_t g = GenerationOf(w) + 1;
    if ((g & 0xFFFFFFFFu) == 0) ++g;  // ids never have generation 0
    if (slot.word.compare_exchange_strong(w, SlotWord(g, kBusy),
                                          std::memory_order_acquire,
                                          std::memory_order_relaxed)) {
      cursor = i + 1;
      *index = i;
      *generation = g;
      return true;
    }
  }
  return false;
}

void Admitter::Decide(const QuotaBookData& book, const uint32_t* quotas, int n,
                      ScopeRecord* leaf, const Amounts& a, NodeAdmission* out) {
  // Breaches go straight into `out` in shape order, then hard ones are moved
  // first (at most four entries; no scratch arrays to clear).
  int num = 0, num_hard = 0;
  for (int i = 0; i < n; ++i) {
    const CompiledQuota& q = book.compiled[quotas[i]];
    QuotaBreach& b = out->breaches[num];
    if (!FirstBreach(q, leaf->shapes[q.shape]->usage, a, &b)) continue;
    const v1::ResourceQuota& proto = book.quotas[q.index];
    b.quota_index = q.index;
    b.quota_id = proto.id();
    b.quota_name = proto.name();
    b.hard = q.hard;
    num_hard += q.hard;
    ++num;
  }
  out->num_breaches = num;
  if (num_hard > 0 && num_hard < num) {
    std::stable_partition(out->breaches, out->breaches + num,
                          [](const QuotaBreach& b) { return b.hard; });
  }
  if (num_hard > 0) {
    out->outcome = QuotaOutcome::kBlock;
    out->reason = QuotaReason::kHardQuotaExceeded;
  } else if (num > 0) {
    out->outcome = QuotaOutcome::kAdmitWithAlert;
    out->reason = QuotaReason::kSoftQuotaExceeded;
  } else {
    out->outcome = QuotaOutcome::kAdmit;
    out->reason = QuotaReason::kWithinQuota;
  }
}

NodeAdmission Admitter::Run(AccountantState& s, const QuotaBook& book,
                            const Node& node, bool reserve) {
  NodeAdmission out;
  out.revision = book.revision();
  const QuotaBookData& data = QuotaBookAccess::Data(book);
  char type_buffer[kMaxAcceleratorTypeLength];
  Amounts a;
  if (!ParseNode(node, type_buffer, &a)) {
    out.reason = QuotaReason::kInvalidNode;
    return out;
  }
  uint32_t slot_index = 0;
  uint64_t generation = 0;
  if (reserve && !Claim(s, &slot_index, &generation)) {
    Expire(s);
    if (!Claim(s, &slot_index, &generation)) {
      out.reason = QuotaReason::kTooManyReservations;
      return out;
    }
  }

  // The node's quotas: from its leaf's cache when the leaf last resolved
  // against this very book (no id lookups in the book), else from the book.
  // The cache is guarded by the leaf's lock, which the decision holds
  // anyway.
  uint32_t quotas[4];
  int n = 0;
  ScopeRecord* leaf =
      s.scopes.Find(node.cloud_id, node.project_id, node.creator_id);
  bool cached = false;
  if (leaf != nullptr) {
    LockShapes(leaf);
    if (leaf->cached_book == data.uid) {
      n = leaf->cached_count;
      for (int i = 0; i < n; ++i) quotas[i] = leaf->cached_quotas[i];
      cached = true;
    } else {
      UnlockShapes(leaf);
    }
  }
  if (!cached) {
    const QuotaReason resolved = FindNodeQuotas(
        data, node.cloud_id, node.project_id, node.creator_id, quotas, &n);
    if (resolved != QuotaReason::kWithinQuota) {
      if (reserve) Free(s.slots[slot_index], generation);
      out.reason = resolved;  // fail closed
      return out;
    }
    if (leaf == nullptr) {
      leaf = s.scopes.FindOrCreateLeaf(node.cloud_id, node.project_id,
                                       node.creator_id);
    }
    LockShapes(leaf);
    leaf->cached_book = data.uid;
    leaf->cached_count = static_cast<uint8_t>(n);
    for (int i = 0; i < n; ++i) leaf->cached_quotas[i] = quotas[i];
  }
  out.num_applicable = n;
  for (int i = 0; i < n; ++i)
    out.applicable[i] = data.compiled[quotas[i]].index;

  // Decide and take under the locks of the node's four scopes (held since
  // above). When the answer is not a plain admit and a reservation deadline
  // has passed, expire first (outside the locks) and decide again.
  int32_t accelerator_index = -1;
  Decide(data, quotas, n, leaf, a, &out);
  if (out.outcome != QuotaOutcome::kAdmit &&
      ToUnixNanosSaturated(s.clock->Now()) >=
          s.earliest_deadline.load(std::memory_order_seq_cst)) {
    UnlockShapes(leaf);
    Expire(s);
    LockShapes(leaf);
    Decide(data, quotas, n, leaf, a, &out);
  }
  if (reserve && out.outcome != QuotaOutcome::kBlock) {
    accelerator_index = AddLocked(leaf, a);
  }
  UnlockShapes(leaf);

  if (!reserve) return out;
  ReservationSlot& slot = s.slots[slot_index];
  if (out.outcome == QuotaOutcome::kBlock) {
    Free(slot, generation);
    return out;
  }
  const int64_t deadline =
      ToUnixNanosSaturated(s.clock->Now() + s.options.reservation_ttl);
  slot.leaf = leaf;
  slot.cpus = a.cpus;
  slot.gpus = a.gpus;
  slot.accelerators = a.accelerators;
  slot.accelerator_index = accelerator_index;
  slot.deadline.store(deadline, std::memory_order_relaxed);
  slot.word.store(SlotWord(generation, kActive), std::memory_order_seq_cst);
  int64_t earliest = s.earliest_deadline.load(std::memory_order_seq_cst);
  while (deadline < earliest &&
         !s.earliest_deadline.compare_exchange_weak(
             earliest, deadline, std::memory_order_seq_cst)) {
  }
  out.reservation = ((generation & 0xFFFFFFFFu) << 32) | slot_index;
  return out;
}

size_t Admitter::Expire(AccountantState& s) {
  std::lock_guard<std::mutex> lock(s.expiry_mu);
  const int64_t now = ToUnixNanosSaturated(s.clock->Now());
  if (now < s.earliest_deadline.load(std::memory_order_seq_cst)) return 0;
  // Reset first: a reservation published during the scan lowers it again.
  s.earliest_deadline.store(kNanosMax, std::memory_order_seq_cst);
  int64_t earliest = kNanosMax;
  size_t expired = 0;
  for (size_t i = 0; i < s.num_slots; ++i) {
    ReservationSlot& slot = s.slots[i];
    uint64_t w = slot.word.load(std::memory_order_seq_cst);
    if (StateOf(w) != kActive) continue;
    const int64_t deadline = slot.deadline.load(std::memory_order_relaxed);
    if (deadline > now) {
      earliest = std::min(earliest, deadline);
      continue;
    }
    if (!slot.word.compare_exchange_strong(w, SlotWord(GenerationOf(w), kBusy),
                                           std::memory_order_acquire,
                                           std::memory_order_relaxed)) {
      continue;  // committed or released meanwhile
    }
    LockShapes(slot.leaf);
    SubtractLocked(slot.leaf, slot.cpus, slot.gpus, slot.accelerator_index,
                   slot.accelerators);
    UnlockShapes(slot.leaf);
    Free(slot, GenerationOf(w));
    ++expired;
  }
  int64_t current = s.earliest_deadline.load(std::memory_order_seq_cst);
  while (earliest < current &&
         !s.earliest_deadline.compare_exchange_weak(
             current, earliest, std::memory_order_seq_cst)) {
  }
  return expired;
}

}  // namespace internal

QuotaAccountant::QuotaAccountant(QuotaAccountantOptions options)
    : state_(std::make_unique<internal::AccountantState>(options)) {}
QuotaAccountant::~QuotaAccountant() = default;

NodeAdmission QuotaAccountant::AdmitNode(const QuotaBook& book,
                                         const Node& node) {
  return internal::Admitter::Run(*state_, book, node, /*reserve=*/true);
}

NodeAdmission QuotaAccountant::CheckNode(const QuotaBook& book,
                                         const Node& node) const {
  return internal::Admitter::Run(*state_, book, node, /*reserve=*/false);
}

namespace {

// Takes ownership (BUSY) of the live reservation `id`; false if it is not
// one.
bool Acquire(internal::AccountantState& s, uint64_t id,
             internal::ReservationSlot** slot, uint64_t* generation) {
  const uint64_t index = id & 0xFFFFFFFFu;
  const uint64_t gen32 = id >> 32;
  if (gen32 == 0 || index >= s.num_slots) return false;
  internal::ReservationSlot& r = s.slots[index];
  uint64_t w = r.word.load(std::memory_order_relaxed);
  while (internal::StateOf(w) == internal::kActive &&
         (internal::GenerationOf(w) & 0xFFFFFFFFu) == gen32) {
    if (r.word.compare_exchange_weak(
            w, internal::SlotWord(internal::GenerationOf(w), internal::kBusy),
            std::memory_order_acquire, std::memory_order_relaxed)) {
      *slot = &r;
      *generation = internal::GenerationOf(w);
      return true;
    }
  }
  return false;
}

absl::Status UnknownReservation(uint64_t id) {
  return absl::NotFoundError(absl::StrCat(
      "reservation ", id,
      " is not live (unknown, already committed or released, or expired)"));
}

}  // namespace

absl::Status QuotaAccountant::Commit(uint64_t reservation) {
  internal::ReservationSlot* slot;
  uint64_t generation;
  if (!Acquire(*state_, reservation, &slot, &generation)) {
    return UnknownReservation(reservation);
  }
  internal::Admitter::Free(*slot, generation);  // the usage stays counted
  return absl::OkStatus();
}

absl::Status QuotaAccountant::Release(uint64_t reservation) {
  internal::ReservationSlot* slot;
  uint64_t generation;
  if (!Acquire(*state_, reservation, &slot, &generation)) {
    return UnknownReservation(reservation);
  }
  internal::LockShapes(slot->leaf);
  internal::SubtractLocked(slot->leaf, slot->cpus, slot->gpus,
                           slot->accelerator_index, slot->accelerators);
  internal::UnlockShapes(slot->leaf);
  internal::Admitter::Free(*slot, generation);
  return absl::OkStatus();
}

size_t QuotaAccountant::ExpireReservations() {
  return internal::Admitter::Expire(*state_);
}

absl::Status QuotaAccountant::NodeStarted(const Node& node) {
  char buffer[internal::kMaxAcceleratorTypeLength];
  internal::Amounts a;
  if (!internal::ParseNode(node, buffer, &a)) {
    return absl::InvalidArgumentError(
        "invalid node: cloud, project and creator ids are required, amounts "
        "must be in [0, 2^40], and the accelerator type well-formed");
  }
  internal::ScopeRecord* leaf = state_->scopes.FindOrCreateLeaf(
      node.cloud_id, node.project_id, node.creator_id);
  internal::LockShapes(leaf);
  internal::AddLocked(leaf, a);
  internal::UnlockShapes(leaf);
  return absl::OkStatus();
}

absl::Status QuotaAccountant::NodeStopped(const Node& node) {
  char buffer[internal::kMaxAcceleratorTypeLength];
  internal::Amounts a;
  if (!internal::ParseNode(node, buffer, &a)) {
    return absl::InvalidArgumentError(
        "invalid node: cloud, project and creator ids are required, amounts "
        "must be in [0, 2^40], and the accelerator type well-formed");
  }
  internal::ScopeRecord* leaf =
      state_->scopes.Find(node.cloud_id, node.project_id, node.creator_id);
  auto not_running = [&]() {
    return absl::FailedPreconditionError(absl::StrCat(
        "no such running node: (cloud ", internal::Quote(node.cloud_id),
        ", project ", internal::Quote(node.project_id), ", creator ",
        internal::Quote(node.creator_id), ") does not run that much"));
  };
  if (leaf == nullptr) return not_running();
  internal::LockShapes(leaf);
  internal::ScopeUsage& u = leaf->usage;
  int32_t index = -1;
  if (a.accelerators > 0) {
    for (size_t i = 0; i < u.accelerators.size(); ++i) {
      if (u.accelerators[i].key == a.key &&
          internal::SameBytes(u.accelerators[i].type, a.type)) {
        index = static_cast<int32_t>(i);
      }
    }
  }
  const bool runs =
      u.cpus >= a.cpus && u.gpus >= a.gpus && u.instances >= 1 &&
      (a.accelerators == 0 ||
       (index >= 0 && u.accelerators[index].count >= a.accelerators));
  if (runs)
    internal::SubtractLocked(leaf, a.cpus, a.gpus, index, a.accelerators);
  internal::UnlockShapes(leaf);
  return runs ? absl::OkStatus() : not_running();
}

ResourceUsage QuotaAccountant::Usage(absl::string_view cloud_id,
                                     absl::string_view project_id,
                                     absl::string_view creator_id) const {
  ResourceUsage out;
  internal::ScopeRecord* r =
      state_->scopes.Find(cloud_id, project_id, creator_id);
  if (r == nullptr) return out;
  r->usage.lock.lock();
  out.cpus = r->usage.cpus;
  out.gpus = r->usage.gpus;
  out.instances = r->usage.instances;
  for (const internal::AcceleratorCount& a : r->usage.accelerators) {
    if (a.count != 0) out.accelerators.emplace_back(a.type, a.count);
  }
  r->usage.lock.unlock();
  std::sort(out.accelerators.begin(), out.accelerators.end());
  return out;
}

size_t QuotaAccountant::num_reservations() const {
  size_t n = 0;
  for (size_t i = 0; i < state_->num_slots; ++i) {
    if (internal::StateOf(state_->slots[i].word.load(
            std::memory_order_relaxed)) == internal::kActive) {
      ++n;
    }
  }
  return n;
}

}  // namespace arbiter
