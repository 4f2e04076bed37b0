// Shared by the identity tests: a small two-organization state, a fixed
// instant, and deterministic id generators.

#ifndef ARBITER_TESTS_IDENTITY_IDENTITY_FIXTURES_H_
#define ARBITER_TESTS_IDENTITY_IDENTITY_FIXTURES_H_

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "arbiter/identity.h"
#include "arbiter/identity_rules.h"
#include "arbiter/v1/policy_set.pb.h"
#include "google/protobuf/text_format.h"

namespace arbiter {
namespace testing {

// 2026-01-01T00:00:00Z.
inline absl::Time IdentityNow() { return absl::FromUnixSeconds(1767225600); }

// Two organizations:
//   org_a "acme": cloud cld_a1 (auto-add on), cld_a2 (auto-add off);
//     projects prj_a1 (cld_a1), prj_a2 (cld_a2), and each cloud's default;
//     usr_alice (org owner), usr_bob (collaborator on cld_a1, write on
//     prj_a1), usr_carol (collaborator on cld_a2 only), usr_ivan (INVITED),
//     usr_judy (DELETED), sa_ci (service account "ci"); group grp_team
//     {usr_bob}.
//   org_b "globex": usr_zed.
inline v1::PolicySet IdentityTestState() {
  v1::PolicySet s;
  const bool ok = google::protobuf::TextFormat::ParseFromString(
      R"pb(
        revision: 7
        organizations { id: "org_a" name: "acme" }
        organizations { id: "org_b" name: "globex" }
        clouds { id: "cld_a1" org_id: "org_a" name: "one" auto_add_users: true }
        clouds { id: "cld_a2" org_id: "org_a" name: "two" }
        clouds { id: "cld_b1" org_id: "org_b" name: "main" }
        projects {
          id: "prj_a1_default"
          cloud_id: "cld_a1"
          name: "default"
          is_default: true
          visibility: VISIBILITY_PUBLIC
        }
        projects {
          id: "prj_a2_default"
          cloud_id: "cld_a2"
          name: "default"
          is_default: true
          visibility: VISIBILITY_PUBLIC
        }
        projects {
          id: "prj_b1_default"
          cloud_id: "cld_b1"
          name: "default"
          is_default: true
          visibility: VISIBILITY_PUBLIC
        }
        projects { id: "prj_a1" cloud_id: "cld_a1" name: "p1" }
        projects { id: "prj_a2" cloud_id: "cld_a2" name: "p2" }
        principals {
          id: "usr_alice"
          org_id: "org_a"
          kind: PRINCIPAL_KIND_USER
          email: "alice@acme.com"
        }
        principals {
          id: "usr_bob"
          org_id: "org_a"
          kind: PRINCIPAL_KIND_USER
          email: "bob@acme.com"
        }
        principals {
          id: "usr_carol"
          org_id: "org_a"
          kind: PRINCIPAL_KIND_USER
          email: "carol@contractor.io"
        }
        principals {
          id: "usr_ivan"
          org_id: "org_a"
          kind: PRINCIPAL_KIND_USER
          email: "ivan@acme.com"
          state: PRINCIPAL_STATE_INVITED
        }
        principals {
          id: "usr_judy"
          org_id: "org_a"
          kind: PRINCIPAL_KIND_USER
          email: "judy@acme.com"
          state: PRINCIPAL_STATE_DELETED
        }
        principals {
          id: "sa_ci"
          org_id: "org_a"
          kind: PRINCIPAL_KIND_SERVICE_ACCOUNT
          email: "ci@org-a.serviceaccount.com"
          name: "ci"
        }
        principals {
          id: "usr_zed"
          org_id: "org_b"
          kind: PRINCIPAL_KIND_USER
          email: "zed@globex.com"
        }
        groups {
          id: "grp_team"
          org_id: "org_a"
          name: "team"
          member_ids: [ "usr_bob" ]
        }
        grants {
          id: "g_alice_owner"
          principal_id: "usr_alice"
          role: "org_owner"
          org_id: "org_a"
        }
        grants {
          id: "g_bob_a1"
          principal_id: "usr_bob"
          role: "cloud_collaborator"
          cloud_id: "cld_a1"
        }
        grants {
          id: "g_bob_p1"
          principal_id: "usr_bob"
          role: "project_write"
          project_id: "prj_a1"
        }
        grants {
          id: "g_carol_a2"
          principal_id: "usr_carol"
          role: "cloud_collaborator"
          cloud_id: "cld_a2"
        }
        grants {
          id: "g_ci_a1"
          principal_id: "sa_ci"
          role: "cloud_collaborator"
          cloud_id: "cld_a1"
        }
      )pb",
      &s);
  if (!ok) std::abort();
  return s;
}

// "<prefix>_t<n>" with a shared counter: deterministic ids.
inline std::function<std::string(absl::string_view)> CountingIds(
    const std::string& tag = "t") {
  auto counter = std::make_shared<int>(0);
  return [counter, tag](absl::string_view prefix) {
    return absl::StrCat(prefix, "_", tag, ++*counter);
  };
}

inline IdentityOptions TestOptions() {
  IdentityOptions o;
  o.new_id = CountingIds();
  return o;
}

}  // namespace testing
}  // namespace arbiter

#endif  // ARBITER_TESTS_IDENTITY_IDENTITY_FIXTURES_H_
