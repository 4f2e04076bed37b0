// A small state for the IAM-mapping tests: organization "acme" with two
// clouds that both have projects named "default", "web" and "ml-prod" (so
// per-cloud isolation can be checked), principals, a service account, compute
// configs with and without an IAM identity, a deleted principal (and a
// deleted one sharing a live one's email), an invited one; optionally a
// second organization, with a member who shares an email with one of acme.
// Header-only: tests/iam/ holds no library sources.

#ifndef ARBITER_TESTS_IAM_IAM_TEST_STATE_H_
#define ARBITER_TESTS_IAM_IAM_TEST_STATE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "arbiter/v1/policy_set.pb.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace arbiter {
namespace testing {

inline constexpr absl::string_view kIamTestState = R"pb(
  revision: 7
  organizations { id: "org_acme" name: "acme" }
  clouds {
    id: "cld_a"
    org_id: "org_acme"
    name: "alpha"
    iam_mapping { default_identity: "cld_a-cluster_node_role" }
  }
  clouds {
    id: "cld_b"
    org_id: "org_acme"
    name: "beta"
    iam_mapping { default_identity: "cld_b-cluster_node_role" }
  }
  projects {
    id: "prj_a_default"
    cloud_id: "cld_a"
    name: "default"
    is_default: true
  }
  projects {
    id: "prj_a_web"
    cloud_id: "cld_a"
    name: "web"
    visibility: VISIBILITY_PUBLIC
  }
  projects {
    id: "prj_a_ml"
    cloud_id: "cld_a"
    name: "ml-prod"
    visibility: VISIBILITY_PRIVATE
  }
  projects {
    id: "prj_a_upper"
    cloud_id: "cld_a"
    name: "ML-Prod"
    visibility: VISIBILITY_PRIVATE
  }
  projects {
    id: "prj_b_default"
    cloud_id: "cld_b"
    name: "sandbox"
    is_default: true
  }
  projects {
    id: "prj_b_web"
    cloud_id: "cld_b"
    name: "web"
    visibility: VISIBILITY_PUBLIC
  }
  projects {
    id: "prj_b_ml"
    cloud_id: "cld_b"
    name: "ml-prod"
    visibility: VISIBILITY_PRIVATE
  }
  compute_configs { id: "cc_plain" cloud_id: "cld_a" name: "plain" }
  compute_configs {
    id: "cc_gpu"
    cloud_id: "cld_a"
    name: "gpu"
    iam_identity: "gpu-role"
  }
  compute_configs {
    id: "cc_b_gpu"
    cloud_id: "cld_b"
    name: "gpu"
    iam_identity: "b-gpu-role"
  }
  principals {
    id: "usr_alice"
    org_id: "org_acme"
    kind: PRINCIPAL_KIND_USER
    email: "Alice@Acme.com"
  }
  principals {
    id: "usr_bob"
    org_id: "org_acme"
    kind: PRINCIPAL_KIND_USER
    email: "bob@acme.com"
  }
  principals {
    id: "sa_ci"
    org_id: "org_acme"
    kind: PRINCIPAL_KIND_SERVICE_ACCOUNT
    email: "ci@org-acme.serviceaccount.com"
  }
  principals {
    id: "usr_carol"
    org_id: "org_acme"
    kind: PRINCIPAL_KIND_USER
    email: "carol@acme.com"
    state: PRINCIPAL_STATE_ACTIVE
  }
  # Bob's earlier account, deleted before he was re-invited.
  principals {
    id: "usr_bob_old"
    org_id: "org_acme"
    kind: PRINCIPAL_KIND_USER
    email: "Bob@acme.com"
    state: PRINCIPAL_STATE_DELETED
  }
  principals {
    id: "usr_judy"
    org_id: "org_acme"
    kind: PRINCIPAL_KIND_USER
    email: "judy@acme.com"
    state: PRINCIPAL_STATE_DELETED
  }
  principals {
    id: "usr_ivan"
    org_id: "org_acme"
    kind: PRINCIPAL_KIND_USER
    email: "ivan@acme.com"
    state: PRINCIPAL_STATE_INVITED
  }
)pb";

// Principals of kIamTestState: id, email (lower-cased), state.
struct IamTestPrincipal {
  const char* id;
  const char* email;
  const char* org;
  const char* state;  // "active", "deleted" or "invited"
};
inline constexpr IamTestPrincipal kIamTestPrincipals[] = {
    {"usr_alice", "alice@acme.com", "org_acme", "active"},
    {"usr_bob", "bob@acme.com", "org_acme", "active"},
    {"sa_ci", "ci@org-acme.serviceaccount.com", "org_acme", "active"},
    {"usr_carol", "carol@acme.com", "org_acme", "active"},
    {"usr_bob_old", "bob@acme.com", "org_acme", "deleted"},
    {"usr_judy", "judy@acme.com", "org_acme", "deleted"},
    {"usr_ivan", "ivan@acme.com", "org_acme", "invited"},
};

// A second organization with a cloud also named "alpha" (no mapping, no
// default identity) and its own user.
inline constexpr absl::string_view kIamOtherOrg = R"pb(
  organizations { id: "org_other" name: "other" }
  clouds { id: "cld_x" org_id: "org_other" name: "alpha" }
  projects {
    id: "prj_x_default"
    cloud_id: "cld_x"
    name: "default"
    is_default: true
  }
  principals {
    id: "usr_zed"
    org_id: "org_other"
    kind: PRINCIPAL_KIND_USER
    email: "zed@other.com"
  }
  # Alice is a member of both organizations: two unrelated principals.
  principals {
    id: "usr_alice_other"
    org_id: "org_other"
    kind: PRINCIPAL_KIND_USER
    email: "alice@acme.com"
  }
)pb";

// Principals of kIamOtherOrg, as kIamTestPrincipals.
inline constexpr IamTestPrincipal kIamOtherOrgPrincipals[] = {
    {"usr_zed", "zed@other.com", "org_other", "active"},
    {"usr_alice_other", "alice@acme.com", "org_other", "active"},
};

inline v1::PolicySet IamTestState() {
  v1::PolicySet state;
  if (!google::protobuf::TextFormat::ParseFromString(std::string(kIamTestState),
                                                     &state)) {
    ADD_FAILURE() << "kIamTestState does not parse";
  }
  return state;
}

inline v1::PolicySet IamTestStateWithOtherOrg() {
  v1::PolicySet state = IamTestState();
  if (!google::protobuf::TextFormat::MergeFromString(std::string(kIamOtherOrg),
                                                     &state)) {
    ADD_FAILURE() << "kIamOtherOrg does not parse";
  }
  return state;
}

// Replaces the rules of cloud `cloud_id` by `rules` (selector, identity).
inline void SetIamRules(
    v1::PolicySet* state, absl::string_view cloud_id,
    const std::vector<std::pair<std::string, std::string>>& rules,
    v1::IamMapping::DefaultBehavior behavior = v1::IamMapping::CLOUD_DEFAULT) {
  for (v1::Cloud& cloud : *state->mutable_clouds()) {
    if (cloud.id() != cloud_id) continue;
    v1::IamMapping* m = cloud.mutable_iam_mapping();
    m->clear_rules();
    for (const auto& [selector, identity] : rules) {
      v1::IamMappingRule* r = m->add_rules();
      r->set_selector(selector);
      r->set_identity(identity);
    }
    m->set_default_behavior(behavior);
  }
}

}  // namespace testing
}  // namespace arbiter

#endif  // ARBITER_TESTS_IAM_IAM_TEST_STATE_H_
