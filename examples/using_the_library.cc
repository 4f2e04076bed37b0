// The program of README.md, "Using the library". The README shows this file
// from its first include on, verbatim; examples/readme_test.sh checks that
// and runs the program. Change both together.
//
//   ./build/examples/using_the_library

#include <iostream>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/types/optional.h"
#include "arbiter/demo.h"  // or arbiter/policy_io.h to load your own state
#include "arbiter/engine.h"

int main() {
  absl::StatusOr<std::unique_ptr<const arbiter::Engine>> engine =
      arbiter::Engine::Create(arbiter::DemoPolicySet());
  if (!engine.ok()) {
    // InvalidArgument naming the object and field, e.g.
    // grants[12].scope: unknown project "prj_9"
    std::cerr << engine.status() << "\n";
    return 1;
  }

  arbiter::AccessRequest request;
  request.principal = "erin@acme.com";  // an id or an email (case-insensitive)
  request.permission = "project.workload.create";
  request.resource = "prod/ml-prod";  // an id or a cloud/project/workload path
  arbiter::Decision d = (*engine)->Check(request);
  // d.allowed() == true, d.reason == arbiter::Reason::kGrant,
  // d.grant_id == "g_ml_team_ml_prod" (through group ml-team), d.revision == 1
  // Prints ALLOW GRANT grant=g_ml_team_ml_prod source=GROUP revision=1
  std::cout << d << "\n";

  // The fastest path: resolve handles once, then check by handle.
  absl::optional<arbiter::PrincipalRef> who =
      (*engine)->FindPrincipal("erin@acme.com");
  absl::optional<arbiter::PermissionRef> what =
      (*engine)->FindPermission("project.workload.view");
  absl::optional<arbiter::ResourceRef> where =
      (*engine)->FindResource("prod/ml-prod/nightly-etl");
  if (!who || !what || !where) return 1;  // nullopt: no such name
  arbiter::Decision fast = (*engine)->Check(*who, *what, *where);
  std::cout << fast << "\n";  // the same grant decides

  // For people: everything that was considered.
  std::cout << (*engine)->Explain(request).ToString();
  return d.allowed() && fast.allowed() ? 0 : 1;
}
