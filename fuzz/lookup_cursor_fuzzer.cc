// Fuzz target: lookup page cursors (src/query/cursor.h) are checked, not
// trusted.
//
// The state is the demo organization "acme" with 24 more workloads and 20
// more users (some with grants that expire around the fixed clock), so that
// lookups span several pages. The input picks a lookup (LookupResources or
// LookupSubjects), a page size, and a cursor made one of four ways: raw
// input bytes; a valid cursor of that lookup with bytes flipped, cut or
// inserted; a valid cursor decoded, its fields (position, id hash, instant,
// revision, digest, lookup) overwritten with input values and re-encoded
// with a valid checksum; or a LookupCursor parsed from input bytes and
// encoded with a valid checksum. For each it checks:
//  * an error is InvalidArgument or FailedPrecondition, "cursor: ...";
//  * a page is never a wrong page: it is within the page size, and it is
//    exactly the slice of the lookup's answer (at the page's instant,
//    decisions included) that follows one of the answer's results, complete
//    exactly when it reaches the end.
// Any violation aborts, as does any sanitizer report.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "arbiter/demo.h"
#include "arbiter/engine.h"
#include "arbiter/lookup.h"
#include "fuzz/fuzz_util.h"
#include "src/query/cursor.h"

namespace arbiter {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1796083200);  // 2026-12-01

struct Query {
  bool subjects;
  std::string principal, permission, resource;
  ResourceKind kind;
};

struct Fixture {
  std::unique_ptr<const Engine> engine;
  std::unique_ptr<const Lookup> lookup;
  std::vector<Query> queries;
  std::vector<std::string> ids;  // resource and principal ids
};

const Fixture& GetFixture() {
  static const Fixture* fixture = [] {
    auto* f = new Fixture;
    v1::PolicySet state = DemoPolicySet();
    const char* projects[] = {"prj_web", "prj_ml_prod", "prj_prod_default"};
    const char* creators[] = {"usr_carol", "usr_dave", "usr_erin", "usr_frank"};
    for (int i = 0; i < 24; ++i) {
      v1::Workload* w = state.add_workloads();
      w->set_id(absl::StrFormat("wl_f%02d", i));
      w->set_project_id(projects[i % 3]);
      w->set_name(absl::StrFormat("fuzz-%02d", i));
      w->set_type(v1::WORKLOAD_TYPE_JOB);
      if (i % 5 != 0) w->set_creator_id(creators[i % 4]);
    }
    for (int i = 0; i < 20; ++i) {
      v1::Principal* p = state.add_principals();
      p->set_id(absl::StrFormat("usr_f%02d", i));
      p->set_org_id("org_123");
      p->set_kind(v1::PRINCIPAL_KIND_USER);
      p->set_email(absl::StrFormat("f%02d@acme.com", i));
      v1::Grant* g = state.add_grants();
      g->set_id(absl::StrFormat("g_f%02d", i));
      g->set_principal_id(p->id());
      g->set_role(i % 3 == 0 ? "cloud_owner" : "cloud_collaborator");
      g->set_cloud_id("cld_prod");
      if (i % 4 == 1) {  // expiring around the clock
        g->mutable_expires_at()->set_seconds(absl::ToUnixSeconds(kNow) +
                                             (i - 10) * 3600);
      }
    }
    EngineOptions options;
    options.clock = std::make_shared<fuzzing::FixedClock>(kNow);
    auto engine = Engine::Create(state, options);
    FUZZ_CHECK(engine.ok(), engine.status().ToString());
    f->engine = std::move(*engine);
    f->lookup = Lookup::Create(*f->engine);
    const char* permissions[] = {"project.view", "project.workload.terminate",
                                 "cloud.view", "org.view", "org.images.use"};
    const ResourceKind kinds[] = {
        ResourceKind::kWorkload, ResourceKind::kProject, ResourceKind::kCloud,
        ResourceKind::kImage, ResourceKind::kComputeConfig};
    std::vector<std::string> principals = {"usr_alice", "usr_carol", "usr_dave",
                                           "usr_erin", "sa_ci"};
    for (int i = 0; i < 20; i += 3) {
      principals.push_back(absl::StrFormat("usr_f%02d", i));
    }
    for (const std::string& p : principals) {
      for (const char* k : permissions) {
        for (ResourceKind kind : kinds) {
          f->queries.push_back({false, p, k, "", kind});
        }
      }
    }
    for (const char* r : {"prj_web", "prj_ml_prod", "prj_prod_default",
                          "wl_f01", "wl_storefront", "cld_prod", "org_123"}) {
      for (const char* k : permissions) {
        f->queries.push_back({true, "", k, r, ResourceKind::kOrg});
      }
    }
    for (const auto& r : state.workloads()) f->ids.push_back(r.id());
    for (const auto& r : state.projects()) f->ids.push_back(r.id());
    for (const auto& r : state.clouds()) f->ids.push_back(r.id());
    for (const auto& r : state.images()) f->ids.push_back(r.id());
    for (const auto& r : state.principals()) f->ids.push_back(r.id());
    return f;
  }();
  return *fixture;
}

