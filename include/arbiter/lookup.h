// File: arbiter/lookup.h
//
// Reverse questions over a compiled snapshot, each answered with exactly the
// set Check would allow: the same semantics (docs/semantics.md), the same
// options, the same clock. Nothing is approximated and nothing is cut off
// silently: a page that is not the last says so and carries a cursor.
//
//   * LookupResources: what can this principal reach? Every resource of a
//     kind (cloud, project, workload, compute config, image) on which
//     Check allows a permission, with the decision Check gives for it.
//   * LookupSubjects: who can act on this resource? Every principal for
//     which Check allows a permission on it.
//   * ListPermissions: what may this principal do here? The permissions
//     Check allows on one resource (a console enabling its buttons).
//   * EffectiveAccess: the access report of `anyscale user
//     list-permissions` (access-model §10.2), for one principal or a whole
//     organization, as a proto message (it prints as JSON).
//   * DiffPolicies: every (principal, resource) whose access differs
//     between two snapshots, or only "does `after` grant anything `before`
//     did not?" with its first witnesses (a CI gate).
//   * CheckBatch: many checks in one call; a name repeated from one request
//     to the next is resolved once, the next requests' are prefetched.
//
// docs/lookups.md states each answer's definition, cost and paging rules.
//
// Cost. A Lookup indexes its snapshot once (Lookup::Create: reverse grant
// and membership indexes, children lists, member tables; linear in
// resources, principals, grants and group memberships, about 7 ms for
// 10,000 users). Then LookupResources costs a fixed part (a handful of
// decisions: the principal's grant scopes, and one decision per class of
// resource it can reach without a grant of its own) plus some nanoseconds
// per returned resource, and never grows with resources the principal
// cannot reach: it walks from the principal's grants, not over every
// resource. LookupSubjects reads the resource's cloud's member table
// (principals grouped by the roles they hold there: one decision per
// group, and only the members of the allowed groups visited when they are
// few) and decides individually the principals with grants on the resource
// itself. ListPermissions gathers the principal's roles on the resource's
// path once and decides every permission from them (a few times the cost
// of one Check). EffectiveAccess and DiffPolicies: see their comments.
// docs/lookups.md has the measured figures. No call takes a lock; a call
// allocates its answer and a few scratch lists, never per result.
//
// Completeness. Every answer is exact and whole: the set Check allows,
// never sampled, never cut off without `complete == false` and a cursor.
//
// Time. A lookup judges grant expiry at one instant: RequestContext::now if
// set, else the engine's clock read once when the first page is computed.
// Every later page of the same lookup uses that instant (its cursor carries
// it), so the pages together are the answer at one instant, and every
// Decision equals Check's for the same request at that instant
// (Decision::valid_until included).
//
// Paging. page_size bounds a page (0 means kDefaultPageSize; at most
// kMaxPageSize). Results come in a stable order (below); a page is
// `complete` when nothing follows it, and otherwise carries `next_cursor`,
// which continues the same lookup where it stopped. Concatenated pages are
// the one-shot answer, without duplicates. A cursor is opaque (base64url)
// and validated: it is bound to the snapshot's revision and content (a
// cursor from another revision fails with FailedPrecondition naming both
// revisions; one from another state of the same revision fails too) and to
// the lookup that issued it (InvalidArgument for another query); a
// corrupted, truncated or forged cursor is InvalidArgument, never a crash or
// a shifted page. A cursor is not a credential: it carries no authority and
// is checked, not trusted. It is checksummed, not signed, and carries the
// first page's instant: see docs/lookups.md before handing cursors to
// callers who must not choose the instant.
//
// Order. Resources: tree order, by the ids (bytewise) of their cloud, then
// their project, then their own. Principals: by id.
//
// Thread safety and lifetimes. A Lookup is immutable and safe for
// concurrent use from any number of threads. It keeps its snapshot alive
// (the Engine it was created from may be destroyed first). Every
// absl::string_view in an answer (ids, emails, grant ids in Decisions)
// points into that snapshot: valid as long as the Lookup lives. A snapshot
// derived from another (a new Engine) needs its own Lookup.
//
// Example:
//
//   std::unique_ptr<const arbiter::Lookup> lookup =
//       arbiter::Lookup::Create(*engine);
//   arbiter::LookupResourcesRequest req;
//   req.principal = "erin@acme.com";
//   req.permission = "project.workload.terminate";
//   req.kind = arbiter::ResourceKind::kWorkload;
//   for (;;) {
//     absl::StatusOr<arbiter::ResourcePage> page =
//     lookup->LookupResources(req); if (!page.ok()) return page.status(); for
//     (const arbiter::ResourceMatch& m : page->resources) Use(m.id); if
//     (page->complete) break; cursor = page->next_cursor;  // keep it alive
//     across the next call req.cursor = cursor;
//   }

