// File: arbiter/profile.h
//
// The built-in Anyscale profile: every permission, role and implicit rule of
// the Anyscale administration model, as data (a v1::Profile). Engine::Create
// uses it unless EngineOptions::profile names another; Engine::profile()
// shows the effective profile after options and custom roles. Print it with
// `arbiter profile`.

#ifndef ARBITER_PROFILE_H_
#define ARBITER_PROFILE_H_

#include "absl/strings/string_view.h"
#include "arbiter/v1/role.pb.h"

namespace arbiter {

// The built-in profile, parsed once. Never destroyed; thread-safe.
const v1::Profile& BuiltinProfile();

// Its protobuf text-format source, with comments.
absl::string_view BuiltinProfileText();

}  // namespace arbiter

#endif  // ARBITER_PROFILE_H_
