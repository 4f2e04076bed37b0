// The program of README.md's "Changing the policy" section and of
// docs/admin.md: admin transactions applied to the demo organization
// through a PolicyStore, refused or applied all or nothing, and Check
// answering from each new revision at once. Exits 1 if any outcome differs
// from what the comments say (examples/CMakeLists.txt runs it as a test).
//
//   ./build/examples/changing_the_policy

#include <cstdint>
#include <iostream>
#include <memory>

#include "absl/status/statusor.h"
#include "arbiter/demo.h"
#include "arbiter/policy_store.h"

namespace {

// Whether Grace (read-only on cloud research) may view the private project
// ml-prod, printed after `label`; and the revision that decided.
struct Seen {
  bool allowed;
  uint64_t revision;
};
Seen GraceViewsMlProd(const arbiter::PolicyStore& store, const char* label) {
  // The current snapshot; never blocks on a writer. A Decision's grant_id
  // points into it, so keep it while using the decision.
  std::shared_ptr<const arbiter::Engine> engine = store.engine();
  arbiter::AccessRequest request;
  request.principal = "grace@acme.com";
  request.permission = "project.view";
  request.resource = "prod/ml-prod";
  arbiter::Decision d = engine->Check(request);
  std::cout << label << d << "\n";
  return {d.allowed(), d.revision};
}

arbiter::v1::Transaction GrantGrace(bool with_cloud_grant, uint64_t revision) {
  arbiter::v1::Transaction txn;
  txn.set_actor("alice@acme.com");  // an org owner
  txn.mutable_metadata()->set_source_ip("10.0.0.7");
  txn.set_expected_revision(revision);  // the revision Alice read
  if (with_cloud_grant) {
    auto* cloud = txn.add_mutations()->mutable_set_cloud_member();
    cloud->set_cloud("prod");
    cloud->set_principal("grace@acme.com");
    cloud->set_role("cloud_collaborator");
  }
  auto* project = txn.add_mutations()->mutable_set_project_member();
  project->set_project("prod/ml-prod");
  project->set_principal("grace@acme.com");
  project->set_role("project_readonly");
  return txn;
}

}  // namespace

int main() {
  absl::StatusOr<std::unique_ptr<arbiter::PolicyStore>> store =
      arbiter::PolicyStore::Create(arbiter::DemoPolicySet());
  if (!store.ok()) {
    std::cerr << store.status() << "\n";
    return 1;
  }
  arbiter::PolicyStore& policy = **store;
  bool as_expected = true;

  // Prints before:   DENY NO_CLOUD_GRANT ... revision=1
  as_expected &= !GraceViewsMlProd(policy, "before:   ").allowed;

  // A project grant without a cloud grant breaks access-model §4.3: refused,
  // and nothing changes (state, revision, audit log).
  absl::StatusOr<arbiter::AppliedTransaction> refused =
      policy.Apply(GrantGrace(/*with_cloud_grant=*/false, policy.revision()));
  // Prints refused: NO_CLOUD_GRANT mutations[0].set_project_member: ...
  std::cout << "refused:  "
            << arbiter::RefusalName(arbiter::RefusalOf(refused.status())) << " "
            << refused.status().message() << "\n";
  as_expected &=
      arbiter::RefusalOf(refused.status()) == arbiter::Refusal::kNoCloudGrant &&
      policy.revision() == 1;

  // The cloud grant first, in the same transaction: applied, all or nothing.
  absl::StatusOr<arbiter::AppliedTransaction> applied =
      policy.Apply(GrantGrace(/*with_cloud_grant=*/true, policy.revision()));
  if (!applied.ok()) {
    std::cerr << applied.status() << "\n";
    return 1;
  }
  // Prints applied:  revision 2, 2 audit records
  std::cout << "applied:  revision " << applied->revision << ", "
            << applied->audit.size() << " audit records\n";
  for (const arbiter::v1::AuditRecord& r : applied->audit) {
    // Prints   CLOUD GRANT cld_prod by alice@acme.com, then PROJECT GRANT
    std::cout << "  " << r.entity() << " " << r.action() << " "
              << r.resource_id() << " by " << r.user().email() << "\n";
  }

  // Check answers from the new snapshot as soon as Apply returns.
  // Prints after:    ALLOW GRANT grant=... revision=2
  const Seen after = GraceViewsMlProd(policy, "after:    ");
  as_expected &= after.allowed && after.revision == 2;

  // The same transaction again, made against revision 1: the store is at 2.
  // Prints stale:    STALE_REVISION expected_revision: ... revision 2
  absl::StatusOr<arbiter::AppliedTransaction> stale =
      policy.Apply(GrantGrace(/*with_cloud_grant=*/true, /*revision=*/1));
  std::cout << "stale:    "
            << arbiter::RefusalName(arbiter::RefusalOf(stale.status())) << " "
            << stale.status().message() << "\n";
  as_expected &= stale.status().code() == absl::StatusCode::kAborted;

  return as_expected ? 0 : 1;
}