// The ids and decisions of one page.
struct Result {
  std::vector<std::string> ids;
  std::vector<Decision> decisions;
  bool complete = true;
  std::string next_cursor;
  absl::Time at;
};

absl::StatusOr<Result> Run(const Fixture& f, const Query& q, uint32_t page_size,
                           absl::string_view cursor,
                           absl::optional<absl::Time> now = absl::nullopt) {
  Result out;
  if (q.subjects) {
    LookupSubjectsRequest r;
    r.permission = q.permission;
    r.resource = q.resource;
    r.page_size = page_size;
    r.cursor = cursor;
    r.context.now = now;
    absl::StatusOr<SubjectPage> page = f.lookup->LookupSubjects(r);
    if (!page.ok()) return page.status();
    for (const auto& m : page->subjects) {
      out.ids.emplace_back(m.id);
      out.decisions.push_back(m.decision);
    }
    out.complete = page->complete;
    out.next_cursor = page->next_cursor;
    out.at = page->at;
  } else {
    LookupResourcesRequest r;
    r.principal = q.principal;
    r.permission = q.permission;
    r.kind = q.kind;
    r.page_size = page_size;
    r.cursor = cursor;
    r.context.now = now;
    absl::StatusOr<ResourcePage> page = f.lookup->LookupResources(r);
    if (!page.ok()) return page.status();
    for (const auto& m : page->resources) {
      out.ids.emplace_back(m.id);
      out.decisions.push_back(m.decision);
    }
    out.complete = page->complete;
    out.next_cursor = page->next_cursor;
    out.at = page->at;
  }
  return out;
}

// A valid cursor of `q` after `pages` pages of `page_size` (empty if the
// answer ends first).
std::string ValidCursor(const Fixture& f, const Query& q, uint32_t page_size,
                        int pages) {
  std::string cursor;
  for (int i = 0; i <= pages; ++i) {
    absl::StatusOr<Result> r = Run(f, q, page_size, cursor);
    FUZZ_CHECK(r.ok(), r.status().ToString());
    if (r->complete) return cursor;
    cursor = r->next_cursor;
  }
  return cursor;
}

