// End-to-end tests of the lookup commands on the built binary: who-can,
// what-can, permissions and diff on the demo state, examples/org.textproto
// and the diff states of tools/testdata/lookup; paging (every page size,
// cursors continued to the end, bad cursors refused), --json output parsed,
// exit codes, usage errors, and the lookup cases of `arbiter test`.

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "arbiter/demo.h"
#include "arbiter/engine.h"
#include "arbiter/lookup.h"
#include "arbiter/policy_io.h"
#include "arbiter/v1/test_suite.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tools/proto_json.h"
#include "tools/tests/run_cli.h"

namespace arbiter {
namespace {

using cli_testing::CliResult;
using cli_testing::RunArbiter;
using cli_testing::WriteFileOrDie;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;

const char kAt[] = "--at=2026-12-01T00:00:00Z";

class CliLookupTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(cli_testing::MakeScratchDir("lookup"));
    ASSERT_EQ(std::system(absl::StrCat("cp -r '", ARBITER_CLI_TESTDATA,
                                       "/lookup'/. '", *dir_, "'")
                              .c_str()),
              0);
    ASSERT_EQ(std::system(
                  absl::StrCat(
                      "cp '", ARBITER_CLI_TESTDATA, "/two_orgs.textproto' '",
                      ARBITER_CLI_TESTDATA, "/../../examples/org.textproto' '",
                      ARBITER_CLI_TESTDATA,
                      "/../../examples/acme_test.textproto' '", *dir_, "'")
                      .c_str()),
              0);
    // The demo at revision 2: a state whose cursors are not the demo's.
    CliResult r = RunArbiter({"demo", "--source"}, *dir_);
    ASSERT_EQ(r.exit_code, 0);
    const std::string revised =
        absl::StrReplaceAll(r.out, {{"\nrevision: 1\n", "\nrevision: 2\n"}});
    ASSERT_NE(revised, r.out);
    WriteFileOrDie(absl::StrCat(*dir_, "/revision2.textproto"), revised);
  }
  static void TearDownTestSuite() {
    std::error_code ignored;
    std::filesystem::remove_all(*dir_, ignored);
    delete dir_;
    dir_ = nullptr;
  }
  static CliResult Run(const std::vector<std::string>& args) {
    CliResult r = RunArbiter(args, *dir_);
    EXPECT_TRUE(r.exited) << "killed by signal " << r.signal;
    return r;
  }
  static std::string* dir_;
};
std::string* CliLookupTest::dir_ = nullptr;

// Parses one JSON object (and nothing after it but a newline).
rapidjson::Document ParseJson(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str(), text.size());
  EXPECT_FALSE(d.HasParseError()) << "not JSON: " << text;
  EXPECT_TRUE(d.IsObject()) << text;
  EXPECT_FALSE(text.empty() || text.back() != '\n') << "no final newline";
  return d;
}

// The "id" of each element of the array `key` of `d`.
std::vector<std::string> Ids(const rapidjson::Document& d, const char* key) {
  std::vector<std::string> ids;
  if (!d.IsObject() || !d.HasMember(key) || !d[key].IsArray()) {
    ADD_FAILURE() << "no array " << key;
    return ids;
  }
  for (const auto& e : d[key].GetArray()) ids.push_back(e["id"].GetString());
  return ids;
}

// ---- who-can ----

TEST_F(CliLookupTest, WhoCanListsEveryPrincipalWithItsDecision) {
  const CliResult r = Run({"who-can", "--demo", "--permission", "project.view",
                           "--resource", "prod/ml-prod", kAt});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  // Bob owns the cloud but does not see the private project; kim is in a
  // group nested in ml-team.
  EXPECT_EQ(r.out,
            "PRINCIPAL  EMAIL                          KIND             "
            "DECISION\n"
            "sa_ci      ci@org-123.serviceaccount.com  service account  GRANT "
            "grant=g_ci_ml_prod source=DIRECT\n"
            "usr_alice  alice@acme.com                 user             "
            "ORG_OWNER grant=g_alice_org_owner source=DIRECT rule=org_owner\n"
            "usr_dave   dave@acme.com                  user             GRANT "
            "grant=g_dave_ml_prod_owner source=DIRECT\n"
            "usr_erin   erin@acme.com                  user             GRANT "
            "grant=g_ml_team_ml_prod source=GROUP\n"
            "usr_kim    kim@acme.com                   user             GRANT "
            "grant=g_ml_team_ml_prod source=GROUP\n"
            "5 principals (complete; revision 1, at 2026-12-01T00:00:00Z)\n");
}

TEST_F(CliLookupTest, WhoCanJsonOnTheExampleFile) {
  const CliResult r =
      Run({"who-can", "org.textproto", "--permission", "cloud.delete",
           "--resource", "prod", "--json", kAt});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const rapidjson::Document d = ParseJson(r.out);
  EXPECT_STREQ(d["permission"].GetString(), "cloud.delete");
  EXPECT_STREQ(d["resource"].GetString(), "prod");
  EXPECT_STREQ(d["principals"].GetString(), "all");
  EXPECT_EQ(d["revision"].GetInt(), 1);
  EXPECT_STREQ(d["at"].GetString(), "2026-12-01T00:00:00Z");
  EXPECT_TRUE(d["complete"].GetBool());
  EXPECT_TRUE(d["next_cursor"].IsNull());
  // Judy's cloud-owner grant no longer applies: she is deleted.
  EXPECT_THAT(Ids(d, "subjects"), ElementsAre("usr_alice", "usr_bob"));
  const auto& bob = d["subjects"][1];
  EXPECT_STREQ(bob["email"].GetString(), "bob@acme.com");
  EXPECT_STREQ(bob["kind"].GetString(), "user");
  EXPECT_STREQ(bob["decision"]["effect"].GetString(), "ALLOW");
  EXPECT_STREQ(bob["decision"]["reason"].GetString(), "GRANT");
  EXPECT_STREQ(bob["decision"]["grant"].GetString(), "g_bob_prod_owner");
  EXPECT_STREQ(bob["decision"]["source"].GetString(), "DIRECT");
  EXPECT_TRUE(bob["decision"]["rule"].IsNull());
  EXPECT_TRUE(bob["valid_until"].IsNull());
}

