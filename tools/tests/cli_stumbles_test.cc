// Regression tests for the CLI stumbles of issue 13: requests that name
// unknown things exit 2 with "did you mean"; the query stream counts them;
// `validate` exits 2 on a file that does not parse; an empty test suite
// fails; `convert` refuses invalid UTF-8; explain cites documents that exist,
// names the right implicit rule and accounts for expired grants.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/suggest.h"
#include "tools/tests/run_cli.h"

namespace arbiter {
namespace {

using cli_testing::CliResult;
using cli_testing::CountLines;
using cli_testing::ReadFileOrDie;
using cli_testing::RunArbiter;
using cli_testing::WriteFileOrDie;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

const char kAt[] = "--at=2026-12-01T00:00:00Z";

class CliStumblesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(cli_testing::MakeScratchDir("stumbles"));
    ASSERT_EQ(std::system(absl::StrCat("cp -r '", ARBITER_CLI_TESTDATA, "'/. '",
                                       *dir_, "'")
                              .c_str()),
              0);
  }
  static void TearDownTestSuite() {
    std::error_code ignored;
    std::filesystem::remove_all(*dir_, ignored);
    delete dir_;
    dir_ = nullptr;
  }
  static CliResult Run(const std::vector<std::string>& args,
                       const std::string& stdin_file = "") {
    return RunArbiter(args, *dir_, stdin_file.empty() ? "" : Path(stdin_file));
  }
  static std::string Path(const std::string& name) {
    return absl::StrCat(*dir_, "/", name);
  }
  static void Write(const std::string& name, const std::string& data) {
    WriteFileOrDie(Path(name), data);
  }

  static std::string* dir_;
};

std::string* CliStumblesTest::dir_ = nullptr;

// ---- "Did you mean": the candidates ----

TEST(SuggestTest, EditDistanceCountsSwapsAsOne) {
  EXPECT_EQ(cli::EditDistance("project.veiw", "project.view", 5, false), 1u);
  EXPECT_EQ(cli::EditDistance("kitten", "sitting", 5, false), 3u);
  EXPECT_EQ(cli::EditDistance("", "abc", 5, false), 3u);
  EXPECT_EQ(cli::EditDistance("BOB@ACME.COM", "bob@acme.com", 5, true), 0u);
  // Ten letters differ: over the limit of 5.
  EXPECT_EQ(cli::EditDistance("BOB@ACME.COM", "bob@acme.com", 5, false), 6u);
  // Past the limit it stops and reports limit + 1.
  EXPECT_EQ(cli::EditDistance("aaaaaaaaaa", "bbbbbbbbbb", 2, false), 3u);
  EXPECT_EQ(cli::EditDistance("a", "abcdefgh", 2, false), 3u);
}

TEST(SuggestTest, ClosestNamesNearestFirstThenSubstrings) {
  const std::vector<std::string> perms = {
      "project.view", "project.workload.view", "project.workload.create",
      "cloud.view", "project.delete"};
  EXPECT_THAT(cli::ClosestNames("project.veiw", perms),
              ElementsAre("project.view"));
  // Nothing within the distance: names that contain the query.
  EXPECT_THAT(cli::ClosestNames("workload.create", perms),
              ElementsAre("project.workload.create"));
  EXPECT_THAT(cli::ClosestNames("frobnicate", perms), IsEmpty());
  EXPECT_THAT(cli::ClosestNames("", perms), IsEmpty());
  EXPECT_THAT(cli::ClosestNames(std::string(1000, 'x'), perms), IsEmpty());
  // At most `max`, ties in byte order, the query itself left out.
  EXPECT_THAT(cli::ClosestNames("ab", {"ab", "ac", "ad", "ae", "af"}, 3),
              ElementsAre("ac", "ad", "ae"));
}

// ---- 1. One-shot check of unknown names: exit 2, with suggestions ----

TEST_F(CliStumblesTest, UnknownPermissionExitsTwoWithSuggestion) {
  const CliResult r =
      Run({"check", "--demo", "--principal", "bob@acme.com", "--permission",
           "project.veiw", "--resource", "prod/web", kAt});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "DENY UNKNOWN_PERMISSION revision=1\n");
  EXPECT_EQ(r.err,
            "arbiter check: unknown permission \"project.veiw\" (did you "
            "mean project.view?)\n");
}

