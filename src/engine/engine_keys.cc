#include "src/engine/engine_keys.h"

#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "src/engine/engine_friend_access.h"

namespace arbiter {
namespace internal {
namespace {

using Records = google::protobuf::RepeatedPtrField<v1::ApiKey>;

// The organizations (ids only: all KeyIndex reads) and identity settings.
std::shared_ptr<const v1::PolicySet> FrameOf(const v1::PolicySet& state) {
  auto frame = std::make_shared<v1::PolicySet>();
  frame->set_revision(state.revision());
  for (const v1::Organization& o : state.organizations()) {
    frame->add_organizations()->set_id(o.id());
  }
  *frame->mutable_identity_settings() = state.identity_settings();
  return frame;
}

// `older` with `newer`'s records in place (by id) or appended.
Records Merge(const Records* older, const Records& newer) {
  Records out;
  if (older != nullptr) out = *older;
  absl::flat_hash_map<absl::string_view, int> position;
  position.reserve(out.size() + newer.size());
  for (int i = 0; i < out.size(); ++i) position.emplace(out.Get(i).id(), i);
  for (const v1::ApiKey& k : newer) {
    auto it = position.find(k.id());
    if (it != position.end()) {
      *out.Mutable(it->second) = k;
    } else {
      *out.Add() = k;
      position.emplace(out.Get(out.size() - 1).id(), out.size() - 1);
    }
  }
  return out;
}

// The key id a credential names, if it has the shape of one
// ("ask_<id>_<64 characters>"); empty otherwise. Only locates the id: the
// index that answers checks everything.
absl::string_view CandidateId(absl::string_view credential) {
  constexpr size_t kTail = 1 + 64;
  if (credential.size() < 4 + 1 + kTail || credential.substr(0, 4) != "ask_") {
    return {};
  }
  return credential.substr(4, credential.size() - 4 - kTail);
}

}  // namespace

absl::StatusOr<std::shared_ptr<const EngineKeys::Layer>> EngineKeys::MakeLayer(
    const v1::PolicySet& frame, const Records& keys, const Snapshot& snapshot,
    const IdentityOptions& options, bool tier) {
  // The identity part of the state, with only the principals that hold a
  // key, as the snapshot compiled them.
  v1::PolicySet part = frame;
  *part.mutable_api_keys() = keys;
  auto layer = std::make_shared<Layer>();
  absl::flat_hash_map<absl::string_view, bool> seen;
  seen.reserve(keys.size());
  for (const v1::ApiKey& k : keys) {
    if (tier) layer->ids.insert(k.id());
    if (!seen.emplace(k.principal_id(), true).second) continue;
    auto it = snapshot.id_index->find(k.principal_id());
    // A key of no principal stays out: KeyIndex refuses it at use
    // (UNKNOWN_PRINCIPAL).
    if (it == snapshot.id_index->end() ||
        it->second.kind != ObjectKind::kPrincipal) {
      continue;
    }
    const uint32_t p = it->second.index;
    const PrincipalRec& rec = snapshot.Principal(p);
    v1::Principal* principal = part.add_principals();
    principal->set_id(std::string(snapshot.principal_ids.Get(p)));
    if (rec.org < snapshot.nodes.size()) {
      principal->set_org_id(std::string(snapshot.node_ids.Get(rec.org)));
    }
    principal->set_kind(static_cast<v1::PrincipalKind>(rec.kind));
    principal->set_state(static_cast<v1::PrincipalState>(rec.state));
    principal->set_email(std::string(snapshot.principal_emails.Get(p)));
    layer->snapshot_index.push_back(p);
  }
  absl::StatusOr<std::unique_ptr<const KeyIndex>> index =
      KeyIndex::Create(part, options);
  if (!index.ok()) return index.status();
  layer->index = *std::move(index);
  if (tier) layer->records = keys;
  return std::shared_ptr<const Layer>(std::move(layer));
}

absl::StatusOr<std::shared_ptr<const EngineKeys>> EngineKeys::Build(
    const v1::PolicySet& state, const Snapshot& snapshot,
    const IdentityOptions& options) {
  std::shared_ptr<const v1::PolicySet> frame = FrameOf(state);
  absl::StatusOr<std::shared_ptr<const Layer>> full =
      MakeLayer(*frame, state.api_keys(), snapshot, options, /*tier=*/false);
  if (!full.ok()) return full.status();
  std::shared_ptr<EngineKeys> keys(new EngineKeys());
  keys->full_ = *std::move(full);
  keys->frame_ = std::move(frame);
  return std::shared_ptr<const EngineKeys>(std::move(keys));
}

bool EngineKeys::KeysOnly(const v1::StateDelta& delta) {
  v1::StateDelta copy = delta;
  copy.clear_base_revision();
  copy.clear_revision();
  copy.clear_put_api_keys();
  copy.clear_put_invitations();
  copy.clear_delete_invitations();
  return copy.ByteSizeLong() == 0;
}

absl::StatusOr<std::shared_ptr<const Engine>> EngineKeys::DeriveEngine(
    const Engine& base, const v1::PolicySet& state, const v1::StateDelta& delta,
    uint64_t revision) {
  if (!KeysOnly(delta)) {
    return absl::FailedPreconditionError("the delta changes more than keys");
  }
  const Snapshot& snapshot = EngineFriendAccess::State(base);
  // The base's keys, held by its snapshot.
  const EngineKeys* old = nullptr;
  size_t slot = 0;
  for (; slot < snapshot.extensions.size(); ++slot) {
    old = dynamic_cast<const EngineKeys*>(snapshot.extensions[slot].get());
    if (old != nullptr) break;
  }
  if (old == nullptr) {
    return absl::FailedPreconditionError("the base engine has no key index");
  }
  const IdentityOptions& options = snapshot.options.identity;
  std::shared_ptr<EngineKeys> next(new EngineKeys());
  next->frame_ = old->frame_;
  next->full_ = old->full_;
  for (int t = 0; t < kTiers; ++t) next->tiers_[t] = old->tiers_[t];
  // The changed records go into tier 0; a tier that outgrows its bound
  // moves, whole, into the next one; past the last, the full index is
  // rebuilt.
  const size_t bounds[kTiers] = {16, 256, 1024 + old->num_keys() / 16};
  Records moving = delta.put_api_keys();
  int t = 0;
  for (; t < kTiers; ++t) {
    const Layer* tier = old->tiers_[t].get();
    Records merged = Merge(tier != nullptr ? &tier->records : nullptr, moving);
    if (static_cast<size_t>(merged.size()) <= bounds[t]) {
      absl::StatusOr<std::shared_ptr<const Layer>> layer =
          MakeLayer(*next->frame_, merged, snapshot, options, /*tier=*/true);
      if (!layer.ok()) return layer.status();
      next->tiers_[t] = *std::move(layer);
      break;
    }
    next->tiers_[t] = nullptr;
    moving = std::move(merged);
  }
  if (t == kTiers) {
    absl::StatusOr<std::shared_ptr<const Layer>> full = MakeLayer(
        *next->frame_, state.api_keys(), snapshot, options, /*tier=*/false);
    if (!full.ok()) return full.status();
    next->full_ = *std::move(full);
  }
  auto derived = std::make_shared<Snapshot>(snapshot);
  derived->extensions[slot] = std::move(next);
  return std::shared_ptr<const Engine>(
      EngineFriendAccess::Make(std::move(derived), revision));
}

AuthResult EngineKeys::Authenticate(absl::string_view credential,
                                    absl::Time now,
                                    const AuthContext& context) const noexcept {
  // The newest tier holding the key id answers, else the full index.
  const Layer* layer = full_.get();
  const absl::string_view id = CandidateId(credential);
  if (!id.empty()) {
    for (const auto& tier : tiers_) {
      if (tier != nullptr && tier->ids.contains(id)) {
        layer = tier.get();
        break;
      }
    }
  }
  AuthResult r = layer->index->Authenticate(credential, now, context);
  if (r.authenticated()) {
    if (r.principal_index < layer->snapshot_index.size()) {
      r.principal_index = layer->snapshot_index[r.principal_index];
    } else {
      // Unreachable: every indexed principal has a snapshot index.
      r.principal_index = AuthResult::kNoPrincipal;
      r.reason = AuthReason::kInternalError;
    }
  }
  return r;
}

size_t EngineKeys::num_keys() const { return full_->index->num_keys(); }

size_t EngineKeys::num_tier_keys() const {
  size_t n = 0;
  for (const auto& tier : tiers_) {
    if (tier != nullptr) n += tier->index->num_keys();
  }
  return n;
}

size_t EngineKeys::MemoryUsage() const {
  auto layer_bytes = [](const Layer& l) {
    return sizeof(l) + l.index->MemoryUsage() +
           l.snapshot_index.capacity() * sizeof(uint32_t) +
           static_cast<size_t>(l.records.SpaceUsedExcludingSelfLong()) +
           l.ids.capacity() * (sizeof(std::string) + 1);
  };
  size_t bytes = sizeof(*this) + frame_->SpaceUsedLong() + layer_bytes(*full_);
  for (const auto& tier : tiers_) {
    if (tier != nullptr) bytes += layer_bytes(*tier);
  }
  return bytes;
}

const EngineKeys* EngineKeys::Of(const Snapshot& snapshot) {
  for (const auto& extension : snapshot.extensions) {
    if (const auto* keys = dynamic_cast<const EngineKeys*>(extension.get())) {
      return keys;
    }
  }
  return nullptr;
}

}  // namespace internal
}  // namespace arbiter
