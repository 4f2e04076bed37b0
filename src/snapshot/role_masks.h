// Role masks: sets of roles as bitsets, the vocabulary of the one decision
// core (src/eval/decide.h). Bit r stands for role r of the snapshot.
//
// A snapshot with at most 64 roles (the Anyscale profile has 16) decides on
// plain uint64_t masks (PermissionMasks, in the snapshot's hot tables).
// Every snapshot also has wide masks (WideRoleMasks below): RoleMask<W>
// of W 64-bit words, the smallest W of 1, 4, 16 or 64 that holds its roles,
// so that a profile of up to 4,096 roles (EngineOptions::max_roles) decides
// by the same core, over a wider type, allocating nothing.

#ifndef ARBITER_SRC_SNAPSHOT_ROLE_MASKS_H_
#define ARBITER_SRC_SNAPSHOT_ROLE_MASKS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace arbiter {
namespace internal {

// Role masks of one permission, for snapshots with at most 64 roles (bit r is
// role r). Check ORs the roles of the live grants on the path into one mask
// per level and decides with these, then looks up the deciding grant.
struct PermissionMasks {
  uint64_t allow = 0;                // allow roles whose permissions hold it
  uint64_t own = 0;                  // allow roles holding it on own workloads
  uint64_t implied[2] = {0, 0};      // [private, public]: cloud roles whose
                                     // implied project role holds it
  uint64_t implied_own[2] = {0, 0};  // ... as an own-workload permission
  uint64_t deny = 0;                 // deny roles that subtract it
  uint64_t cap_blocks = 0;           // deny roles whose cap role lacks it
  bool member_has = false;           // the member role holds it
};

// A set of up to 64 * W roles.
template <int W>
struct RoleMask {
  uint64_t w[W] = {};

  friend RoleMask operator|(const RoleMask& a, const RoleMask& b) {
    RoleMask r;
    for (int i = 0; i < W; ++i) r.w[i] = a.w[i] | b.w[i];
    return r;
  }
  friend RoleMask operator&(const RoleMask& a, const RoleMask& b) {
    RoleMask r;
    for (int i = 0; i < W; ++i) r.w[i] = a.w[i] & b.w[i];
    return r;
  }
  friend RoleMask operator~(const RoleMask& a) {
    RoleMask r;
    for (int i = 0; i < W; ++i) r.w[i] = ~a.w[i];
    return r;
  }
  RoleMask& operator|=(const RoleMask& b) { return *this = *this | b; }
  RoleMask& operator&=(const RoleMask& b) { return *this = *this & b; }
};

// The operations the decision core needs, for both mask types.
inline bool Any(uint64_t m) { return m != 0; }
template <int W>
bool Any(const RoleMask<W>& m) {
  uint64_t any = 0;
  for (int i = 0; i < W; ++i) any |= m.w[i];
  return any != 0;
}

inline bool Has(uint64_t m, uint32_t role) { return (m >> role) & 1; }
template <int W>
bool Has(const RoleMask<W>& m, uint32_t role) {
  return (m.w[role >> 6] >> (role & 63)) & 1;
}

inline void Clear(uint64_t* m, uint32_t role) { *m &= ~(uint64_t{1} << role); }
template <int W>
void Clear(RoleMask<W>* m, uint32_t role) {
  m->w[role >> 6] &= ~(uint64_t{1} << (role & 63));
}

inline void Set(uint64_t* m, uint32_t role) { *m |= uint64_t{1} << role; }
template <int W>
void Set(RoleMask<W>* m, uint32_t role) {
  m->w[role >> 6] |= uint64_t{1} << (role & 63);
}

// Calls f(role) for every role of `m`, ascending.
template <typename F>
void ForEachRole(uint64_t m, F&& f) {
  for (; m != 0; m &= m - 1) f(static_cast<uint32_t>(__builtin_ctzll(m)));
}
template <int W, typename F>
void ForEachRole(const RoleMask<W>& m, F&& f) {
  for (int i = 0; i < W; ++i) {
    for (uint64_t x = m.w[i]; x != 0; x &= x - 1) {
      f(static_cast<uint32_t>(i * 64 + __builtin_ctzll(x)));
    }
  }
}

// Reads a mask of W words from `words` (a snapshot's wide storage of
// `stored` words per mask), zero-extended: a snapshot may be decided with a
// wider mask than it needs (tests force RoleMask<4> on small profiles).
template <int W>
RoleMask<W> LoadMask(const uint64_t* words, size_t stored) {
  RoleMask<W> m;
  for (size_t i = 0; i < static_cast<size_t>(W) && i < stored; ++i) {
    m.w[i] = words[i];
  }
  return m;
}

// The role masks of a snapshot of any size, mask_words 64-bit words per
// mask (1, 4, 16 or 64).
struct WideRoleMasks {
  // Every permission's masks in PermissionMasks order: allow, own,
  // implied[0], implied[1], implied_own[0], implied_own[1], deny,
  // cap_blocks.
  static constexpr size_t kPerPermission = 8;
  enum Field {
    kAllow = 0,
    kOwn,
    kImplied0,
    kImplied1,
    kImpliedOwn0,
    kImpliedOwn1,
    kDeny,
    kCapBlocks,
  };
  size_t mask_words = 1;
  std::vector<uint64_t> permission;  // [permission][kPerPermission][words]
  std::vector<uint8_t> member_has;   // [permission]
  // deny_roles, bypass_roles, implying_roles[0], implying_roles[1].
  std::vector<uint64_t> snapshot;  // [4][words]
  std::vector<uint64_t> exempt;    // [role][words]: a deny role's exempt
                                   // roles

  const uint64_t* Permission(uint32_t k, Field f) const {
    return permission.data() + (k * kPerPermission + f) * mask_words;
  }
  size_t MemoryUsage() const {
    return (permission.capacity() + snapshot.capacity() + exempt.capacity()) *
               sizeof(uint64_t) +
           member_has.capacity();
  }
};

// The smallest supported width for `roles` roles, or 0 if there are more
// than 64 * 64.
inline size_t MaskWordsFor(size_t roles) {
  const size_t words = (roles + 63) / 64;
  if (words <= 1) return 1;
  if (words <= 4) return 4;
  if (words <= 16) return 16;
  if (words <= 64) return 64;
  return 0;
}

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_SNAPSHOT_ROLE_MASKS_H_