TEST_F(CliStumblesTest, EveryUnknownInputIsNamedWithItsClosestNames) {
  const CliResult r =
      Run({"check", "--demo", "--principal", "bobb@acme.com", "--permission",
           "workload.create", "--resource", "prod/ml-prd", kAt});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "DENY UNKNOWN_PRINCIPAL revision=1\n");
  EXPECT_EQ(CountLines(r.err), 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("unknown principal \"bobb@acme.com\" (did "
                               "you mean bob@acme.com?)"));
  EXPECT_THAT(r.err, HasSubstr("unknown permission \"workload.create\" (did "
                               "you mean project.workload.create?)"));
  EXPECT_THAT(r.err, HasSubstr("unknown resource \"prod/ml-prd\" (did you "
                               "mean prod/ml-prod?)"));
}

TEST_F(CliStumblesTest, UnknownIdsAndPathsGetSuggestions) {
  CliResult r =
      Run({"check", "--demo", "--principal", "usr_bobb", "--permission",
           "project.view", "--resource", "prj_ml_prd", kAt});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown principal \"usr_bobb\" (did you "
                               "mean usr_bob?)"));
  EXPECT_THAT(r.err, HasSubstr("unknown resource \"prj_ml_prd\" (did you "
                               "mean prj_ml_prod?)"));

  r = Run({"check", "--demo", "--principal", "bob@acme.com", "--permission",
           "project.workload.view", "--resource", "prod/ml-prod/nightly-et",
           kAt});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "arbiter check: unknown resource \"prod/ml-prod/nightly-et\" "
            "(did you mean prod/ml-prod/nightly-etl?)\n");

  // No close name: still the reason, and where to look.
  r = Run({"check", "--demo", "--principal", "bob@acme.com", "--permission",
           "frobnicate", "--resource", "prod", kAt});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "arbiter check: unknown permission \"frobnicate\" ('arbiter "
            "profile' lists the permissions)\n");
}

TEST_F(CliStumblesTest, UnknownOrganizationAndAmbiguousEmail) {
  CliResult r =
      Run({"check", "--demo", "--principal", "bob@acme.com", "--permission",
           "cloud.view", "--resource", "prod", "--org", "acmee", kAt});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown organization \"acmee\" (did you "
                               "mean acme?)"));

  r = Run({"check", "two_orgs.textproto", "--principal", "sam@example.com",
           "--permission", "project.view", "--resource", "main/secret"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "DENY AMBIGUOUS_PRINCIPAL revision=7\n");
  EXPECT_THAT(r.err, HasSubstr("several organizations (alpha, beta); name "
                               "one with --org"));
}

TEST_F(CliStumblesTest, QuietAndJsonStillExplainOnStderr) {
  CliResult r =
      Run({"check", "--demo", "-q", "--principal", "bob@acme.com",
           "--permission", "project.veiw", "--resource", "prod/web", kAt});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("did you mean project.view?"));

  r = Run({"check", "--demo", "--json", "--principal", "bob@acme.com",
           "--permission", "project.veiw", "--resource", "prod/web", kAt});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, HasSubstr("\"reason\":\"UNKNOWN_PERMISSION\""));
  EXPECT_THAT(r.err, HasSubstr("did you mean project.view?"));
}

TEST_F(CliStumblesTest, RealDenyStillExitsOneQuietly) {
  const CliResult r =
      Run({"check", "--demo", "--principal", "bob@acme.com", "--permission",
           "project.view", "--resource", "prod/ml-prod", kAt});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "");
}