TEST_F(CliLookupTest, WhoCanFiltersPrincipals) {
  CliResult r = Run({"who-can", "--demo", "--permission",
                     "project.workload.create", "--resource", "prod/ml-prod",
                     "--principals", "service-accounts", "--json", kAt});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(Ids(ParseJson(r.out), "subjects"), ElementsAre("sa_ci"));
  r = Run({"who-can", "--demo", "--permission", "project.workload.create",
           "--resource", "prod/ml-prod", "--principals", "users", "--json",
           kAt});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(Ids(ParseJson(r.out), "subjects"),
              ElementsAre("usr_alice", "usr_dave", "usr_erin", "usr_kim"));
  // Service accounts never use the console.
  r = Run({"who-can", "--demo", "--permission", "project.workload.create",
           "--resource", "prod/ml-prod", "--channel", "console", "--json",
           kAt});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(Ids(ParseJson(r.out), "subjects"),
              ElementsAre("usr_alice", "usr_dave", "usr_erin", "usr_kim"));
}

TEST_F(CliLookupTest, AnEmptyAnswerIsCompleteAndExitsZero) {
  const CliResult r =
      Run({"who-can", "--demo", "--permission", "project.delete", "--resource",
           "prod/default", kAt});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "0 principals (complete; revision 1, at 2026-12-01T00:00:00Z)\n");
}

// ---- what-can ----

TEST_F(CliLookupTest, WhatCanListsResourcesInTreeOrder) {
  CliResult r =
      Run({"what-can", "org.textproto", "--principal", "erin@acme.com",
           "--permission", "project.workload.view", "--kind", "workload", kAt});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "RESOURCE          NAME                        DECISION\n"
            "wl_dave_notebook  prod/ml-prod/dave-notebook  GRANT "
            "grant=g_ml_team_ml_prod source=GROUP\n"
            "wl_nightly_etl    prod/ml-prod/nightly-etl    GRANT "
            "grant=g_ml_team_ml_prod source=GROUP\n"
            "wl_scratch        prod/default/scratch        PUBLIC_PROJECT "
            "grant=g_ml_team_prod source=GROUP rule=public_project\n"
            "wl_storefront     prod/web/storefront         PUBLIC_PROJECT "
            "grant=g_ml_team_prod source=GROUP rule=public_project\n"
            "4 workloads (complete; revision 1, at 2026-12-01T00:00:00Z)\n");
  // Writers delete only the workloads they created.
  r = Run({"what-can", "--demo", "--principal", "usr_erin", "--permission",
           "project.workload.delete", "--kind", "workload", "--json", kAt});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const rapidjson::Document d = ParseJson(r.out);
  EXPECT_THAT(Ids(d, "resources"), ElementsAre("wl_nightly_etl"));
  EXPECT_STREQ(d["resources"][0]["decision"]["reason"].GetString(),
               "OWN_WORKLOAD");
  EXPECT_STREQ(d["resources"][0]["name"].GetString(),
               "prod/ml-prod/nightly-etl");
  EXPECT_STREQ(d["kind"].GetString(), "workload");
  EXPECT_TRUE(d["within"].IsNull());
}

TEST_F(CliLookupTest, WhatCanEveryKindAndWithin) {
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> ids;
  };
  const std::vector<Case> cases = {
      {{"--principal", "alice@acme.com", "--permission", "cloud.view", "--kind",
        "cloud"},
       {"cld_prod", "cld_research"}},
      {{"--principal", "bob@acme.com", "--permission", "project.view", "--kind",
        "project"},
       {"prj_prod_default", "prj_web"}},
      {{"--principal", "bob@acme.com", "--permission",
        "cloud.compute_configs.manage", "--kind", "compute-config"},
       {"cc_cpu_small"}},
      {{"--principal", "erin@acme.com", "--permission", "org.images.use",
        "--kind", "image"},
       {"img_acme_ml", "img_ray_base"}},
      {{"--principal", "alice@acme.com", "--permission",
        "project.workload.view", "--kind", "workload", "--within", "prod/web"},
       {"wl_storefront"}},
      {{"--principal", "alice@acme.com", "--permission",
        "project.workload.view", "--kind", "workload", "--within",
        "cld_research"},
       {}},
      // Invited and deleted principals reach nothing.
      {{"--principal", "ivan@acme.com", "--permission", "cloud.view", "--kind",
        "cloud"},
       {}},
      {{"--principal", "judy@acme.com", "--permission", "cloud.view", "--kind",
        "cloud"},
       {}},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"what-can", "--demo", "--json", kAt};
    args.insert(args.end(), c.args.begin(), c.args.end());
    const CliResult r = Run(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const rapidjson::Document d = ParseJson(r.out);
    EXPECT_EQ(Ids(d, "resources"), c.ids) << r.out;
    EXPECT_TRUE(d["complete"].GetBool());
  }
}

