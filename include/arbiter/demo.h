// File: arbiter/demo.h
//
// The built-in demo organization "acme": two clouds, public and private
// projects, a dozen users covering every role, nested groups, a service
// account, deny roles, an auto-add grant, an expiring grant and IAM mapping
// rules. The quickstart, the CLI's --demo flag and many tests use it.

#ifndef ARBITER_DEMO_H_
#define ARBITER_DEMO_H_

#include "absl/strings/string_view.h"
#include "arbiter/v1/policy_set.pb.h"

namespace arbiter {

// The demo state, parsed once. Never destroyed; thread-safe.
const v1::PolicySet& DemoPolicySet();

// Its protobuf text-format source, with comments.
absl::string_view DemoPolicySetText();

}  // namespace arbiter

#endif  // ARBITER_DEMO_H_
