// SnapshotBuilder: applies a StateDelta to a compiled snapshot (leveldb's
// VersionSet::Builder role). The result decides every request exactly as a
// full compile of the base's state with the delta applied would, shares
// every table with the base that the delta did not change, and belongs to
// the base's lineage, so the base's handles stay valid in it.
//
// What it costs: the changed subjects' grant spans are relocated to the end
// of the grant columns; the principals they reach (a group's members,
// transitively) are laid out again (src/compiler/principal_layout.h) into
// the overlay (src/snapshot/overlay.h). Nothing else is copied: the cost
// grows with the delta and the members of changed groups, not with the
// state. Old slots stay behind for older snapshots; when the garbage or the
// overlay grows past the live data, NeedsCompaction says so and the caller
// lays the state out afresh (a full compile, a new lineage).
//
// Thread safety: Apply may run while any number of threads read `base` and
// its lineage; two Apply calls on one base may even race (the columns
// decide which one appends in place, column.h).

#ifndef ARBITER_SRC_COMPILER_SNAPSHOT_BUILDER_H_
#define ARBITER_SRC_COMPILER_SNAPSHOT_BUILDER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "src/compiler/state_delta.h"
#include "src/snapshot/snapshot.h"

namespace arbiter {
namespace internal {

class SnapshotBuilder {
 public:
  // The snapshot of the base's state with `delta` applied. The delta must
  // be made against that state: every removed grant is found (by subject,
  // scope and id; NotFound otherwise), every added one is checked like a
  // compiled grant (InvalidArgument naming the field, e.g.
  // `add_grants[0].role: role "owner" cannot be granted at the project
  // scope ...`). Grant ids are unique within a subject's grants here; the
  // admin layer keeps them unique across the state. All or nothing.
  // Unimplemented for a delta that changes more than grants (principals,
  // groups, resources, roles...): the caller compiles the resulting state
  // instead (a new lineage).
  static absl::StatusOr<std::shared_ptr<const Snapshot>> Apply(
      const Snapshot& base, const StateDelta& delta);

  // Whether a snapshot derived by deltas should be laid out afresh: its
  // dead grant slots outweigh its live grants.
  static bool NeedsCompaction(const Snapshot& s);

  // Whether its overlays hold enough records that Check pays for them
  // (more than a sixteenth of the principals): Repack them then.
  static bool NeedsRepack(const Snapshot& s);
  // The same snapshot with its overlays folded into fresh record tables:
  // the same lineage (handles stay valid), the same decisions, and Check on
  // it as fast as on a full compile's. Linear in the principals and groups
  // (copies of their records), not in the grants.
  static std::shared_ptr<const Snapshot> Repack(const Snapshot& s);
};

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_COMPILER_SNAPSHOT_BUILDER_H_