TEST_F(CliLookupTest, ExpiringGrantsShowWhenTheyEnd) {
  CliResult r = Run({"what-can", "--demo", "--principal", "grace@acme.com",
                     "--permission", "project.view", "--kind", "project", kAt});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("prj_ml_research       research/ml-research  "
                               "GRANT grant=g_grace_ml_research source=DIRECT "
                               "until=2027-01-01T00:00:00Z\n"));
  r = Run({"what-can", "--demo", "--principal", "grace@acme.com",
           "--permission", "project.view", "--kind", "project", "--json",
           "--at", "2027-02-01T00:00:00Z"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(Ids(ParseJson(r.out), "resources"),
              ElementsAre("prj_research_default"));
}

// ---- The answers are the sets check allows ----

// The ids of a state's principals and resources, read from `arbiter convert
// --to json`.
struct StateIds {
  std::vector<std::string> principals;
  std::vector<std::pair<std::string, std::string>> resources;  // kind, id
};

StateIds ReadIds(const std::vector<std::string>& state,
                 const std::string& dir) {
  std::vector<std::string> args = {"convert"};
  args.insert(args.end(), state.begin(), state.end());
  args.push_back("--to");
  args.push_back("json");
  const CliResult r = RunArbiter(args, dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  rapidjson::Document d;
  d.Parse(r.out.c_str(), r.out.size());
  EXPECT_FALSE(d.HasParseError());
  StateIds ids;
  if (d.HasParseError() || !d.IsObject()) return ids;
  for (const auto& p : d["principals"].GetArray()) {
    ids.principals.push_back(p["id"].GetString());
  }
  for (const char* kind :
       {"clouds", "projects", "workloads", "compute_configs", "images"}) {
    if (!d.HasMember(kind)) continue;
    for (const auto& x : d[kind].GetArray()) {
      ids.resources.emplace_back(kind, x["id"].GetString());
    }
  }
  return ids;
}

// Decides every (principal, permission, resource) of `triples` with `check
// --queries`; returns the ALLOWed ones as "principal|permission|resource".
std::set<std::string> AllowedByCheck(
    const std::vector<std::string>& state,
    const std::vector<std::array<std::string, 3>>& triples,
    const std::string& dir) {
  std::string lines;
  for (const auto& [p, perm, r] : triples) {
    absl::StrAppend(&lines, "{\"id\":\"", p, "|", perm, "|", r,
                    "\",\"principal\":\"", p, "\",\"permission\":\"", perm,
                    "\",\"resource\":\"", r, "\"}\n");
  }
  const std::string path = absl::StrCat(dir, "/queries_", getpid(), ".jsonl");
  WriteFileOrDie(path, lines);
  std::vector<std::string> args = {"check"};
  args.insert(args.end(), state.begin(), state.end());
  args.insert(args.end(), {"--queries", path, kAt});
  const CliResult r = RunArbiter(args, dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> allowed;
  for (absl::string_view line :
       absl::StrSplit(r.out, '\n', absl::SkipEmpty())) {
    rapidjson::Document d;
    d.Parse(line.data(), line.size());
    EXPECT_FALSE(d.HasParseError()) << line;
    if (d.HasParseError()) continue;
    if (std::string(d["effect"].GetString()) == "ALLOW") {
      allowed.insert(d["id"].GetString());
    }
  }
  return allowed;
}

// who-can and what-can on a state, against check on every triple: the
// demo, the demo without the org owner's explicit cloud grant (an org owner
// holding nothing but org_owner), and the generated state of size S.
TEST_F(CliLookupTest, WhoCanAndWhatCanAgreeWithCheck) {
  {
    const CliResult demo = Run({"demo", "--source"});
    ASSERT_EQ(demo.exit_code, 0);
    std::string owner_only;
    for (absl::string_view line : absl::StrSplit(demo.out, '\n')) {
      if (!absl::StrContains(line, "g_alice_prod_owner")) {
        absl::StrAppend(&owner_only, line, "\n");
      }
    }
    WriteFileOrDie(absl::StrCat(*dir_, "/owner_only.textproto"), owner_only);
  }
  const CliResult gen = cli_testing::RunProgram(
      ARBITER_MAKE_ORG_STATE_PATH,
      {"--size", "S", "--queries", "1", "--out", *dir_}, *dir_);
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  // A project permission, an own-workload one, a cloud one, an org one.
  const std::vector<std::string> permissions = {
      "project.view", "project.workload.delete", "cloud.delete",
      "org.images.use"};
  for (const std::vector<std::string>& state :
       std::vector<std::vector<std::string>>{
           {"--demo"}, {"owner_only.textproto"}, {"org.binpb"}}) {
    const StateIds ids = ReadIds(state, *dir_);
    ASSERT_FALSE(ids.principals.empty());
    // Principals for what-can: all of a small state, every 15th otherwise.
    std::vector<std::string> some_principals;
    const size_t step = ids.principals.size() > 20 ? 15 : 1;
    for (size_t i = 0; i < ids.principals.size(); i += step) {
      some_principals.push_back(ids.principals[i]);
    }
    // Resources for who-can: every cloud and project, some workloads.
    std::vector<std::string> some_resources;
    int workloads = 0;
    for (const auto& [kind, id] : ids.resources) {
      if (kind == "clouds" || kind == "projects" ||
          (kind == "workloads" && workloads++ < 5)) {
        some_resources.push_back(id);
      }
    }
    std::vector<std::array<std::string, 3>> triples;
    for (const std::string& perm : permissions) {
      for (const std::string& r : some_resources) {
        for (const std::string& p : ids.principals) {
          triples.push_back({p, perm, r});
        }
      }
      for (const std::string& p : some_principals) {
        for (const auto& [kind, r] : ids.resources) {
          if (kind == "workloads" || kind == "projects") {
            triples.push_back({p, perm, r});
          }
        }
      }
    }
    const std::set<std::string> allowed = AllowedByCheck(state, triples, *dir_);
    ASSERT_FALSE(allowed.empty());
    for (const std::string& perm : permissions) {
      for (const std::string& r : some_resources) {
        std::vector<std::string> args = {"who-can"};
        args.insert(args.end(), state.begin(), state.end());
        args.insert(args.end(),
                    {"--permission", perm, "--resource", r, "--json", kAt});
        const CliResult w = Run(args);
        ASSERT_EQ(w.exit_code, 0) << w.err;
        std::set<std::string> got, want;
        for (const std::string& id : Ids(ParseJson(w.out), "subjects")) {
          got.insert(id);
        }
        for (const std::string& p : ids.principals) {
          if (allowed.count(absl::StrCat(p, "|", perm, "|", r))) {
            want.insert(p);
          }
        }
        EXPECT_EQ(got, want) << state[0] << ": who-can " << perm << " " << r;
      }
      for (const std::string& p : some_principals) {
        for (const char* kind : {"workload", "project"}) {
          std::vector<std::string> args = {"what-can"};
          args.insert(args.end(), state.begin(), state.end());
          args.insert(args.end(), {"--principal", p, "--permission", perm,
                                   "--kind", kind, "--json", kAt});
          const CliResult w = Run(args);
          ASSERT_EQ(w.exit_code, 0) << w.err;
          std::set<std::string> got, want;
          for (const std::string& id : Ids(ParseJson(w.out), "resources")) {
            got.insert(id);
          }
          for (const auto& [k, r] : ids.resources) {
            if (k == absl::StrCat(kind, "s") &&
                allowed.count(absl::StrCat(p, "|", perm, "|", r))) {
              want.insert(r);
            }
          }
          EXPECT_EQ(got, want)
              << state[0] << ": what-can " << p << " " << perm << " " << kind;
        }
      }
    }
  }
}

// ---- Paging ----

// Follows the cursors of `args` with `page_size` to the end; returns the
// ids in order and the number of pages.
std::vector<std::string> AllPages(const std::vector<std::string>& args,
                                  const char* key, int page_size, int* pages,
                                  const std::string& dir) {
  std::vector<std::string> ids;
  std::string cursor;
  *pages = 0;
  for (;;) {
    std::vector<std::string> a = args;
    a.push_back("--json");
    a.push_back(absl::StrCat("--page-size=", page_size));
    if (!cursor.empty()) a.push_back("--cursor=" + cursor);
    const CliResult r = RunArbiter(a, dir);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (r.exit_code != 0) break;
    ++*pages;
    const rapidjson::Document d = ParseJson(r.out);
    const std::vector<std::string> page = Ids(d, key);
    EXPECT_LE(page.size(), static_cast<size_t>(page_size));
    ids.insert(ids.end(), page.begin(), page.end());
    if (d["complete"].GetBool()) {
      EXPECT_TRUE(d["next_cursor"].IsNull());
      break;
    }
    EXPECT_EQ(page.size(), static_cast<size_t>(page_size));
    cursor = d["next_cursor"].GetString();
    EXPECT_FALSE(cursor.empty());
    if (*pages > 100) {
      ADD_FAILURE() << "no end";
      break;
    }
  }
  return ids;
}

TEST_F(CliLookupTest, PagesConcatenateToTheWholeAnswer) {
  const std::vector<std::vector<std::string>> lookups = {
      {"who-can", "--demo", "--permission", "project.view", "--resource",
       "prod/web", kAt},
      {"what-can", "org.textproto", "--principal", "alice@acme.com",
       "--permission", "project.workload.terminate", "--kind", "workload", kAt},
  };
  for (const auto& args : lookups) {
    const char* key = args[0] == "who-can" ? "subjects" : "resources";
    std::vector<std::string> one_shot_args = args;
    one_shot_args.push_back("--json");
    const CliResult all = Run(one_shot_args);
    ASSERT_EQ(all.exit_code, 0) << all.err;
    const std::vector<std::string> expected = Ids(ParseJson(all.out), key);
    ASSERT_GE(expected.size(), 4u) << args[0];
    for (int size = 1; size <= static_cast<int>(expected.size()) + 1; ++size) {
      int pages = 0;
      const std::vector<std::string> ids =
          AllPages(args, key, size, &pages, *dir_);
      EXPECT_EQ(ids, expected) << args[0] << " page size " << size;
      // A full last page is followed by nothing more: exactly ceil(n/size).
      EXPECT_EQ(pages, (static_cast<int>(expected.size()) + size - 1) / size)
          << args[0] << " page size " << size;
    }
  }
}

TEST_F(CliLookupTest, TextPagesPrintTheNextCursor) {
  const std::vector<std::string> args = {
      "who-can",      "--demo",     "--permission",
      "project.view", "--resource", "prod/web",
      "--page-size",  "3",          kAt};
  CliResult r = Run(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out,
              HasSubstr("\n3 principals on this page (more follow; revision "
                        "1, at 2026-12-01T00:00:00Z)\nnext page: --cursor "));
  const std::string marker = "next page: --cursor ";
  std::string cursor = r.out.substr(r.out.find(marker) + marker.size());
  ASSERT_FALSE(cursor.empty());
  cursor.pop_back();  // the newline
  // Without --page-size a cursor continues to the end; without --at the
  // cursor's instant is used.
  r = Run({"who-can", "--demo", "--permission", "project.view", "--resource",
           "prod/web", "--cursor", cursor});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("PRINCIPAL  EMAIL           KIND  DECISION\n"
                                "usr_carol  carol@acme.com  user  GRANT "));
  EXPECT_THAT(r.out, HasSubstr("(complete; revision 1, at "
                               "2026-12-01T00:00:00Z)\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("usr_alice")));
}

TEST_F(CliLookupTest, BadCursorsAreRefused) {
  const std::vector<std::string> first = {
      "who-can",    "--demo",   "--permission", "project.view",
      "--resource", "prod/web", "--page-size",  "2",
      "--json",     kAt};
  const CliResult r = Run(first);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string cursor = ParseJson(r.out)["next_cursor"].GetString();
  auto with_cursor = [&](std::vector<std::string> args, const std::string& c) {
    args.push_back("--cursor");
    args.push_back(c);
    return args;
  };
  // Corrupted: every single-character change is caught, never a page.
  for (size_t i = 0; i < cursor.size(); i += 7) {
    std::string bad = cursor;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    const CliResult b = Run(with_cursor(first, bad));
    EXPECT_EQ(b.exit_code, 2) << bad;
    EXPECT_EQ(b.out, "");
    EXPECT_THAT(b.err, StartsWith("arbiter who-can: --cursor: ")) << bad;
  }
  CliResult b = Run(with_cursor(first, cursor.substr(0, cursor.size() / 2)));
  EXPECT_EQ(b.exit_code, 2);
  EXPECT_THAT(b.err, StartsWith("arbiter who-can: --cursor: "));
  b = Run(with_cursor(first, "not a cursor!"));
  EXPECT_EQ(b.exit_code, 2);
  EXPECT_THAT(b.err, StartsWith("arbiter who-can: --cursor: "));
  // Another lookup's cursor.
  b = Run(with_cursor({"who-can", "--demo", "--permission", "project.delete",
                       "--resource", "prod/web", kAt},
                      cursor));
  EXPECT_EQ(b.exit_code, 2);
  EXPECT_THAT(b.err, StartsWith("arbiter who-can: --cursor: "));
  b = Run(
      with_cursor({"what-can", "--demo", "--principal", "alice@acme.com",
                   "--permission", "project.view", "--kind", "project", kAt},
                  cursor));
  EXPECT_EQ(b.exit_code, 2);
  EXPECT_THAT(b.err, StartsWith("arbiter what-can: --cursor: "));
  // Another revision of the state: named, both revisions.
  b = Run(with_cursor({"who-can", "revision2.textproto", "--permission",
                       "project.view", "--resource", "prod/web", kAt},
                      cursor));
  EXPECT_EQ(b.exit_code, 2);
  EXPECT_EQ(b.err,
            "arbiter who-can: --cursor: issued at revision 1, but this "
            "snapshot is revision 2; start the lookup again without a "
            "cursor\n");
  // An --at that is not the cursor's instant.
  b = Run(
      with_cursor({"who-can", "--demo", "--permission", "project.view",
                   "--resource", "prod/web", "--at", "2027-01-01T00:00:00Z"},
                  cursor));
  EXPECT_EQ(b.exit_code, 2);
  EXPECT_EQ(b.err,
            "arbiter who-can: --at: the cursor continues a lookup judged at "
            "2026-12-01T00:00:00Z, not 2027-01-01T00:00:00Z; leave out --at, "
            "or start again without --cursor\n");
}

// ---- Errors ----

TEST_F(CliLookupTest, UnknownNamesAreInputErrorsWithSuggestions) {
  struct Case {
    std::vector<std::string> args;
    std::string err;
  };
  const std::vector<Case> cases = {
      {{"who-can", "--demo", "--permission", "project.veiw", "--resource",
        "prod/web"},
       "arbiter who-can: --permission: no permission \"project.veiw\" (did "
       "you mean project.view?)\n"},
      {{"who-can", "--demo", "--permission", "project.view", "--resource",
        "prod/wbe"},
       "arbiter who-can: --resource: no resource \"prod/wbe\" (did you mean "
       "prod/web?)\n"},
      {{"who-can", "--demo", "--permission", "project.view", "--resource",
        "prod/web", "--org", "acne"},
       "arbiter who-can: --org: no organization \"acne\" (or its name is "
       "ambiguous) (did you mean acme?)\n"},
      {{"what-can", "--demo", "--principal", "erin@acme.con", "--permission",
        "project.view", "--kind", "project"},
       "arbiter what-can: --principal: no principal \"erin@acme.con\" (did "
       "you mean erin@acme.com?)\n"},
      {{"what-can", "--demo", "--principal", "erin@acme.com", "--permission",
        "project.view", "--kind", "project", "--within", "prod/web/storefront"},
       "arbiter what-can: --within: \"prod/web/storefront\" is a workload; "
       "give an organization, a cloud or a project\n"},
      {{"permissions", "--demo", "--principal", "erin@acme.com", "--resource",
        "prod/ml-prd"},
       "arbiter permissions: --resource: no resource \"prod/ml-prd\" (did you "
       "mean prod/ml-prod?)\n"},
      // Names that need an organization, in a state with two.
      {{"who-can", "two_orgs.textproto", "--permission", "project.view",
        "--resource", "main/secret"},
       "arbiter who-can: --resource: no resource \"main/secret\" (a path "
       "needs --org: the snapshot has several organizations)\n"},
      {{"what-can", "two_orgs.textproto", "--principal", "sam@example.com",
        "--permission", "project.view", "--kind", "project"},
       "arbiter what-can: --principal: \"sam@example.com\" names principals "
       "of several organizations; pass --org\n"},
      {{"permissions", "two_orgs.textproto"},
       "arbiter permissions: --org: the snapshot has 2 organizations; name "
       "one with --org\n"},
      {{"permissions", "--demo", "--principal", "nobody@acme.com"},
       "arbiter permissions: --principal: no principal \"nobody@acme.com\"\n"},
  };
  for (const Case& c : cases) {
    const CliResult r = Run(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args[0];
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, c.err);
  }
}

TEST_F(CliLookupTest, UsageErrors) {
  struct Case {
    std::vector<std::string> args;
    std::string err;
  };
  const std::vector<Case> cases = {
      {{"who-can", "--demo", "--resource", "prod"},
       "arbiter who-can: missing --permission (see 'arbiter who-can "
       "--help')\n"},
      {{"who-can", "--permission", "cloud.view", "--resource", "prod"},
       "arbiter who-can: missing FILE (or --demo) (see 'arbiter who-can "
       "--help')\n"},
      {{"who-can", "--demo", "--permission", "cloud.view", "--resource", "prod",
        "--principals", "robots"},
       "arbiter who-can: --principals: \"robots\" is not users, "
       "service-accounts or all (see 'arbiter who-can --help')\n"},
      {{"who-can", "--demo", "--permission", "cloud.view", "--resource", "prod",
        "--page-size", "0"},
       "arbiter who-can: --page-size: \"0\" is not a whole number from 1 to "
       "1000000 (see 'arbiter who-can --help')\n"},
      {{"who-can", "--demo", "--permission", "cloud.view", "--resource", "prod",
        "--page-size", "-5"},
       "arbiter who-can: --page-size: \"-5\" is not a whole number from 1 to "
       "1000000 (see 'arbiter who-can --help')\n"},
      {{"who-can", "--demo", "--permission", "cloud.view", "--resource", "prod",
        "--page-size", "1000001"},
       "arbiter who-can: --page-size: \"1000001\" is not a whole number from "
       "1 to 1000000 (see 'arbiter who-can --help')\n"},
      {{"who-can", "--demo", "--permission", "cloud.view", "--resource", "prod",
        "--cursor="},
       "arbiter who-can: --cursor: empty (leave the flag out for the first "
       "page) (see 'arbiter who-can --help')\n"},
      {{"what-can", "--demo", "--principal", "erin@acme.com", "--permission",
        "cloud.view"},
       "arbiter what-can: missing --kind (see 'arbiter what-can --help')\n"},
      {{"what-can", "--demo", "--principal", "erin@acme.com", "--permission",
        "cloud.view", "--kind", "org"},
       "arbiter what-can: --kind: \"org\" is not workload, project, cloud, "
       "compute-config or image (see 'arbiter what-can --help')\n"},
      {{"what-can", "--demo", "--principal", "erin@acme.com", "--permission",
        "cloud.view", "--kind", "cloud", "--channel", "fax"},
       "arbiter what-can: --channel: unknown channel \"fax\" (api or "
       "console) (see 'arbiter what-can --help')\n"},
      {{"permissions", "--demo", "--resource", "prod"},
       "arbiter permissions: --resource needs --principal (who-can lists the "
       "principals of a resource) (see 'arbiter permissions --help')\n"},
      {{"permissions", "--demo", "--page-size", "2"},
       "arbiter permissions: unknown flag --page-size (see 'arbiter "
       "permissions --help')\n"},
  };
  for (const Case& c : cases) {
    const CliResult r = Run(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args[0];
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, c.err);
  }
}

TEST_F(CliLookupTest, EveryCommandHasHelp) {
  for (const char* command : {"who-can", "what-can", "permissions", "diff"}) {
    const CliResult r = Run({command, "--help"});
    EXPECT_EQ(r.exit_code, 0) << command;
    EXPECT_THAT(r.out, StartsWith(absl::StrCat("Usage: arbiter ", command)));
    EXPECT_THAT(r.out, HasSubstr("--demo"));
    EXPECT_THAT(r.out, HasSubstr("--json"));
    EXPECT_EQ(Run({"help", command}).out, r.out);
  }
  // Names up to 8 characters keep the summaries in one column; a longer
  // one puts its summary on the next line, in that column.
  const CliResult main = Run({"--help"});
  for (const char* line :
       {"\n  who-can   list every principal that holds a permission on a "
        "resource\n",
        "\n  what-can  list every resource of a kind on which a principal "
        "holds a permission\n",
        "\n  permissions\n            effective access: the report of every "
        "principal, or what one may do\n",
        "\n  diff      compare the access two states give; gate on new access "
        "(CI)\n"}) {
    EXPECT_THAT(main.out, HasSubstr(line));
  }
}

// ---- permissions ----

TEST_F(CliLookupTest, PermissionsOfOnePrincipal) {
  const CliResult r = Run(
      {"permissions", "org.textproto", "--principal", "grace@acme.com", kAt});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "organization org_123 (revision 1, at 2026-12-01T00:00:00Z)\n"
            "users:\n"
            "  grace@acme.com (usr_grace): org role org_collaborator\n"
            "    cloud research (cld_research): cloud_readonly  [GRANT]\n"
            "      holds cloud_readonly (grant g_grace_research, direct)\n"
            "      project ml-research (prj_ml_research): project_readonly  "
            "[GRANT]\n"
            "        holds project_readonly (grant g_grace_ml_research, "
            "direct) until 2027-01-01T00:00:00Z\n"
            "      project default (prj_research_default): project_readonly  "
            "[PUBLIC_PROJECT]\n");
}

TEST_F(CliLookupTest, PermissionsReportOfTheWholeOrganizationAsJson) {
  const CliResult r = Run({"permissions", "--demo", "--json", kAt});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const rapidjson::Document d = ParseJson(r.out);
  EXPECT_STREQ(d["organization_id"].GetString(), "org_123");
  EXPECT_STREQ(d["at"].GetString(), "2026-12-01T00:00:00Z");
  std::vector<std::string> owners, users;
  for (const auto& o : d["org_owners"].GetArray()) {
    owners.push_back(o["user_id"].GetString());
  }
  for (const auto& u : d["users"].GetArray()) {
    users.push_back(u["user_id"].GetString());
  }
  EXPECT_THAT(owners, ElementsAre("usr_alice"));
  // Every active principal but the owner; not ivan (invited) nor judy
  // (deleted).
  EXPECT_THAT(users,
              UnorderedElementsAre("sa_ci", "usr_bob", "usr_carol", "usr_dave",
                                   "usr_erin", "usr_frank", "usr_grace",
                                   "usr_heidi", "usr_kim", "usr_mallory"));
  // Heidi: cloud_read_only caps her collaborator role to read-only.
  for (const auto& u : d["users"].GetArray()) {
    if (std::string(u["user_id"].GetString()) != "usr_heidi") continue;
    ASSERT_EQ(u["clouds"].Size(), 1u);
    EXPECT_STREQ(u["clouds"][0]["role"].GetString(), "cloud_readonly");
    std::vector<std::string> deny;
    for (const auto& h : u["clouds"][0]["held"].GetArray()) {
      if (h["deny"].GetBool()) deny.push_back(h["role"].GetString());
    }
    EXPECT_THAT(deny, ElementsAre("cloud_read_only"));
  }
}

TEST_F(CliLookupTest, PermissionsOnOneResource) {
  CliResult r = Run({"permissions", "--demo", "--principal", "heidi@acme.com",
                     "--resource", "prod/web", kAt});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "org.api_keys.manage_own\norg.images.use\norg.images.deploy_base\n"
            "cloud.view\ncloud.projects.list\ncloud.compute_configs.view\n"
            "cloud.compute_configs.use\nproject.view\nproject.workload.view\n");
  r = Run({"permissions", "--demo", "--principal", "erin@acme.com",
           "--resource", "prod/ml-prod/dave-notebook", "--json", kAt});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const rapidjson::Document d = ParseJson(r.out);
  std::set<std::string> names;
  for (const auto& p : d["permissions"].GetArray()) {
    names.insert(p.GetString());
  }
  // Write on ml-prod, but not delete: dave created the notebook.
  EXPECT_TRUE(names.count("project.workload.terminate"));
  EXPECT_FALSE(names.count("project.workload.delete"));
  // Every name listed agrees with check.
  for (const std::string& name : names) {
    const CliResult c = Run({"check", "--demo", "-q", "--principal",
                             "erin@acme.com", "--permission", name,
                             "--resource", "prod/ml-prod/dave-notebook", kAt});
    EXPECT_EQ(c.exit_code, 0) << name;
  }
  const CliResult c =
      Run({"check", "--demo", "-q", "--principal", "erin@acme.com",
           "--permission", "project.workload.delete", "--resource",
           "prod/ml-prod/dave-notebook", kAt});
  EXPECT_EQ(c.exit_code, 1);
}

// ---- diff ----

TEST_F(CliLookupTest, DiffPrintsTheChanges) {
  const CliResult r =
      Run({"diff", "diff_before.textproto", "diff_after.textproto", kAt});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out,
            "before: diff_before.textproto (revision 1), after: "
            "diff_after.textproto (revision 2), at 2026-12-01T00:00:00Z\n"
            "usr_ben <ben@example.com> on project prj_app (main/app)\n"
            "  - project.workload.create\n"
            "  - project.workload.update\n"
            "  - project.workload.terminate\n"
            "usr_cat <cat@example.com> on project prj_app (main/app)\n"
            "  + project.view\n"
            "  + project.workload.create\n"
            "  + project.workload.view\n"
            "  + project.workload.update\n"
            "  + project.workload.terminate\n"
            "2 changes for 2 principals: 5 permissions gained, 3 lost; new "
            "access: yes\n"
            "resources added 0, removed 0; principals added 0, removed 0; "
            "compared 2 principals in full, 1 unchanged\n");
}

TEST_F(CliLookupTest, DiffGateExitCodes) {
  CliResult r = Run({"diff", "diff_before.textproto", "diff_after.textproto",
                     "--no-new-access", "--max-witnesses", "2", kAt});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out,
            "before: diff_before.textproto (revision 1), after: "
            "diff_after.textproto (revision 2), at 2026-12-01T00:00:00Z\n"
            "NEW ACCESS: diff_after.textproto allows what "
            "diff_before.textproto does not; witnesses (at most 2):\n"
            "  usr_cat <cat@example.com> project.view on prj_app (main/app): "
            "GRANT grant=g_cat_app\n"
            "  usr_cat <cat@example.com> project.workload.create on prj_app "
            "(main/app): GRANT grant=g_cat_app\n");
  // Taking access away is no new access.
  r = Run({"diff", "diff_before.textproto", "diff_revoked.textproto",
           "--no-new-access", kAt});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "before: diff_before.textproto (revision 1), after: "
            "diff_revoked.textproto (revision 2), at 2026-12-01T00:00:00Z\n"
            "no new access: diff_revoked.textproto allows nothing that "
            "diff_before.textproto does not\n");
  // The other way round, it is.
  r = Run({"diff", "diff_revoked.textproto", "diff_before.textproto",
           "--no-new-access", kAt});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.out, HasSubstr("  usr_ben <ben@example.com> project.view on "
                               "prj_app (main/app): GRANT grant=g_ben_app\n"));
  // Without the gate, changes exit 0.
  r = Run({"diff", "diff_revoked.textproto", "diff_before.textproto", kAt});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // A state compared with itself: nothing.
  r = Run({"diff", "diff_before.textproto", "diff_before.textproto", kAt});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\n0 changes for 0 principals: 0 permissions "
                               "gained, 0 lost; new access: no\n"));
  // --demo is BEFORE.
  r = Run({"diff", "--demo", "org.textproto", "--no-new-access", kAt});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("before: demo (revision 1), after: "
                                "org.textproto (revision 1)"));
  // The same content at another revision: nothing changes.
  r = Run({"diff", "--demo", "revision2.textproto", "--no-new-access", kAt});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
}

