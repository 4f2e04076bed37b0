// End-to-end tests of `arbiter iam` on the built binary: a cloud name that
// several organizations use, or that needs --org, is reported as such (exit
// 2), not as an unknown cloud; and the launching user must be a live member
// of the cloud's organization unless --option iam_match_unknown_users=true.

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/tests/run_cli.h"

namespace arbiter {
namespace {

using cli_testing::CliResult;
using cli_testing::RunArbiter;
using cli_testing::WriteFileOrDie;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

// Two organizations, each with a cloud named "prod"; "staging" exists in
// acme only. Each prod maps CI service accounts by domain.
constexpr char kTwoProds[] = R"pb(
  revision: 3
  organizations { id: "org_acme" name: "acme" }
  organizations { id: "org_globex" name: "globex" }
  clouds {
    id: "cld_acme_prod"
    org_id: "org_acme"
    name: "prod"
    iam_mapping {
      rules { selector: "user~=.*@ci\\.nimbus\\.io" identity: "ci-deployer" }
      default_behavior: FAIL
    }
  }
  clouds {
    id: "cld_globex_prod"
    org_id: "org_globex"
    name: "prod"
    iam_mapping {
      rules {
        selector: "user~=.*@ci\\.nimbus\\.io"
        identity: "globex-deployer"
      }
      default_behavior: FAIL
    }
  }
  clouds { id: "cld_acme_staging" org_id: "org_acme" name: "staging" }
  projects {
    id: "prj_acme_default"
    cloud_id: "cld_acme_prod"
    name: "default"
    is_default: true
  }
  projects {
    id: "prj_globex_default"
    cloud_id: "cld_globex_prod"
    name: "default"
    is_default: true
  }
  projects {
    id: "prj_acme_staging_default"
    cloud_id: "cld_acme_staging"
    name: "default"
    is_default: true
  }
  principals {
    id: "sa_deploy"
    org_id: "org_acme"
    kind: PRINCIPAL_KIND_SERVICE_ACCOUNT
    email: "deploy@ci.nimbus.io"
  }
  principals {
    id: "sa_gone"
    org_id: "org_acme"
    kind: PRINCIPAL_KIND_SERVICE_ACCOUNT
    email: "gone@ci.nimbus.io"
    state: PRINCIPAL_STATE_DELETED
  }
  principals {
    id: "sa_globex"
    org_id: "org_globex"
    kind: PRINCIPAL_KIND_SERVICE_ACCOUNT
    email: "robot@ci.nimbus.io"
  }
)pb";

class CliIamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(cli_testing::MakeScratchDir("iam"));
    WriteFileOrDie(absl::StrCat(*dir_, "/two_prods.textproto"), kTwoProds);
  }
  static void TearDownTestSuite() {
    std::error_code ignored;
    std::filesystem::remove_all(*dir_, ignored);
    delete dir_;
    dir_ = nullptr;
  }
  // arbiter iam two_prods.textproto --type job ARGS...
  static CliResult Iam(const std::vector<std::string>& args) {
    std::vector<std::string> all = {"iam", "two_prods.textproto", "--type",
                                    "job"};
    all.insert(all.end(), args.begin(), args.end());
    CliResult r = RunArbiter(all, *dir_);
    EXPECT_TRUE(r.exited) << "killed by signal " << r.signal;
    return r;
  }
  static std::string* dir_;
};
std::string* CliIamTest::dir_ = nullptr;

TEST_F(CliIamTest, AmbiguousCloudNameAsksForOrg) {
  CliResult r = Iam({"--cloud", "prod", "--user", "deploy@ci.nimbus.io"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_EQ(r.err,
            "arbiter iam: cloud name \"prod\" is ambiguous: organizations "
            "\"acme\" (org_acme) and \"globex\" (org_globex) each have a "
            "cloud of that name; pass --org ID|NAME, or a cloud id "
            "(cld_acme_prod, cld_globex_prod)\n");
  EXPECT_THAT(r.out, IsEmpty());  // no FAIL UNKNOWN_CLOUD
  r = Iam({"--cloud", "prod", "--user", "deploy@ci.nimbus.io", "--json"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_THAT(r.err, Not(HasSubstr("UNKNOWN_CLOUD")));
  // --identity-only prints nothing; the message still goes to stderr.
  r = Iam(
      {"--cloud", "prod", "--user", "deploy@ci.nimbus.io", "--identity-only"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_THAT(r.err, HasSubstr("is ambiguous"));
}

TEST_F(CliIamTest, OrgOrCloudIdResolvesTheName) {
  CliResult r = Iam({"--cloud", "prod", "--org", "acme", "--user",
                     "deploy@ci.nimbus.io", "--identity-only"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "ci-deployer\n");
  r = Iam({"--cloud", "prod", "--org", "org_globex", "--user",
           "robot@ci.nimbus.io", "--identity-only"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "globex-deployer\n");
  r = Iam({"--cloud", "cld_globex_prod", "--user", "robot@ci.nimbus.io",
           "--identity-only"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "globex-deployer\n");
}

TEST_F(CliIamTest, CloudNameOfOneOrgStillNeedsOrg) {
  CliResult r = Iam({"--cloud", "staging", "--user", "deploy@ci.nimbus.io"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_EQ(r.err,
            "arbiter iam: cloud name \"staging\" needs --org: the state has 2 "
            "organizations; the cloud of that name is in \"acme\" (org_acme) "
            "(pass --org acme or the cloud id cld_acme_staging)\n");
  EXPECT_THAT(r.out, IsEmpty());
}

TEST_F(CliIamTest, UnknownCloudIsStillUnknown) {
  CliResult r = Iam({"--cloud", "nope", "--user", "deploy@ci.nimbus.io"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.out, StartsWith("FAIL (UNKNOWN_CLOUD"));
  EXPECT_THAT(r.err, IsEmpty());
  // With --org, a name that is not in that organization is unknown there.
  r = Iam({"--cloud", "staging", "--org", "globex", "--user",
           "robot@ci.nimbus.io"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.out, StartsWith("FAIL (UNKNOWN_CLOUD"));
}

TEST_F(CliIamTest, UserMustBeALiveMemberOfTheCloudsOrg) {
  struct Case {
    const char* user;
    const char* reason;
  };
  for (const Case& c : {Case{"evil@ci.nimbus.io", "UNKNOWN_PRINCIPAL"},
                        Case{"gone@ci.nimbus.io", "PRINCIPAL_DELETED"},
                        Case{"sa_gone", "PRINCIPAL_DELETED"},
                        Case{"robot@ci.nimbus.io", "CROSS_ORG"},
                        Case{"sa_globex", "CROSS_ORG"}}) {
    SCOPED_TRACE(c.user);
    CliResult r = Iam({"--cloud", "cld_acme_prod", "--user", c.user, "--json"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_THAT(r.out,
                StartsWith(absl::StrCat("{\"outcome\":\"FAIL\",\"reason\":\"",
                                        c.reason, "\",\"identity\":null")));
  }
  // The option lets an email that no principal holds reach the rules; what
  // the state knows about a principal still decides.
  CliResult r =
      Iam({"--cloud", "cld_acme_prod", "--user", "evil@ci.nimbus.io",
           "--option", "iam_match_unknown_users=true", "--identity-only"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "ci-deployer\n");
  r = Iam({"--cloud", "cld_acme_prod", "--user", "gone@ci.nimbus.io",
           "--option", "iam_match_unknown_users=true"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.out, StartsWith("FAIL (PRINCIPAL_DELETED"));
  EXPECT_THAT(r.out, HasSubstr("deleted principal"));
}

}  // namespace
}  // namespace arbiter
