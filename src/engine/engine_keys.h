// EngineKeys: the API keys of a compiled snapshot, for Engine::Authenticate
// (arbiter/engine.h, docs/identity.md "Engine::Authenticate").
//
// It is a KeyIndex (arbiter/identity.h) over the identity part of the
// state: every key record, every organization, the identity settings, and
// only the principals that hold a key, read from the compiled snapshot's own
// principal records (organization, kind, state, email). Building it costs
// O(keys + organizations + settings), not O(principals), so a state with few
// keys adds almost nothing to a compile. Each indexed principal maps to its
// snapshot index, so an authenticated principal's handle goes straight to
// Check.
//
// The snapshot owns it as a SnapshotExtension: snapshots derived from this
// one by grant changes (SnapshotBuilder) share it, which is right because a
// grant change touches no key, principal or setting.
//
// Thread safety: immutable once built; Authenticate is safe from any number
// of threads, takes no lock and allocates nothing.

#ifndef ARBITER_SRC_ENGINE_ENGINE_KEYS_H_
#define ARBITER_SRC_ENGINE_ENGINE_KEYS_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "arbiter/engine.h"
#include "arbiter/identity.h"
#include "arbiter/v1/policy_set.pb.h"
#include "arbiter/v1/state_delta.pb.h"
#include "src/snapshot/snapshot.h"

namespace arbiter {
namespace internal {

class EngineKeys final : public SnapshotExtension {
 public:
  // Indexes the keys of `state`, whose compiled snapshot is `snapshot`.
  // InvalidArgument naming the field path of the first malformed key
  // record or identity setting (KeyIndex::Create's checks).
  static absl::StatusOr<std::shared_ptr<const EngineKeys>> Build(
      const v1::PolicySet& state, const Snapshot& snapshot,
      const IdentityOptions& options);

  // ---- Publishing key changes without a compile ----
  //
  // A change of keys alone (created, revoked, rotated; invitations, which
  // the engine does not read, may change too) leaves every table of the
  // snapshot as it is: DeriveEngine makes an Engine that shares the base
  // engine's snapshot (the same lineage: its handles stay valid) with a new
  // EngineKeys. That one shares the base's full index and adds the changed
  // records in tiers, newest first, each a small KeyIndex consulted before
  // the older ones: tier 0 holds at most 16 keys, tier 1 256, tier 2 1,024
  // plus a sixteenth of the full index. A publish rebuilds tier 0 (O(16)),
  // one in 16 also tier 1 (O(256)), one in 256 tier 2, and once tier 2 is
  // full the full index is rebuilt from `state` (O(keys)). Authenticate
  // finds the tier holding the credential's key id with at most three set
  // lookups, then asks that tier's KeyIndex (or the full one).

  // Whether `delta` changes only API keys (put, none deleted) and
  // invitations.
  static bool KeysOnly(const v1::StateDelta& delta);
  // The engine of `state` (the base engine's state with `delta` applied),
  // at `revision`. InvalidArgument when a changed key record is malformed
  // (the caller then compiles, which names it); FailedPrecondition when
  // the base has no key index or the delta is not KeysOnly.
  static absl::StatusOr<std::shared_ptr<const Engine>> DeriveEngine(
      const Engine& base, const v1::PolicySet& state,
      const v1::StateDelta& delta, uint64_t revision);

  // KeyIndex::Authenticate, with principal_index replaced by the
  // principal's snapshot index (kNoPrincipal unless authenticated).
  AuthResult Authenticate(absl::string_view credential, absl::Time now,
                          const AuthContext& context) const noexcept;

  // Keys in the full index, and in the tiers over it.
  size_t num_keys() const;
  size_t num_tier_keys() const;
  // Whether tiers are laid over the full index (a derived index).
  bool derived() const { return num_tier_keys() > 0; }
  size_t MemoryUsage() const override;

  // The extension of `snapshot`, or nullptr when it has none.
  static const EngineKeys* Of(const Snapshot& snapshot);

 private:
  // One KeyIndex over some key records, with the snapshot index of each of
  // its principals; a tier also keeps its records (to merge) and its key
  // ids (to probe).
  struct Layer {
    std::unique_ptr<const KeyIndex> index;
    std::vector<uint32_t> snapshot_index;
    google::protobuf::RepeatedPtrField<v1::ApiKey> records;
    absl::flat_hash_set<std::string> ids;
  };
  static constexpr int kTiers = 3;

  EngineKeys() = default;
  // Indexes `keys` with the organizations and settings of `frame`; a tier
  // keeps its records and ids.
  static absl::StatusOr<std::shared_ptr<const Layer>> MakeLayer(
      const v1::PolicySet& frame,
      const google::protobuf::RepeatedPtrField<v1::ApiKey>& keys,
      const Snapshot& snapshot, const IdentityOptions& options, bool tier);

  std::shared_ptr<const Layer> full_;
  // tiers_[0] is the newest; nullptr when empty.
  std::shared_ptr<const Layer> tiers_[kTiers];
  // The organizations (ids) and identity settings indexed.
  std::shared_ptr<const v1::PolicySet> frame_;
};

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_ENGINE_ENGINE_KEYS_H_
