// Hash functors for the snapshot's lookup tables. Keys are string views into
// the snapshot's StringTables, so lookups with a caller's view allocate
// nothing. Emails are matched ASCII-case-insensitively without copying.

#ifndef ARBITER_SRC_INTERNAL_HASHING_H_
#define ARBITER_SRC_INTERNAL_HASHING_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"

namespace arbiter {
namespace internal {

// ASCII-case-insensitive hashing and equality, eight bytes at a time: the
// email lookup of every by-name check goes through them.
namespace hashing_internal {

inline uint64_t Load(const char* p, size_t n) {  // n <= 8
  uint64_t w = 0;
  std::memcpy(&w, p, n);
  return w;
}

// Sets bit 5 of every byte in 'A'..'Z' (SWAR; bytes >= 0x80 are untouched).
inline uint64_t LowerAscii(uint64_t w) {
  constexpr uint64_t kLow7 = 0x7f7f7f7f7f7f7f7full;
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  const uint64_t b = w & kLow7;
  const uint64_t ge_a = b + 0x3f3f3f3f3f3f3f3full;  // high bit: b >= 'A'
  const uint64_t gt_z = b + 0x2525252525252525ull;  // high bit: b > 'Z'
  const uint64_t upper = ge_a & ~gt_z & ~w & kHigh;
  return w | (upper >> 2);
}

inline uint64_t Mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

}  // namespace hashing_internal

struct CaseInsensitiveHash {
  size_t operator()(absl::string_view s) const {
    using namespace hashing_internal;
    uint64_t h = 0x9e3779b97f4a7c15ull ^ s.size();
    size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
      h = (h ^ LowerAscii(Load(s.data() + i, 8))) * 0x100000001b3ull;
      h = (h << 29) | (h >> 35);
    }
    if (i < s.size()) {
      h = (h ^ LowerAscii(Load(s.data() + i, s.size() - i))) * 0x100000001b3ull;
    }
    return static_cast<size_t>(Mix(h));
  }
};

struct CaseInsensitiveEq {
  bool operator()(absl::string_view a, absl::string_view b) const {
    using namespace hashing_internal;
    if (a.size() != b.size()) return false;
    size_t i = 0;
    for (; i + 8 <= a.size(); i += 8) {
      if (LowerAscii(Load(a.data() + i, 8)) !=
          LowerAscii(Load(b.data() + i, 8))) {
        return false;
      }
    }
    const size_t n = a.size() - i;
    return n == 0 || LowerAscii(Load(a.data() + i, n)) ==
                         LowerAscii(Load(b.data() + i, n));
  }
};

// (parent node, child name): clouds by name within an organization, projects
// within a cloud, workloads within a project.
struct ChildKey {
  uint32_t parent;
  absl::string_view name;

  template <typename H>
  friend H AbslHashValue(H h, const ChildKey& k) {
    return H::combine(std::move(h), k.parent, k.name);
  }
  friend bool operator==(const ChildKey& a, const ChildKey& b) {
    return a.parent == b.parent && a.name == b.name;
  }
};

// (organization node, email) keys compared ASCII-case-insensitively: the
// principal with an email within one organization.
struct OrgEmailHash {
  size_t operator()(const ChildKey& k) const {
    return CaseInsensitiveHash()(k.name) ^
           hashing_internal::Mix(k.parent * 0x9e3779b97f4a7c15ull);
  }
};
struct OrgEmailEq {
  bool operator()(const ChildKey& a, const ChildKey& b) const {
    return a.parent == b.parent && CaseInsensitiveEq()(a.name, b.name);
  }
};

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_INTERNAL_HASHING_H_
