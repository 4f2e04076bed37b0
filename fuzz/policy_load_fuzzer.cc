// Fuzz target: loading and compiling a policy file.
//
// Input: the first byte picks the encoding (modulo 4: text, JSON, binary,
// auto-detect); the rest is the file. The target parses it with
// ParsePolicySet and, if that succeeds, checks that:
//  * serializing the state in each encoding and parsing it back gives the
//    same state (when both steps succeed);
//  * Engine::Validate and Engine::Create agree: Create fails exactly when
//    Validate reports problems, with Validate's first problem;
//  * a compiled engine answers consistently for the state's own names: Check
//    by names equals Check by handles and Explain's decision; every decision
//    carries the state's revision and an effect matching its reason; a
//    deciding grant exists in the snapshot under the reported id; deleted and
//    invited principals are never allowed; unknown names deny with the
//    matching reason; ExplainIam agrees with ResolveIam.
// Any violation aborts (a crash for libFuzzer), as does any sanitizer
// report.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "arbiter/clock.h"
#include "arbiter/decision.h"
#include "arbiter/engine.h"
#include "arbiter/engine_options.h"
#include "arbiter/explanation.h"
#include "arbiter/iam_mapping.h"
#include "arbiter/policy_io.h"
#include "arbiter/request.h"
#include "fuzz/fuzz_util.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/util/message_differencer.h"