TEST_F(CliLookupTest, AccessToANewProjectIsNewAccess) {
  // AFTER adds a private project with a grant on it: its owners and the
  // grant's holder may do there what nobody could before, so the gate
  // fails closed, with a witness on the new project, and says on stderr
  // that such access is witnessed but not listed.
  const std::string before =
      cli_testing::ReadFileOrDie(absl::StrCat(*dir_, "/diff_before.textproto"));
  const std::string project =
      "projects { id: \"prj_new\" cloud_id: \"cld_main\" name: \"new\" "
      "visibility: VISIBILITY_PRIVATE }\n"
      "grants { id: \"g_cat_new\" principal_id: \"usr_cat\" role: "
      "\"project_owner\" project_id: \"prj_new\" }\n";
  WriteFileOrDie(absl::StrCat(*dir_, "/added.textproto"), before + project);
  const std::string note =
      "arbiter diff: note: 1 resource only in added.textproto and 0 "
      "resources only in diff_before.textproto: any access to an "
      "organization, cloud or project of AFTER only is new access "
      "(witnessed, not listed as changes)\n";
  CliResult r = Run({"diff", "diff_before.textproto", "added.textproto",
                     "--no-new-access", "--json", kAt});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err, note);
  rapidjson::Document d = ParseJson(r.out);
  EXPECT_TRUE(d["new_access"].GetBool());
  ASSERT_EQ(d["witnesses"].Size(), 1u);
  EXPECT_STREQ(d["witnesses"][0]["resource_id"].GetString(), "prj_new");

  // With a new principal holding a cloud grant as well: its access comes
  // first among the witnesses (principals' changes, then new scopes).
  WriteFileOrDie(
      absl::StrCat(*dir_, "/added.textproto"),
      before + project +
          "principals { id: \"usr_dan\" org_id: \"org_1\" kind: "
          "PRINCIPAL_KIND_USER email: \"dan@example.com\" }\n"
          "grants { id: \"g_dan_main\" principal_id: \"usr_dan\" role: "
          "\"cloud_readonly\" cloud_id: \"cld_main\" }\n");
  r = Run({"diff", "diff_before.textproto", "added.textproto",
           "--no-new-access", "--json", "--max-witnesses", "100", kAt});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  d = ParseJson(r.out);
  ASSERT_GE(d["witnesses"].Size(), 2u);
  EXPECT_STREQ(d["witnesses"][0]["principal_id"].GetString(), "usr_dan");
  const auto& last = d["witnesses"][d["witnesses"].Size() - 1];
  EXPECT_STREQ(last["resource_id"].GetString(), "prj_new");
  // The full diff: the same note; the summary counts the new project and
  // the new principal; the changes list usr_dan's (on the organization,
  // the cloud and the public default project), nothing on prj_new.
  r = Run({"diff", "diff_before.textproto", "added.textproto", "--json", kAt});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, note);
  const rapidjson::Document full = ParseJson(r.out);
  EXPECT_TRUE(full["new_access"].GetBool());
  EXPECT_STREQ(full["summary"]["principals_added"].GetString(), "1");
  EXPECT_STREQ(full["summary"]["resources_added"].GetString(), "1");
  ASSERT_EQ(full["changes"].Size(), 3u);
  for (const auto& c : full["changes"].GetArray()) {
    EXPECT_STREQ(c["principal_id"].GetString(), "usr_dan");
    EXPECT_STRNE(c["resource_id"].GetString(), "prj_new");
  }
}

