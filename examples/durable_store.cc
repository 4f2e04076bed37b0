// The program of README.md's "Changing the policy" section: the demo
// organization in a durable store (a directory), changed by admin
// transactions and checked at once. Run it twice: the second run recovers
// what the first one wrote. Built when the store is (ARBITER_WITH_STORE).
//
//   ./build/examples/durable_store acme-store

#include "arbiter/durable_store.h"

#include <iostream>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "arbiter/demo.h"

int main(int argc, char** argv) {
  // Created with the demo organization on the first run; recovered (the
  // last checkpoint, then the log after it) on every later one.
  const std::string dir = argc > 1 ? argv[1] : "acme-store";
  absl::StatusOr<std::unique_ptr<arbiter::DurableStore>> store =
      arbiter::DurableStore::Open(dir);
  if (absl::IsNotFound(store.status())) {
    store = arbiter::DurableStore::Create(dir, arbiter::DemoPolicySet());
  }
  if (!store.ok()) {
    std::cerr << store.status() << "\n";  // names the file and what is wrong
    return 1;
  }
  arbiter::DurableStore& s = **store;

  // Alice, an org owner, gives Carol access to the cloud research (a
  // different role on each run). Authorized, validated against every rule,
  // applied all or nothing, audited, and durable before Apply returns.
  arbiter::v1::Transaction grant;
  grant.set_actor("alice@acme.com");
  grant.set_expected_revision(s.revision());  // the revision Alice read
  auto* member = grant.add_mutations()->mutable_set_cloud_member();
  member->set_cloud("research");
  member->set_principal("carol@acme.com");
  member->set_role(s.revision() % 2 ? "cloud_readonly" : "cloud_collaborator");
  absl::StatusOr<arbiter::AppliedTransaction> applied = s.Apply(grant);
  if (!applied.ok()) {
    std::cerr << arbiter::RefusalName(arbiter::RefusalOf(applied.status()))
              << ": " << applied.status() << "\n";
    return 1;
  }

  // The next Check answers from the new revision. Keep the engine while
  // using its decision (grant_id points into it).
  std::shared_ptr<const arbiter::Engine> engine = s.engine();
  arbiter::AccessRequest request;
  request.principal = "carol@acme.com";
  request.permission = "cloud.view";
  request.resource = "research";
  // Prints revision 2: ALLOW GRANT grant=... revision=2
  std::cout << "revision " << applied->revision << ": "
            << engine->Check(request) << "\n";

  // Demoting the last org owner is refused, and nothing changes: not the
  // state, not the revision, not the audit log.
  arbiter::v1::Transaction demote;
  demote.set_actor("alice@acme.com");
  auto* role = demote.add_mutations()->mutable_set_org_role();
  role->set_principal("alice@acme.com");
  role->set_role("org_collaborator");
  absl::StatusOr<arbiter::AppliedTransaction> refused = s.Apply(demote);
  // Prints refused: LAST_ORG_OWNER ... (still at revision 2)
  std::cout << "refused: "
            << arbiter::RefusalName(arbiter::RefusalOf(refused.status())) << " "
            << refused.status().message() << " (still at revision "
            << s.revision() << ")\n";
  return refused.ok() ? 1 : 0;
}