TEST_F(CliStumblesTest, QueryStreamKeepsUnknownRowsAndCountsThem) {
  Write("unknown_queries.jsonl",
        "{\"id\":1,\"principal\":\"bob@acme.com\",\"permission\":"
        "\"project.view\",\"resource\":\"prod/web\"}\n"
        "{\"id\":2,\"principal\":\"nobody@acme.com\",\"permission\":"
        "\"project.view\",\"resource\":\"prod/web\"}\n"
        "{\"id\":3,\"principal\":\"bob@acme.com\",\"permission\":"
        "\"project.veiw\",\"resource\":\"prod/web\"}\n"
        "{\"id\":4,\"principal\":\"bob@acme.com\",\"permission\":"
        "\"project.view\",\"resource\":\"prod/nope\"}\n"
        "{\"id\":5,\"principal\":\"bob@acme.com\",\"permission\":"
        "\"project.view\",\"resource\":\"prod/nope2\"}\n");
  const CliResult r = Run({"check", "--demo", "--queries",
                           "unknown_queries.jsonl", kAt, "--stats"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> rows = absl::StrSplit(r.out, '\n');
  ASSERT_EQ(rows.size(), 6u) << r.out;
  EXPECT_THAT(rows[0], HasSubstr("\"effect\":\"ALLOW\""));
  EXPECT_THAT(rows[1], HasSubstr("\"reason\":\"UNKNOWN_PRINCIPAL\""));
  EXPECT_THAT(rows[2], HasSubstr("\"reason\":\"UNKNOWN_PERMISSION\""));
  EXPECT_THAT(rows[3], HasSubstr("\"reason\":\"UNKNOWN_RESOURCE\""));
  EXPECT_THAT(rows[4], HasSubstr("\"reason\":\"UNKNOWN_RESOURCE\""));
  EXPECT_THAT(r.err,
              HasSubstr("\nunknown: 4 of 5 decisions named what the state "
                        "lacks (principals: 1, ambiguous emails: 0, "
                        "permissions: 1, resources: 2, organizations: 0)\n"));

  // Without --stats the stream says nothing on stderr.
  const CliResult quiet =
      Run({"check", "--demo", "--queries", "unknown_queries.jsonl", kAt});
  EXPECT_EQ(quiet.exit_code, 0);
  EXPECT_EQ(quiet.err, "");
  EXPECT_EQ(quiet.out, r.out);
}

// ---- 2. validate: a file that does not parse is input error 2 ----

TEST_F(CliStumblesTest, ValidateExitsTwoOnAFileThatDoesNotParse) {
  for (const char* file :
       {"syntax_error.textproto", "syntax_error.json", "unknown_field.json"}) {
    const CliResult r = Run({"validate", file});
    EXPECT_EQ(r.exit_code, 2) << file;
    // The syntax error is still the report, with its location.
    EXPECT_THAT(r.out, HasSubstr(absl::StrCat(file, ":"))) << file;
    EXPECT_THAT(r.out, HasSubstr("invalid, it does not parse")) << file;
  }
  // A file that parses but does not compile stays 1, and the worst wins.
  EXPECT_EQ(Run({"validate", "bad_policy.textproto"}).exit_code, 1);
  EXPECT_EQ(
      Run({"validate", "bad_policy.textproto", "syntax_error.json"}).exit_code,
      2);
}

// A breach of a grant-time rule is a warning (exit 0) unless --strict.
TEST_F(CliStumblesTest, ValidatePrintsGrantRuleWarningsAndStrictRefuses) {
  Write("warn.textproto", R"pb(
revision: 1
organizations { id: "org_1" name: "acme" }
clouds { id: "cld_prod" org_id: "org_1" name: "prod" }
projects { id: "prj_default" cloud_id: "cld_prod" name: "default" is_default: true }
projects { id: "prj_ml" cloud_id: "cld_prod" name: "ml" }
principals { id: "usr_bob" org_id: "org_1" kind: PRINCIPAL_KIND_USER email: "bob@acme.com" }
grants { id: "g1" principal_id: "usr_bob" role: "project_write" project_id: "prj_ml" }
)pb");
  const CliResult r = Run({"validate", "warn.textproto"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("warn.textproto:8:"));
  EXPECT_THAT(r.out, HasSubstr("warning: grants[0].scope: user \"usr_bob\" has "
                               "no grant on cloud \"cld_prod\""));
  EXPECT_THAT(r.out, HasSubstr("OK ("));
  EXPECT_THAT(r.out, HasSubstr("), 1 warning"));
  const CliResult strict = Run({"validate", "--strict", "warn.textproto"});
  EXPECT_EQ(strict.exit_code, 1) << strict.out << strict.err;
  EXPECT_THAT(strict.out, HasSubstr("invalid, 1 problem"));
  EXPECT_THAT(strict.out, Not(HasSubstr("warning:")));
}

// ---- 3. test: a suite with no cases fails ----

TEST_F(CliStumblesTest, SuiteWithoutCasesFails) {
  Write("empty_test.textproto", "name: \"nothing\"\ndemo: true\n");
  Write("empty_test.json", "{}");
  Write("blank_test.textproto", "");
  for (const char* suite :
       {"empty_test.textproto", "empty_test.json", "blank_test.textproto"}) {
    const CliResult r = Run({"test", suite});
    EXPECT_EQ(r.exit_code, 2) << suite;
    EXPECT_EQ(r.err, absl::StrCat("arbiter test: ", suite,
                                  ": no cases and no iam_cases; a suite that "
                                  "tests nothing cannot pass\n"))
        << suite;
    EXPECT_EQ(r.out, "") << suite;
  }
  // IAM cases alone are a suite.
  Write("iam_only_test.textproto",
        "demo: true\n"
        "iam_cases { cloud: \"prod\" workload_type: \"job\" project: "
        "\"ml-prod\" user: \"dave@acme.com\" expect_identity: \"etl-role\" "
        "}\n");
  const CliResult r = Run({"test", "iam_only_test.textproto"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("1 case, 1 passed, 0 failed"));
}

// ---- 4. convert refuses invalid UTF-8 instead of changing it ----

TEST_F(CliStumblesTest, ConvertRefusesInvalidUtf8) {
  Write("bad_utf8.textproto",
        "revision: 1\n"
        "organizations { id: \"org_1\" name: \"ac\\xffme\" }\n");
  for (const char* to : {"json", "text", "binary"}) {
    const std::string out = absl::StrCat("bad_utf8_out.", to);
    const CliResult r =
        Run({"convert", "bad_utf8.textproto", "--to", to, "--output", out});
    EXPECT_EQ(r.exit_code, 2) << to;
    EXPECT_EQ(r.err,
              "arbiter convert: bad_utf8.textproto:2:29: "
              "organizations[0].name: \"ac\\xffme\" is not valid UTF-8 (in "
              "organization \"org_1\"); convert will not rewrite it, fix the "
              "file\n")
        << to;
    EXPECT_EQ(r.out, "");
    EXPECT_FALSE(std::filesystem::exists(Path(out))) << to;
  }
  // Before: JSON output silently turned "ac\xffme" into "acme".
  const CliResult r = Run({"convert", "bad_utf8.textproto", "--to", "json"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, Not(HasSubstr("acme")));

  // Nested and repeated fields are checked too, and counted.
  Write("bad_utf8_2.textproto",
        "principals { id: \"u1\" org_id: \"o\" email: \"a@b.c\" name: "
        "\"Bo\\xc3\" }\n"
        "groups { id: \"g\" org_id: \"o\" name: \"\\xed\\xa0\\x80\" }\n");
  const CliResult two =
      Run({"convert", "bad_utf8_2.textproto", "--to", "json"});
  EXPECT_EQ(two.exit_code, 2);
  EXPECT_THAT(two.err, HasSubstr("principals[0].name: \"Bo\\xc3\" is not "
                                 "valid UTF-8 (in principal \"u1\"), and 1 "
                                 "more string is not"));
  // Valid multi-byte names convert unchanged.
  Write("good_utf8.textproto",
        "organizations { id: \"org_1\" name: \"Zürich 東京\" }\n");
  const CliResult good =
      Run({"convert", "good_utf8.textproto", "--to", "json"});
  EXPECT_EQ(good.exit_code, 0) << good.err;
  EXPECT_THAT(good.out, HasSubstr("Zürich 東京"));
}

// ---- 5. explain: citations, rule names, expired grants ----

// The documents the implicit rules cite exist, and their numbering is the
// one the descriptions give.
TEST_F(CliStumblesTest, ImplicitRulesCiteDocumentsThatExist) {
  const CliResult r = Run({"profile"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, Not(HasSubstr("§")));
  EXPECT_THAT(r.out, Not(HasSubstr("access-model")));
  const std::string root = absl::StrCat(ARBITER_CLI_TESTDATA, "/../..");
  const std::string model = ReadFileOrDie(root + "/docs/model.md");
  const std::string semantics = ReadFileOrDie(root + "/docs/semantics.md");
  EXPECT_THAT(r.out, HasSubstr("(docs/model.md implicit rule 9; "
                               "docs/semantics.md step 10)"));
  EXPECT_THAT(model, HasSubstr("\n9. **Deny roles subtract**"));
  EXPECT_THAT(semantics, HasSubstr("\n10. **Deny roles subtract.**"));
  EXPECT_THAT(r.out, HasSubstr("(docs/model.md implicit rule 5; "
                               "docs/semantics.md step 9.1)"));
  EXPECT_THAT(model, HasSubstr("\n5. **Cloud prerequisite.**"));
  EXPECT_THAT(semantics, HasSubstr("\n9. **Cloud- or project-level anchor.**"
                                   "\n   1. No live cloud-scope grant"));

  const CliResult e =
      Run({"explain", "--demo", "--principal", "heidi@acme.com", "--permission",
           "project.workload.create", "--resource", "prod/web", kAt});
  EXPECT_THAT(e.out, HasSubstr("docs/semantics.md step 10"));
  EXPECT_THAT(e.out, Not(HasSubstr("rule 8")));
}

TEST_F(CliStumblesTest, CloudRoleInheritanceNamesNoOppositeRule) {
  CliResult r =
      Run({"check", "--demo", "--principal", "bob@acme.com", "--permission",
           "project.view", "--resource", "prod/ml-prod", "--option",
           "cloud_owner_private_project_access=true", kAt});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out,
            "ALLOW CLOUD_ROLE_INHERITANCE grant=g_bob_prod_owner "
            "source=DIRECT revision=1\n");
  r = Run({"check", "--demo", "--principal", "bob@acme.com", "--permission",
           "project.view", "--resource", "prod/ml-prod", "--option",
           "cloud_owner_private_project_access=true", "--json", kAt});
  EXPECT_THAT(r.out, HasSubstr("\"rule\":null"));
  r = Run({"explain", "--demo", "--principal", "bob@acme.com", "--permission",
           "project.view", "--resource", "prod/ml-prod", "--option",
           "cloud_owner_private_project_access=true", kAt});
  EXPECT_THAT(r.out, Not(HasSubstr("no_private_inheritance")));
  // The denial it is the exception to still names the rule.
  r = Run({"check", "--demo", "--principal", "bob@acme.com", "--permission",
           "project.view", "--resource", "prod/ml-prod", kAt});
  EXPECT_EQ(r.out,
            "DENY NO_PROJECT_GRANT rule=no_private_inheritance "
            "revision=1\n");
}

TEST_F(CliStumblesTest, ExplainAccountsForAnExpiredCloudGrant) {
  Write("expired_cloud.textproto",
        "revision: 3\n"
        "organizations { id: \"org_1\" name: \"acme\" }\n"
        "clouds { id: \"cld_prod\" org_id: \"org_1\" name: \"prod\" }\n"
        "projects { id: \"prj_default\" cloud_id: \"cld_prod\" name: "
        "\"default\" is_default: true }\n"
        "projects { id: \"prj_ml\" cloud_id: \"cld_prod\" name: \"ml\" "
        "visibility: VISIBILITY_PRIVATE }\n"
        "principals { id: \"usr_bob\" org_id: \"org_1\" kind: "
        "PRINCIPAL_KIND_USER email: \"bob@acme.com\" }\n"
        "grants { id: \"g_cloud\" principal_id: \"usr_bob\" role: "
        "\"cloud_collaborator\" cloud_id: \"cld_prod\" expires_at { seconds: "
        "1798761600 } }\n"
        "grants { id: \"g_proj\" principal_id: \"usr_bob\" role: "
        "\"project_write\" project_id: \"prj_ml\" }\n");
  const std::vector<std::string> request = {
      "explain",      "expired_cloud.textproto",
      "--principal",  "bob@acme.com",
      "--permission", "project.view",
      "--resource",   "prod/ml"};
  std::vector<std::string> later = request;
  later.push_back("--at=2027-02-01T00:00:00Z");
  const CliResult r = Run(later);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("DENY NO_CLOUD_GRANT"));
  EXPECT_THAT(r.out,
              HasSubstr("  - grant g_cloud (cloud_collaborator on cloud "
                        "cld_prod, to usr_bob) expired at "
                        "2027-01-01T00:00:00Z; live, it would meet the cloud "
                        "prerequisite\n  - DENY: missing prerequisite"));
  // Before the expiry the same request is allowed, and nothing expired.
  std::vector<std::string> earlier = request;
  earlier.push_back(kAt);
  const CliResult before = Run(earlier);
  EXPECT_EQ(before.exit_code, 0) << before.out;
  EXPECT_THAT(before.out, Not(HasSubstr("expired")));
}

}  // namespace
}  // namespace arbiter