TEST_F(CliLookupTest, DiffJson) {
  const CliResult r = Run(
      {"diff", "diff_before.textproto", "diff_after.textproto", "--json", kAt});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const rapidjson::Document d = ParseJson(r.out);
  EXPECT_TRUE(d["new_access"].GetBool());
  // uint64 fields are strings in protobuf's JSON mapping.
  EXPECT_STREQ(d["before_revision"].GetString(), "1");
  EXPECT_STREQ(d["after_revision"].GetString(), "2");
  EXPECT_STREQ(d["summary"]["changes"].GetString(), "2");
  EXPECT_STREQ(d["summary"]["gained"].GetString(), "5");
  EXPECT_STREQ(d["summary"]["lost"].GetString(), "3");
  ASSERT_EQ(d["changes"].Size(), 2u);
  EXPECT_STREQ(d["changes"][0]["principal_id"].GetString(), "usr_ben");
  EXPECT_STREQ(d["changes"][0]["resource_id"].GetString(), "prj_app");
  EXPECT_EQ(d["changes"][0]["gained"].Size(), 0u);
  EXPECT_EQ(d["changes"][0]["lost"].Size(), 3u);
  EXPECT_STREQ(d["changes"][1]["principal_id"].GetString(), "usr_cat");
  EXPECT_EQ(d["changes"][1]["gained"].Size(), 5u);
}

