// An allocator for the snapshot's large hot arrays (grants, principals,
// nodes). Allocations of 2 MiB or more are 2 MiB-aligned and advised as
// transparent huge pages (madvise(MADV_HUGEPAGE); a no-op where THP is off),
// so that Check's scattered reads into a million-principal snapshot miss
// the TLB far less often. Smaller allocations come from operator new.

#ifndef ARBITER_SRC_INTERNAL_HUGE_PAGE_ALLOCATOR_H_
#define ARBITER_SRC_INTERNAL_HUGE_PAGE_ALLOCATOR_H_

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <new>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace arbiter {
namespace internal {

template <typename T>
class HugePageAllocator {
 public:
  using value_type = T;
  static constexpr size_t kHugePage = size_t{2} << 20;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT

  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kHugePage) {
      if constexpr (alignof(T) > __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
        return static_cast<T*>(
            ::operator new(bytes, std::align_val_t(alignof(T))));
      }
      return static_cast<T*>(::operator new(bytes));
    }
    const size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* p = std::aligned_alloc(kHugePage, rounded);
    if (p == nullptr) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    madvise(p, rounded, MADV_HUGEPAGE);  // advice only: failure is harmless
#endif
    return static_cast<T*>(p);
  }

  void deallocate(T* p, size_t n) {
    if (n * sizeof(T) < kHugePage) {
      if constexpr (alignof(T) > __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
        ::operator delete(p, std::align_val_t(alignof(T)));
      } else {
        ::operator delete(p);
      }
    } else {
      std::free(p);
    }
  }

  friend bool operator==(const HugePageAllocator&, const HugePageAllocator&) {
    return true;
  }
  friend bool operator!=(const HugePageAllocator&, const HugePageAllocator&) {
    return false;
  }
};

template <typename T>
using HugeVector = std::vector<T, HugePageAllocator<T>>;

// The by-name lookup tables of a large snapshot: one probe each per Check,
// at random places of tables of tens of MiB.
template <typename K, typename V,
          typename Hash = absl::container_internal::hash_default_hash<K>,
          typename Eq = absl::container_internal::hash_default_eq<K>>
using HugeHashMap =
    absl::flat_hash_map<K, V, Hash, Eq,
                        HugePageAllocator<std::pair<const K, V>>>;

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_INTERNAL_HUGE_PAGE_ALLOCATOR_H_