namespace arbiter {
namespace {

// Decisions must not depend on the wall clock: a fixed instant, also used
// as the request time.
const absl::Time kNow = absl::FromUnixSeconds(1767225600);  // 2026-01-01

using fuzzing::DecisionString;

bool IsUnknownReason(Reason r) {
  return r == Reason::kUnknownPrincipal || r == Reason::kAmbiguousPrincipal ||
         r == Reason::kUnknownPermission || r == Reason::kUnknownResource;
}

// The decision invariants that hold for any request.
void CheckDecision(const Engine& engine, const v1::PolicySet& state,
                   const Decision& d, absl::string_view what) {
  FUZZ_CHECK(d.revision == state.revision(), what, ": ", DecisionString(d));
  FUZZ_CHECK(d.effect == EffectOf(d.reason), what, ": ", DecisionString(d));
  if (d.grant_index == Decision::kNoGrant) {
    FUZZ_CHECK(d.grant_id.empty() && d.source == GrantSource::kNone, what, ": ",
               DecisionString(d));
  } else {
    FUZZ_CHECK(d.grant_index < engine.num_grants(), what, ": ",
               DecisionString(d));
    const GrantInfo g = engine.grant(d.grant_index);
    FUZZ_CHECK(g.id == d.grant_id && g.source == d.source, what, ": ",
               DecisionString(d), " but the grant is ", g.id);
  }
}

// Strict UTF-8 (RFC 3629: no overlong forms, surrogates or values past
// U+10FFFF).
bool IsUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    int n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= static_cast<size_t>(n)) return false;
    for (int k = 1; k <= n; ++k) {
      const unsigned char cc = s[i + k];
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
        (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

// Walks every field of `m`: are all strings UTF-8, are there unknown fields?
void Inspect(const google::protobuf::Message& m, bool* utf8, bool* unknown) {
  const google::protobuf::Reflection* r = m.GetReflection();
  if (!r->GetUnknownFields(m).empty()) *unknown = true;
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const google::protobuf::FieldDescriptor* f : fields) {
    const int n = f->is_repeated() ? r->FieldSize(m, f) : 1;
    for (int i = 0; i < n; ++i) {
      if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_STRING) {
        std::string scratch;
        const std::string& v =
            f->is_repeated() ? r->GetRepeatedStringReference(m, f, i, &scratch)
                             : r->GetStringReference(m, f, &scratch);
        if (!IsUtf8(v)) *utf8 = false;
      } else if (f->cpp_type() ==
                 google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
        Inspect(f->is_repeated() ? r->GetRepeatedMessage(m, f, i)
                                 : r->GetMessage(m, f),
                utf8, unknown);
      }
    }
  }
}

// Serializing in each encoding and parsing back gives the same state,
// whenever the encoding can hold the state: binary and JSON hold only UTF-8
// strings (protobuf's binary parser refuses the others; its JSON printer
// drops the invalid bytes), text format cannot express unknown fields, JSON
// drops them.
void CheckRoundTrips(const v1::PolicySet& state) {
  bool utf8 = true, unknown = false;
  Inspect(state, &utf8, &unknown);
  for (PolicyFormat format :
       {PolicyFormat::kBinary, PolicyFormat::kText, PolicyFormat::kJson}) {
    if (format == PolicyFormat::kText && unknown) continue;
    if (format != PolicyFormat::kText && !utf8) continue;
    absl::StatusOr<std::string> encoded = SerializePolicySet(state, format);
    if (!encoded.ok()) {
      // Only JSON refuses a state: a timestamp outside its range.
      FUZZ_CHECK(format == PolicyFormat::kJson, PolicyFormatName(format),
                 " serialization failed: ", encoded.status().ToString());
      continue;
    }
    absl::StatusOr<v1::PolicySet> decoded =
        ParsePolicySet(*encoded, format, "roundtrip");
    FUZZ_CHECK(decoded.ok(), PolicyFormatName(format),
               " round trip failed: ", decoded.status().ToString());
    v1::PolicySet expected = state;
    if (format == PolicyFormat::kJson) expected.DiscardUnknownFields();
    FUZZ_CHECK(
        google::protobuf::util::MessageDifferencer::Equals(expected, *decoded),
        PolicyFormatName(format), " round trip changed the state");
  }
}

// Names taken from the state itself: what a caller would ask about.
struct Names {
  struct Principal {
    std::string name;  // id or email
    std::string org_id;
    v1::PrincipalState state;
    v1::PrincipalKind kind;
    // An email live in several organizations: a resource id settles which
    // one it names (the live principal of the resource's organization).
    std::vector<const v1::Principal*> live;
  };
  std::vector<Principal> principals;
  std::vector<std::string> permissions;
  std::vector<std::string> resources;  // ids and cloud/project paths
};

Names CollectNames(const Engine& engine, const v1::PolicySet& state) {
  // Small enough for thousands of inputs per second: at most 6 principal
  // names x ~7 permissions x 8 resources.
  constexpr int kMaxPrincipals = 3;
  constexpr int kMaxResources = 8;
  Names n;
  for (int i = 0; i < state.principals_size() && i < kMaxPrincipals; ++i) {
    const v1::Principal& p = state.principals(i);
    n.principals.push_back({p.id(), p.org_id(), p.state(), p.kind()});
    if (!p.email().empty()) {
      // An email names the one live (not deleted) principal holding it, in
      // any organization, when there is one (README, "A request may name
      // its inputs"): a deleted principal's email may be a live one's too.
      const v1::Principal* named = &p;
      std::vector<const v1::Principal*> live;
      for (const v1::Principal& q : state.principals()) {
        if (q.state() != v1::PRINCIPAL_STATE_DELETED &&
            absl::EqualsIgnoreCase(q.email(), p.email())) {
          live.push_back(&q);
        }
      }
      if (live.size() == 1) named = live[0];
      if (live.size() <= 1) live.clear();
      n.principals.push_back({p.email(), named->org_id(), named->state(),
                              named->kind(), std::move(live)});
    }
  }
  const v1::Profile& profile = engine.profile();
  // A spread of the profile's permissions, and every custom one.
  for (int i = 0; i < profile.permissions_size(); i += 11) {
    n.permissions.push_back(profile.permissions(i).name());
  }
  for (const v1::Permission& p : state.custom_permissions()) {
    if (n.permissions.size() < 8) n.permissions.push_back(p.name());
  }
  auto add_resource = [&](const std::string& r) {
    if (static_cast<int>(n.resources.size()) < kMaxResources) {
      n.resources.push_back(r);
    }
  };
  for (const v1::Organization& o : state.organizations()) add_resource(o.id());
  for (const v1::Cloud& c : state.clouds()) {
    add_resource(c.id());
    add_resource(c.name());
  }
  for (const v1::Project& p : state.projects()) {
    add_resource(p.id());
    for (const v1::Cloud& c : state.clouds()) {
      if (c.id() == p.cloud_id()) add_resource(c.name() + "/" + p.name());
    }
  }
  for (const v1::Workload& w : state.workloads()) add_resource(w.id());
  for (const v1::Image& im : state.images()) add_resource(im.id());
  return n;
}

// The organization of the resource with this id, or "".
std::string OrgOfId(const v1::PolicySet& state, const std::string& id) {
  auto cloud_org = [&](const std::string& cloud_id) -> std::string {
    for (const v1::Cloud& c : state.clouds()) {
      if (c.id() == cloud_id) return c.org_id();
    }
    return "";
  };
  for (const v1::Organization& o : state.organizations()) {
    if (o.id() == id) return o.id();
  }
  for (const v1::Cloud& c : state.clouds()) {
    if (c.id() == id) return c.org_id();
  }
  for (const v1::Project& p : state.projects()) {
    if (p.id() == id) return cloud_org(p.cloud_id());
  }
  for (const v1::Workload& w : state.workloads()) {
    if (w.id() == id) return cloud_org(w.cloud_id());
  }
  for (const v1::Image& im : state.images()) {
    if (im.id() == id) return im.org_id();
  }
  return "";
}

// The principal a request names: an email shared by live principals of
// several organizations means the one in the resource id's organization.
Names::Principal Named(const v1::PolicySet& state, const Names::Principal& p,
                       const std::string& resource) {
  if (p.live.empty() || resource.find('/') != std::string::npos) return p;
  const std::string org = OrgOfId(state, resource);
  for (const v1::Principal* q : p.live) {
    if (!org.empty() && q->org_id() == org) {
      return {p.name, q->org_id(), q->state(), q->kind(), {}};
    }
  }
  return p;
}

void CheckRequests(const Engine& engine, const v1::PolicySet& state) {
  const Names names = CollectNames(engine, state);
  int explained = 0;
  for (const Names::Principal& named : names.principals) {
    for (const std::string& permission : names.permissions) {
      for (const std::string& resource : names.resources) {
        {
          const Names::Principal p = Named(state, named, resource);
          const Channel channel = (p.name.size() + resource.size()) % 2
                                      ? Channel::kConsole
                                      : Channel::kApi;
          AccessRequest r;
          r.principal = p.name;
          r.permission = permission;
          r.resource = resource;
          r.context.channel = channel;
          r.context.now = kNow;
          const Decision d = engine.Check(r);
          const std::string what = absl::StrCat(
              "Check(", p.name, ", ", permission, ", ", resource, ")");
          CheckDecision(engine, state, d, what);
          if (d.allowed()) {
            FUZZ_CHECK(p.state != v1::PRINCIPAL_STATE_DELETED &&
                           p.state != v1::PRINCIPAL_STATE_INVITED,
                       what,
                       " allowed an inactive principal: ", DecisionString(d));
            FUZZ_CHECK(p.kind != v1::PRINCIPAL_KIND_SERVICE_ACCOUNT ||
                           channel != Channel::kConsole,
                       what, " allowed a service account on the console");
          }
          // The same request by handles.
          absl::optional<PrincipalRef> hp = engine.FindPrincipal(p.name);
          absl::optional<PermissionRef> hk = engine.FindPermission(permission);
          // An id is found in any organization (Check decides CROSS_ORG);
          // a path is looked up in the principal's organization.
          absl::optional<ResourceRef> hr = engine.FindResource(resource);
          if (!hr) hr = engine.FindResource(resource, p.org_id);
          if (hp && hk && hr && !IsUnknownReason(d.reason)) {
            const Decision dh = engine.Check(*hp, *hk, *hr, r.context);
            FUZZ_CHECK(dh == d, what, " by name ", DecisionString(d),
                       ", by handles ", DecisionString(dh));
          }
          if (explained < 40 && (d.allowed() || explained < 10)) {
            ++explained;
            const Explanation e = engine.Explain(r);
            FUZZ_CHECK(e.decision == d, what, ": Check ", DecisionString(d),
                       ", Explain ", DecisionString(e.decision));
          }
        }
      }
    }
  }

  // Unknown names deny, with the reason naming what was unknown.
  if (!names.principals.empty()) {
    const Names::Principal& p = names.principals.front();
    AccessRequest r;
    r.principal = "\x01no such principal";
    r.permission = "org.view";
    r.resource = names.resources.empty()
                     ? absl::string_view("x")
                     : absl::string_view(names.resources.front());
    FUZZ_CHECK(engine.Check(r).reason == Reason::kUnknownPrincipal, "");
    r.principal = p.name;
    r.permission = "\x01no.such.permission";
    const Decision d = engine.Check(r);
    FUZZ_CHECK(!d.allowed(), DecisionString(d));
    FUZZ_CHECK(d.reason == Reason::kUnknownPermission ||
                   d.reason == Reason::kAmbiguousPrincipal,
               DecisionString(d));
  }
}

void CheckIam(const Engine& engine, const v1::PolicySet& state) {
  int clouds = 0;
  for (const v1::Cloud& c : state.clouds()) {
    if (++clouds > 4) break;
    for (v1::WorkloadType type :
         {v1::WORKLOAD_TYPE_JOB, v1::WORKLOAD_TYPE_WORKSPACE,
          v1::WORKLOAD_TYPE_UNSPECIFIED}) {
      for (const v1::Principal& p : state.principals()) {
        WorkloadAttributes w;
        w.cloud = c.id();
        w.type = type;
        w.user = p.email();
        const IamDecision d = engine.ResolveIam(w);
        FUZZ_CHECK(d.revision == state.revision(), "ResolveIam revision");
        FUZZ_CHECK(d.outcome != IamOutcome::kFail || d.identity.empty(),
                   "a failed resolution names an identity");
        const IamExplanation e = engine.ExplainIam(w);
        FUZZ_CHECK(e.decision.outcome == d.outcome &&
                       e.decision.reason == d.reason &&
                       e.decision.identity == d.identity &&
                       e.decision.rule_index == d.rule_index,
                   "ExplainIam disagrees with ResolveIam on cloud ", c.id());
        break;  // one principal per cloud and type is enough
      }
    }
  }
}

}  // namespace
}  // namespace arbiter

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Protobuf logs (invalid UTF-8 ...) would only slow the fuzzer down.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace arbiter;  // NOLINT
  if (size == 0) return 0;
  static constexpr PolicyFormat kFormats[] = {
      PolicyFormat::kText, PolicyFormat::kJson, PolicyFormat::kBinary,
      PolicyFormat::kAuto};
  const PolicyFormat format = kFormats[data[0] % 4];
  const absl::string_view input(reinterpret_cast<const char*>(data) + 1,
                                size - 1);

  absl::StatusOr<v1::PolicySet> state = ParsePolicySet(input, format, "fuzz");
  if (!state.ok()) {
    FUZZ_CHECK(state.status().code() == absl::StatusCode::kInvalidArgument,
               state.status().ToString());
    FUZZ_CHECK(
        absl::StartsWith(state.status().message(), "fuzz"),
        "the error does not name the input: ", state.status().ToString());
    return 0;
  }
  CheckRoundTrips(*state);

  EngineOptions options;
  options.clock = std::make_shared<fuzzing::FixedClock>(kNow);
  const std::vector<absl::Status> problems = Engine::Validate(*state, options);
  absl::StatusOr<std::unique_ptr<const Engine>> engine =
      Engine::Create(*state, options);
  FUZZ_CHECK(engine.ok() == problems.empty(), "Create says ",
             engine.status().ToString(), " but Validate found ",
             problems.size(), " problems");
  if (!engine.ok()) {
    FUZZ_CHECK(absl::StrContains(engine.status().message(),
                                 problems.front().message()),
               "Create: ", engine.status().ToString(),
               "; Validate: ", problems.front().ToString());
    FUZZ_CHECK(problems.size() <= options.max_errors, problems.size());
    return 0;
  }
  const Engine& e = **engine;
  FUZZ_CHECK(e.revision() == state->revision(), "revision");
  CheckRequests(e, *state);
  CheckIam(e, *state);
  return 0;
}