#ifndef ARBITER_LOOKUP_H_
#define ARBITER_LOOKUP_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "absl/types/span.h"
#include "arbiter/decision.h"
#include "arbiter/engine.h"
#include "arbiter/request.h"
#include "arbiter/v1/access_report.pb.h"

namespace arbiter {

namespace internal {
struct Snapshot;
struct QueryIndex;
}  // namespace internal

// The kinds of resources of the tree (arbiter/v1/resource.proto).
enum class ResourceKind : uint8_t {
  kOrg = 0,
  kCloud,
  kProject,
  kWorkload,
  kComputeConfig,
  kImage,
};

// "org", "cloud", "project", "workload", "compute_config", "image".
absl::string_view ResourceKindName(ResourceKind kind);
// Parses a name of ResourceKindName. False if unknown.
bool ParseResourceKind(absl::string_view name, ResourceKind* kind);

// Which principals LookupSubjects returns.
enum class PrincipalFilter : uint8_t {
  kAll = 0,
  kUsers,
  kServiceAccounts,
};

inline constexpr uint32_t kDefaultPageSize = 1000;
inline constexpr uint32_t kMaxPageSize = 1000000;

struct LookupResourcesRequest {
  // A principal id or email (as AccessRequest::principal).
  absl::string_view principal;
  // A permission name, e.g. "project.workload.terminate".
  absl::string_view permission;
  ResourceKind kind = ResourceKind::kWorkload;
  // Optional: only resources under (or equal to) this organization, cloud
  // or project, given by id or `cloud[/project]` path. Empty: the
  // principal's organization.
  absl::string_view within;
  // Optional organization id or name binding every name of the request
  // (as AccessRequest::org).
  absl::string_view org;
  RequestContext context;
  uint32_t page_size = 0;  // 0: kDefaultPageSize
  // Empty for the first page, else the previous page's next_cursor.
  absl::string_view cursor;
};

// One resource Check allows, with the decision Check gives for it (reason,
// deciding grant, source, revision, valid_until).
struct ResourceMatch {
  absl::string_view id;
  ResourceKind kind = ResourceKind::kOrg;
  Decision decision;
};

struct ResourcePage {
  std::vector<ResourceMatch> resources;
  // True when no resource follows this page.
  bool complete = true;
  // Set exactly when !complete: pass it as the next request's cursor.
  std::string next_cursor;
  uint64_t revision = 0;
  // The instant grant expiry was judged at.
  absl::Time at;
};

struct LookupSubjectsRequest {
  absl::string_view permission;
  // A resource id, or a `cloud[/project[/workload]]` path (which needs
  // `org` unless the snapshot has one organization).
  absl::string_view resource;
  absl::string_view org;
  PrincipalFilter principals = PrincipalFilter::kAll;
  RequestContext context;
  uint32_t page_size = 0;
  absl::string_view cursor;
};

// One principal Check allows. Groups are not principals: a group's members
// appear, each with the decision Check gives them.
struct SubjectMatch {
  absl::string_view id;
  absl::string_view email;
  bool service_account = false;
  Decision decision;
};

struct SubjectPage {
  std::vector<SubjectMatch> subjects;
  bool complete = true;
  std::string next_cursor;
  uint64_t revision = 0;
  absl::Time at;
};

// A set of permissions of one snapshot: bit k is the permission of index
// k (PermissionRef::index()). A value; Names() and Has(name) read the
// snapshot of the Lookup that made it, which must outlive those calls.
class PermissionSet {
 public:
  PermissionSet() = default;