TEST_F(CliLookupTest, DiffUsageAndInputErrors) {
  struct Case {
    std::vector<std::string> args;
    std::string err;
  };
  const std::vector<Case> cases = {
      {{"diff", "diff_before.textproto"},
       "arbiter diff: give two files, BEFORE and AFTER (or --demo and AFTER); "
       "got 1 (see 'arbiter diff --help')\n"},
      {{"diff", "--demo", "a.textproto", "b.textproto"},
       "arbiter diff: with --demo (the BEFORE state), give one AFTER file; "
       "got 2 (see 'arbiter diff --help')\n"},
      {{"diff", "-", "-"},
       "arbiter diff: BEFORE and AFTER cannot both come from standard input "
       "(see 'arbiter diff --help')\n"},
      {{"diff", "diff_before.textproto", "diff_after.textproto",
        "--max-witnesses", "3"},
       "arbiter diff: --max-witnesses belongs to --no-new-access (see "
       "'arbiter diff --help')\n"},
      {{"diff", "diff_before.textproto", "missing.textproto"},
       "arbiter diff: missing.textproto: No such file or directory\n"},
  };
  for (const Case& c : cases) {
    const CliResult r = Run(c.args);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, c.err);
  }
}

// ---- arbiter test: lookup expectations ----

TEST_F(CliLookupTest, ExampleSuiteWithLookupsPasses) {
  const CliResult r = Run({"test", "acme_test.textproto", "-v"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out,
              HasSubstr("PASS acme_test.textproto:59: who sees the private "
                        "project ml-prod (not bob, a cloud owner)\n"));
  EXPECT_THAT(r.out, HasSubstr("acme_test.textproto: 13 cases, 13 passed, 0 "
                               "failed\n"));
}

TEST_F(CliLookupTest, LookupCaseFailuresListMissingAndUnexpected) {
  const CliResult r = Run({"test", "lookup_failing_test.textproto"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(
      r.out,
      "FAIL lookup_failing_test.textproto:13: a typo is missing, not ignored\n"
      "     lookup:     what-can erin@acme.com project.workload.view workload "
      "within=prod/ml-prod at=2026-12-01T00:00:00Z\n"
      "     expected:   wl_dave_notebok wl_nightly_etl\n"
      "     got:        wl_dave_notebook wl_nightly_etl\n"
      "     missing:    wl_dave_notebok (unknown)\n"
      "     unexpected: wl_dave_notebook\n"
      "FAIL lookup_failing_test.textproto:19: an unknown principal is an "
      "error\n"
      "     lookup:     what-can erin@acme.co project.view project "
      "at=2026-12-01T00:00:00Z\n"
      "     expected:   (none)\n"
      "     error:      principal: no principal \"erin@acme.co\"\n"
      "FAIL lookup_failing_test.textproto:8: bob does not see ml-prod, and "
      "kim is forgotten\n"
      "     lookup:     who-can project.view prod/ml-prod "
      "at=2026-12-01T00:00:00Z\n"
      "     expected:   alice@acme.com bob@acme.com dave@acme.com sa_ci "
      "usr_erin\n"
      "     got:        sa_ci usr_alice usr_dave usr_erin usr_kim\n"
      "     missing:    bob@acme.com\n"
      "     unexpected: usr_kim\n"
      "FAIL lookup_failing_test.textproto:23: heidi cannot create workloads "
      "on web\n"
      "     lookup:     permissions heidi@acme.com on prod/web "
      "at=2026-12-01T00:00:00Z\n"
      "     expected:   project.view project.workload.create "
      "project.workload.view\n"
      "     got:        cloud.compute_configs.use cloud.compute_configs.view "
      "cloud.projects.list cloud.view org.api_keys.manage_own "
      "org.images.deploy_base org.images.use project.view "
      "project.workload.view\n"
      "     missing:    project.workload.create\n"
      "     unexpected: cloud.compute_configs.use cloud.compute_configs.view "
      "cloud.projects.list cloud.view org.api_keys.manage_own "
      "org.images.deploy_base org.images.use\n"
      "lookup_failing_test.textproto: 5 cases, 1 passed, 4 failed\n");
}

TEST_F(CliLookupTest, MalformedLookupCasesAreListed) {
  const CliResult r = Run({"test", "lookup_malformed_test.textproto"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(
      r.err,
      "arbiter test: lookup_malformed_test.textproto:3: lookup_resources[0]: "
      "missing permission\n"
      "arbiter test: lookup_malformed_test.textproto:3: "
      "lookup_resources[0].kind: unknown kind \"workloads\" (workload, "
      "project, cloud, compute-config, image)\n"
      "arbiter test: lookup_malformed_test.textproto:3: "
      "lookup_resources[0].expect[1]: \"a\" is listed twice\n"
      "arbiter test: lookup_malformed_test.textproto:4: lookup_subjects[0]: "
      "missing resource\n"
      "arbiter test: lookup_malformed_test.textproto:4: "
      "lookup_subjects[0].principals: unknown value \"robots\" (users, "
      "service-accounts or all)\n"
      "arbiter test: lookup_malformed_test.textproto:4: "
      "lookup_subjects[0].channel: unknown channel \"fax\" (api or console)\n"
      "arbiter test: lookup_malformed_test.textproto:5: list_permissions[0]: "
      "missing resource\n"
      "arbiter test: lookup_malformed_test.textproto:5: "
      "list_permissions[0].at: invalid RFC 3339 time \"tomorrow\" (e.g. "
      "2026-12-01T00:00:00Z)\n");
}

// ---- The JSON writer of the large outputs ----

// AppendProtoJson and protobuf's printer give the same JSON value.
void ExpectSameJson(const google::protobuf::Message& m) {
  std::string fast;
  ASSERT_TRUE(cli::AppendProtoJson(m, &fast).ok());
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string slow;
  ASSERT_TRUE(
      google::protobuf::util::MessageToJsonString(m, &slow, options).ok());
  rapidjson::Document a, b;
  a.Parse(fast.c_str(), fast.size());
  b.Parse(slow.c_str(), slow.size());
  ASSERT_FALSE(a.HasParseError()) << fast;
  ASSERT_FALSE(b.HasParseError()) << slow;
  EXPECT_TRUE(a == b) << m.GetDescriptor()->full_name() << "\n"
                      << fast << "\n"
                      << slow;
}

TEST(ProtoJsonTest, SameValueAsProtobufsPrinter) {
  absl::StatusOr<std::unique_ptr<const Engine>> engine =
      Engine::Create(DemoPolicySet());
  ASSERT_TRUE(engine.ok()) << engine.status();
  const std::unique_ptr<const Lookup> lookup = Lookup::Create(**engine);
  for (bool permissions : {false, true}) {
    AccessReportRequest request;
    request.include_permissions = permissions;
    request.context.now = absl::FromUnixSeconds(1796083200);  // 2026-12-01
    absl::StatusOr<v1::AccessReport> report = lookup->EffectiveAccess(request);
    ASSERT_TRUE(report.ok()) << report.status();
    ASSERT_GT(report->users_size(), 5);
    ExpectSameJson(*report);
  }
  // Expiry instants with fractions, unset messages, enums by number.
  v1::AccessReport report;
  report.set_organization_id("o\"<&>\u00e9\x01");
  report.set_revision(18446744073709551615u);
  report.mutable_at()->set_seconds(1796083200);
  report.mutable_at()->set_nanos(5000000);
  v1::UserAccess* user = report.add_users();
  user->set_kind(static_cast<v1::PrincipalKind>(7));
  v1::HeldRole* held = user->add_held();
  held->mutable_expires_at()->set_nanos(123456789);
  user->add_held()->mutable_expires_at()->set_nanos(123456000);
  ExpectSameJson(report);
  // The diff of the demo with itself (timestamps, uint64 counters), and a
  // message the writer hands to protobuf (a map).
  DiffOptions options;
  options.now = absl::FromUnixSeconds(1796083200);
  absl::StatusOr<v1::PolicyDiff> diff = DiffPolicies(*lookup, *lookup, options);
  ASSERT_TRUE(diff.ok()) << diff.status();
  ExpectSameJson(*diff);
  v1::TestSuite suite;
  (*suite.mutable_options())["k"] = "v";
  suite.set_demo(true);
  suite.add_lookup_subjects()->add_expect("usr_a");
  ExpectSameJson(suite);
}

}  // namespace
}  // namespace arbiter
