// StateDelta: a change to an access state as a value (leveldb's VersionEdit
// role): what it adds and removes, encodable, applicable to the state's
// proto (ApplyTo) and to its compiled snapshot (SnapshotBuilder,
// snapshot_builder.h). See proto/arbiter/v1/state_delta.proto.

#ifndef ARBITER_SRC_COMPILER_STATE_DELTA_H_
#define ARBITER_SRC_COMPILER_STATE_DELTA_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "arbiter/v1/policy_set.pb.h"
#include "arbiter/v1/state_delta.pb.h"

namespace arbiter {
namespace internal {

class StateDelta {
 public:
  StateDelta() = default;
  explicit StateDelta(v1::StateDelta proto) : proto_(std::move(proto)) {}

  uint64_t base_revision() const { return proto_.base_revision(); }
  uint64_t revision() const { return proto_.revision(); }
  void set_revisions(uint64_t base, uint64_t revision) {
    proto_.set_base_revision(base);
    proto_.set_revision(revision);
  }

  void AddGrant(const v1::Grant& grant) { *proto_.add_add_grants() = grant; }
  // `grant` as the base state holds it.
  void RemoveGrant(const v1::Grant& grant) {
    *proto_.add_remove_grants() = grant;
  }

  // Whether the delta changes nothing (its revisions aside).
  bool empty() const;
  // Whether it changes only grants (what SnapshotBuilder applies without
  // any other table changing).
  bool GrantsOnly() const;
  const v1::StateDelta& proto() const { return proto_; }
  v1::StateDelta* mutable_proto() { return &proto_; }

  // Deterministic binary encoding: equal deltas encode to equal bytes.
  std::string Encode() const;
  // InvalidArgument when `bytes` is not an encoded StateDelta.
  static absl::StatusOr<StateDelta> Decode(absl::string_view bytes);

  // Applies the delta to `state`, the state it was made against, and sets
  // its revision: removes each removed grant (matched by id, and required
  // to equal the state's) and each deleted object (by key), puts each put
  // object (replacing the one with its key, else appending), then appends
  // the added grants. All or nothing: an error (naming the delta's field,
  // e.g. `remove_grants[1]: no grant "g7"`) leaves `state` unchanged. Does
  // not validate what it adds (compiling the result, or SnapshotBuilder,
  // does). Linear in the state: the admin layer's IndexedState applies
  // deltas in the time of the change.
  absl::Status ApplyTo(v1::PolicySet* state) const;

 private:
  v1::StateDelta proto_;
};

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_COMPILER_STATE_DELTA_H_