  bool Has(uint32_t permission_index) const {
    const size_t w = permission_index >> 6;
    return w < bits_.size() && ((bits_[w] >> (permission_index & 63)) & 1);
  }
  // False for unknown names.
  bool Has(absl::string_view permission) const;
  size_t size() const;
  bool empty() const { return size() == 0; }
  // The names, in profile order (custom permissions last).
  std::vector<absl::string_view> Names() const;
  // The bitset, 64 permissions a word.
  absl::Span<const uint64_t> bits() const { return bits_; }

  friend bool operator==(const PermissionSet& a, const PermissionSet& b);
  friend bool operator!=(const PermissionSet& a, const PermissionSet& b) {
    return !(a == b);
  }

 private:
  friend class Lookup;
  friend struct LookupFriend;
  absl::InlinedVector<uint64_t, 2> bits_;
  const internal::Snapshot* snapshot_ = nullptr;
};

// The effective-access report's scope and options.
struct AccessReportRequest {
  // Organization id or name. May be empty when `principal` is set or the
  // snapshot has one organization.
  absl::string_view org;
  // Optional: report this principal only (id or email); empty: every
  // principal of the organization.
  absl::string_view principal;
  // Also list, per cloud and project, the permissions Check allows there
  // (larger and slower; off by default).
  bool include_permissions = false;
  RequestContext context;
};

class Lookup {
 public:
  // Indexes `engine`'s snapshot for lookups. Never fails. Cost: linear in
  // the snapshot's resources, principals, grants and group memberships
  // (docs/lookups.md has measured figures). Keeps the snapshot alive.
  static std::unique_ptr<const Lookup> Create(const Engine& engine);

  Lookup(const Lookup&) = delete;
  Lookup& operator=(const Lookup&) = delete;
  ~Lookup();

  // Every resource of `request.kind` under `request.within` on which Check
  // allows `request.permission` to `request.principal`, in tree order, one
  // page at a time. A principal that Check denies everything (deleted,
  // invited, another organization's resources) gets an empty, complete
  // page. Errors: NotFound for an unknown principal, permission, `within`
  // or org (the message names the field); InvalidArgument for an
  // ambiguous email, a `within` that is not an organization, cloud or
  // project, a page_size above kMaxPageSize, or a bad cursor;
  // FailedPrecondition for a cursor of another revision or state.
  absl::StatusOr<ResourcePage> LookupResources(
      const LookupResourcesRequest& request) const;

  // Every principal (by id) for which Check allows `request.permission` on
  // `request.resource`. Deleted and invited principals never appear; org
  // owners do (unless a deny role subtracts the permission). Errors as
  // LookupResources.
  absl::StatusOr<SubjectPage> LookupSubjects(
      const LookupSubjectsRequest& request) const;

  // The permissions Check allows `principal` on `resource` (names resolved
  // as by Check, `org` binding them). Errors: NotFound for an unknown
  // principal, resource or org; InvalidArgument for an ambiguous email.
  absl::StatusOr<PermissionSet> ListPermissions(
      absl::string_view principal, absl::string_view resource,
      absl::string_view org = {}, const RequestContext& context = {}) const;

  // The effective-access report (§10.2 shape, with the definitions of
  // docs/lookups.md "The access report"). Errors: NotFound for an unknown
  // org or principal; InvalidArgument when the org is ambiguous or missing
  // and needed.
  absl::StatusOr<v1::AccessReport> EffectiveAccess(
      const AccessReportRequest& request) const;
  // The same, written into `*report` (cleared first; unchanged on error).
  // Allocate the message on a google::protobuf::Arena to build a whole
  // organization's report several times faster (it is hundreds of
  // thousands of messages at 10,000 users; docs/lookups.md).
  absl::Status EffectiveAccess(const AccessReportRequest& request,
                               v1::AccessReport* report) const;

