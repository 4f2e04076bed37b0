// The accountant's usage records: one per scope (cloud, project|ALL,
// user|ALL), found through a lock-free hash table.
//
// Records are created on first use and never removed (a scope whose nodes
// all stopped keeps a record at zero), so a pointer to a record stays valid
// for the table's lifetime, and readers need no reclamation scheme:
//
//  * Find is lock-free: it loads the current slot array (acquire) and probes
//    it linearly; a slot, once set, never changes in that array.
//  * FindOrCreateLeaf takes the insertion mutex only on a miss. It creates
//    the leaf (cloud, project, user) and its three parent records, and grows
//    the table by publishing a new slot array twice as large; old arrays are
//    kept (their total size is below the current one's) for readers still
//    probing them. A reader that misses in an old array falls back to the
//    locked path, which probes the current one.
//
// The counters of a record are guarded by its spinlock. The accountant
// locks the four records of a node in shape order (cloud, project, user,
// project+user); every operation locks a subset in that order, so there is
// no lock-order cycle.
//
// Internal: included by src/quota only.

#ifndef ARBITER_SRC_QUOTA_SCOPE_TABLE_H_
#define ARBITER_SRC_QUOTA_SCOPE_TABLE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace arbiter {
namespace internal {

// A test-and-test-and-set lock for critical sections of a few dozen
// instructions. It yields after a short spin, so a preempted holder does not
// make waiters burn their time slice. std::atomic, so ThreadSanitizer sees
// the synchronization.
class SpinLock {
 public:
  void lock() {
    int spins = 0;
    while (locked_.exchange(true, std::memory_order_acquire)) {
      while (locked_.load(std::memory_order_relaxed)) {
        if (++spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
          _mm_pause();
#endif
        } else {
          std::this_thread::yield();
        }
      }
    }
  }
  void unlock() { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

// Byte equality for short strings (ids, accelerator types) without a call
// to memcmp: 8 bytes at a time.
inline bool SameBytes(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  const char* x = a.data();
  const char* y = b.data();
  size_t n = a.size();
  for (; n >= 8; n -= 8, x += 8, y += 8) {
    uint64_t u, v;
    std::memcpy(&u, x, 8);
    std::memcpy(&v, y, 8);
    if (u != v) return false;
  }
  for (; n > 0; --n, ++x, ++y) {
    if (*x != *y) return false;
  }
  return true;
}

// Accelerator types are compared by a 64-bit key first (a hash of the
// canonical name), then by name.
uint64_t AcceleratorKey(absl::string_view canonical_type);

struct AcceleratorCount {
  uint64_t key = 0;
  std::string type;  // canonical (upper case)
  int64_t count = 0;
};

// The usage of one scope: running nodes plus live reservations.
struct ScopeUsage {
  SpinLock lock;
  int64_t cpus = 0;       // guarded by lock
  int64_t gpus = 0;       // guarded by lock
  int64_t instances = 0;  // guarded by lock
  // Append-only: an entry is never removed (it stays at 0), so an index is
  // stable. Guarded by lock.
  absl::InlinedVector<AcceleratorCount, 2> accelerators;

  int64_t Accelerators(uint64_t key, absl::string_view type) const {
    for (const AcceleratorCount& a : accelerators) {
      if (a.key == key && SameBytes(a.type, type)) return a.count;
    }
    return 0;
  }
  // The entry of `type`, created at 0 if absent (allocates only when the
  // scope has more types than fit inline or the name is long).
  AcceleratorCount& Entry(uint64_t key, absl::string_view type) {
    for (AcceleratorCount& a : accelerators) {
      if (a.key == key && SameBytes(a.type, type)) return a;
    }
    accelerators.push_back(AcceleratorCount{key, std::string(type), 0});
    return accelerators.back();
  }
};

// Hot fields first: the decision reads the hash, the counters and the
// shapes; the id strings only to confirm a probe.
struct ScopeRecord {
  size_t hash = 0;
  ScopeUsage usage;
  // For a leaf (cloud, project, user): the records of its four shapes, in
  // lock order; shapes[3] is the leaf itself. Null for other records.
  ScopeRecord* shapes[4] = {nullptr, nullptr, nullptr, nullptr};
  // For a leaf: the applicable quotas (compiled indices) of the book with
  // QuotaBookData::uid == cached_book (0: none). Guarded by usage.lock.
  uint64_t cached_book = 0;
  uint8_t cached_count = 0;
  uint32_t cached_quotas[4] = {0, 0, 0, 0};
  std::string cloud;
  std::string project;  // empty: every project of the cloud
  std::string user;     // empty: every creator
};

class ScopeTable {
 public:
  ScopeTable();
  ~ScopeTable();
  ScopeTable(const ScopeTable&) = delete;
  ScopeTable& operator=(const ScopeTable&) = delete;

  static size_t Hash(absl::string_view cloud, absl::string_view project,
                     absl::string_view user);

  // Lock-free. Null if the scope has no record yet.
  ScopeRecord* Find(absl::string_view cloud, absl::string_view project,
                    absl::string_view user) const;
  // The leaf record of a node, with its parents; all three ids non-empty.
  ScopeRecord* FindOrCreateLeaf(absl::string_view cloud,
                                absl::string_view project,
                                absl::string_view user);

  // Number of records (locks the insertion mutex).
  size_t size() const;

 private:
  // A slot keeps the record's hash next to the pointer, so a probe compares
  // hashes without touching the records of other scopes. `hash` is written
  // before `record` is published (release); a reader loads `record`
  // (acquire) first.
  struct Slot {
    std::atomic<size_t> hash{0};
    std::atomic<ScopeRecord*> record{nullptr};
  };
  struct Slots {
    explicit Slots(size_t capacity);
    size_t mask;
    std::unique_ptr<Slot[]> slot;
  };

  static ScopeRecord* Probe(const Slots& slots, size_t hash,
                            absl::string_view cloud, absl::string_view project,
                            absl::string_view user);
  ScopeRecord* FindOrCreateLocked(absl::string_view cloud,
                                  absl::string_view project,
                                  absl::string_view user)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void InsertLocked(ScopeRecord* record) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::atomic<Slots*> current_;
  mutable std::mutex mu_;
  // Every slot array ever published; the last one is current_.
  std::vector<std::unique_ptr<Slots>> tables_ ABSL_GUARDED_BY(mu_);
  // Stable addresses: a deque never moves its elements.
  std::deque<ScopeRecord> records_ ABSL_GUARDED_BY(mu_);
};

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_QUOTA_SCOPE_TABLE_H_