void CheckPage(const Fixture& f, const Query& q, uint32_t page_size,
               const Result& page) {
  FUZZ_CHECK(page.ids.size() <= page_size, "page of ", page.ids.size(),
             " above size ", page_size);
  FUZZ_CHECK(page.complete == page.next_cursor.empty(),
             "complete and cursor disagree");
  // The whole answer at the page's instant.
  absl::StatusOr<Result> all = Run(f, q, kMaxPageSize, "", page.at);
  FUZZ_CHECK(all.ok() && all->complete, all.status().ToString());
  // A resumed page follows one of the answer's results.
  for (size_t after = 0; after < all->ids.size(); ++after) {
    const size_t begin = after + 1;
    if (begin + page.ids.size() > all->ids.size()) break;
    bool same = true;
    for (size_t i = 0; i < page.ids.size() && same; ++i) {
      same = all->ids[begin + i] == page.ids[i] &&
             all->decisions[begin + i] == page.decisions[i];
    }
    if (same && page.complete == (begin + page.ids.size() == all->ids.size())) {
      return;
    }
  }
  FUZZ_CHECK(false, "a wrong page: ", page.ids.size(), " results, first ",
             page.ids.empty() ? "-" : page.ids[0], ", not a slice after a ",
             "result of the answer (", all->ids.size(), " results)");
}

}  // namespace
}  // namespace arbiter

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace arbiter;  // NOLINT
  const Fixture& f = GetFixture();
  FuzzedDataProvider fdp(data, size);
  const Query& q =
      f.queries[fdp.ConsumeIntegralInRange<size_t>(0, f.queries.size() - 1)];
  const uint32_t page_size = fdp.ConsumeIntegralInRange<uint32_t>(1, 6);
  std::string cursor;
  switch (fdp.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      cursor = fdp.ConsumeRandomLengthString(700);
      break;
    case 1: {
      cursor = ValidCursor(f, q, page_size, fdp.ConsumeIntegralInRange(0, 5));
      const int edits = fdp.ConsumeIntegralInRange(1, 4);
      for (int i = 0; i < edits && !cursor.empty(); ++i) {
        const size_t at =
            fdp.ConsumeIntegralInRange<size_t>(0, cursor.size() - 1);
        switch (fdp.ConsumeIntegralInRange(0, 2)) {
          case 0:
            cursor[at] = static_cast<char>(
                cursor[at] ^ (1 << fdp.ConsumeIntegralInRange(0, 7)));
            break;
          case 1:
            cursor.resize(at);
            break;
          default:
            cursor.insert(at, 1, fdp.ConsumeIntegral<char>());
        }
      }
      break;
    }
    case 2: {
      const std::string valid =
          ValidCursor(f, q, page_size, fdp.ConsumeIntegralInRange(0, 3));
      if (valid.empty()) return 0;
      absl::StatusOr<v1::LookupCursor> c = internal::DecodeCursor(valid);
      FUZZ_CHECK(c.ok(), c.status().ToString());
      const int fields = fdp.ConsumeIntegralInRange(1, 3);
      for (int i = 0; i < fields; ++i) {
        switch (fdp.ConsumeIntegralInRange(0, 9)) {
          case 0:
            c->set_last(fdp.ConsumeIntegral<uint32_t>());
            break;
          case 1:
            c->set_last(fdp.ConsumeIntegralInRange<uint32_t>(0, 80));
            break;
          case 2:
            c->set_last_id_hash(
                internal::IdHash(f.ids[fdp.ConsumeIntegralInRange<size_t>(
                    0, f.ids.size() - 1)]));
            break;
          case 3:
            c->set_last_id_hash(fdp.ConsumeIntegral<uint64_t>());
            break;
          case 4:
            c->set_at_unix_nanos(c->at_unix_nanos() +
                                 fdp.ConsumeIntegralInRange<int64_t>(
                                     -int64_t{86400} * 1000000000 * 30,
                                     int64_t{86400} * 1000000000 * 30));
            break;
          case 5:
            c->set_revision(fdp.ConsumeIntegral<uint64_t>());
            break;
          case 6:
            c->set_digest(fdp.ConsumeIntegral<uint64_t>());
            break;
          case 7:
            c->set_principal(fdp.ConsumeIntegralInRange<uint32_t>(0, 40));
            break;
          case 8:
            c->set_scope(fdp.ConsumeIntegralInRange<uint32_t>(0, 40));
            break;
          default:
            c->set_query(static_cast<v1::LookupCursor::Query>(
                fdp.ConsumeIntegralInRange(0, 3)));
        }
      }
      cursor = internal::EncodeCursor(*c);
      break;
    }
    default: {
      v1::LookupCursor c;
      const std::string bytes = fdp.ConsumeRemainingBytesAsString();
      if (!c.ParseFromString(bytes)) return 0;
      cursor = internal::EncodeCursor(c);
    }
  }
  if (cursor.empty()) return 0;  // a first page, not a cursor
  absl::StatusOr<Result> page = Run(f, q, page_size, cursor);
  if (!page.ok()) {
    const absl::StatusCode code = page.status().code();
    FUZZ_CHECK(code == absl::StatusCode::kInvalidArgument ||
                   code == absl::StatusCode::kFailedPrecondition,
               page.status().ToString());
    FUZZ_CHECK(absl::StartsWith(page.status().message(), "cursor: "),
               page.status().ToString());
    return 0;
  }
  CheckPage(f, q, page_size, *page);
  return 0;
}