  // PolicySet::revision of the snapshot.
  uint64_t revision() const { return revision_; }
  // Approximate heap bytes of the lookup indexes (not the snapshot).
  size_t MemoryUsage() const;

 private:
  Lookup(std::shared_ptr<const internal::Snapshot> snapshot, uint64_t revision);
  friend struct LookupFriend;

  std::shared_ptr<const internal::Snapshot> snapshot_;
  std::unique_ptr<const internal::QueryIndex> index_;
  uint64_t revision_;
};

struct DiffOptions {
  // Only answer "does `after` allow anything `before` did not?": stop after
  // max_witnesses such (principal, permission, resource) triples (at the
  // first, when 0). Lost access, `changes` and `summary` are not computed.
  bool only_new_access = false;
  // Witnesses of new access reported (in both modes), in the order of the
  // changes: principal id, resource in tree order, permission in profile
  // order.
  size_t max_witnesses = 10;
  // The channel and instant both states are judged at (now: the after
  // engine's clock, read once).
  Channel channel = Channel::kApi;
  absl::optional<absl::Time> now;
};

// Compares the access two snapshots give (docs/lookups.md "Policy diff").
// Principals are matched by id, resources by id and place (the same kind
// and the same organization, cloud and project ids: one that moved counts
// as removed and added; the summary counts them), permissions by name.
// Access to an organization, cloud or project of `after` only is new
// access (`before` gave none there): it sets `new_access`, with one witness
// per such scope after the principals' witnesses (the first principal by
// id allowed something there), and is not listed in `changes`. An added
// workload, compute config or image decides as its project, cloud or
// organization, except its creator's own-workload permissions on a new
// workload, which are new access too. So the gate fails closed on a new
// project.
//
// The changes: for every principal and every resource whose decisions
// differ — its organization (org-level permissions), every cloud
// (cloud-level), every project (project-level), and every workload it
// created in either state (project-level) — the permissions `after` allows
// and `before` did not (gained) and the reverse (lost). Every other
// resource decides as the one of its permission's level above it (a
// compute config as its cloud, an image as its organization, another's
// workload as its project), so the changes say exactly how every
// (principal, permission, resource) triple changed: the answer equals
// comparing Check on every triple of both states (tested so, exhaustively,
// on random pairs of states). `new_access` and the first witnesses, with
// the reason and deciding grant Check gives in `after`, answer the CI gate.
//
// Cost: computed from the compiled indexes, never sampled. When both
// snapshots have the same vocabulary (permissions, roles, options), a
// principal whose live grants, groups and record are the same in both is
// compared only on the resources that changed (a project's flags, a
// workload's creator); every other principal on its organization, the
// clouds and projects it holds grants at, its workloads, and once per
// class of the rest. So a diff costs about the size of the changes: a few
// milliseconds for ten changed grants in an organization of 10,000 users
// (docs/lookups.md has measured figures), plus the output.
//
// Errors: FailedPrecondition when a permission has one name and two
// levels in the two snapshots (no per-level comparison exists then).
// Thread-safe (both Lookups are immutable); allocates the answer.
absl::StatusOr<v1::PolicyDiff> DiffPolicies(const Lookup& before,
                                            const Lookup& after,
                                            const DiffOptions& options = {});

// Decides every request in order, exactly as Check(requests[i]) would
// (same resolution, same failures, same clock: a request without
// RequestContext::now reads the engine's clock as Check does). A principal,
// permission or resource name equal to the previous request's (one user's
// many resources, one resource's many users) is not resolved again, and
// the index entries of the requests a few places ahead are prefetched, so
// that in a large snapshot their cache misses overlap. `decisions` is
// resized to requests.size(); nothing else is allocated. Thread-safe.
void CheckBatch(const Engine& engine, absl::Span<const AccessRequest> requests,
                std::vector<Decision>* decisions);

}  // namespace arbiter

#endif  // ARBITER_LOOKUP_H_
