// Hash functors for the snapshot's lookup tables. Keys are string views into
// the snapshot's StringTables, so lookups with a caller's view allocate
// nothing. Emails are matched ASCII-case-insensitively without copying.

#ifndef ARBITER_SRC_INTERNAL_HASHING_H_
#define ARBITER_SRC_INTERNAL_HASHING_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/hash/hash.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace arbiter {
namespace internal {

// FNV-1a over ASCII-lowercased bytes, finished with a 64-bit mix so both the
// high and the low bits carry entropy (flat_hash_map uses both).
struct CaseInsensitiveHash {
  size_t operator()(absl::string_view s) const {
    uint64_t h = 0xcbf29ce484222325ull;
    for (char c : s) {
      h ^= static_cast<unsigned char>(absl::ascii_tolower(c));
      h *= 0x100000001b3ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return static_cast<size_t>(h);
  }
};

struct CaseInsensitiveEq {
  bool operator()(absl::string_view a, absl::string_view b) const {
    return absl::EqualsIgnoreCase(a, b);
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

inline std::string AsciiLower(absl::string_view s) {
  return absl::AsciiStrToLower(s);
}

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_INTERNAL_HASHING_H_
