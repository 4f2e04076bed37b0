// `arbiter store --etcd ...` end to end: the built command against an etcd
// member on loopback (docs/cli.md, "arbiter store --etcd").

#include <sys/wait.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/replication/etcd_cluster.h"
#include "tests/testing/status_matchers.h"

#ifndef ARBITER_CLI_PATH
#error "ARBITER_CLI_PATH must name the arbiter command"
#endif

namespace arbiter {
namespace {

using ::arbiter::testing::EtcdCluster;
using ::arbiter::testing::IsOk;
using ::testing::HasSubstr;
using ::testing::StartsWith;

struct CliRun {
  int code = -1;
  std::string out;  // stdout and stderr
};

std::string Quote(const std::string& s) { return absl::StrCat("'", s, "'"); }

CliRun Arbiter(const std::vector<std::string>& args) {
  std::vector<std::string> quoted;
  for (const std::string& a : args) quoted.push_back(Quote(a));
  const std::string command = absl::StrCat(Quote(ARBITER_CLI_PATH), " ",
                                           absl::StrJoin(quoted, " "), " 2>&1");
  CliRun run;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    run.out.append(buffer, n);
  }
  const int status = pclose(pipe);
  run.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

std::string WriteFile(const std::string& dir, const std::string& name,
                      const std::string& text) {
  const std::string path = absl::StrCat(dir, "/", name);
  FILE* f = std::fopen(path.c_str(), "w");
  EXPECT_NE(f, nullptr);
  if (f != nullptr) {
    std::fputs(text.c_str(), f);
    std::fclose(f);
  }
  return path;
}

TEST(StoreEtcdCliTest, InitApplyCheckWithTokenStatusAndRefusals) {
  EtcdCluster::Options options;
  absl::StatusOr<std::unique_ptr<EtcdCluster>> cluster =
      EtcdCluster::Start(options);
  ASSERT_THAT(cluster, IsOk());
  const std::string etcd =
      absl::StrCat("http://", (*cluster)->client_endpoint(0));
  const std::string dir = (*cluster)->directory();
  auto store = [&](std::vector<std::string> args) {
    std::vector<std::string> all = {"store", "--etcd", etcd, "--prefix",
                                    "/cli/"};
    all.insert(all.end(), args.begin(), args.end());
    return Arbiter(all);
  };
  const std::vector<std::string> frank = {
      "--principal",  "frank@acme.com",
      "--permission", "project.workload.create",
      "--resource",   "prod/ml-prod"};
  auto check = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"check"};
    args.insert(args.end(), frank.begin(), frank.end());
    args.insert(args.end(), extra.begin(), extra.end());
    return store(args);
  };

  CliRun r = store({"status"});
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("the log is empty"));

  r = store({"init", "--demo"});
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, StartsWith("initialized /cli/ with demo at revision 1"));
  r = store({"init", "--demo"});
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("not empty"));

  r = check({});
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_THAT(r.out, StartsWith("DENY NO_PROJECT_GRANT"));

  const std::string grant =
      WriteFile(dir, "grant.textproto",
                "actor: \"alice@acme.com\"\n"
                "mutations { set_project_member { project: \"prod/ml-prod\" "
                "principal: \"frank@acme.com\" role: \"project_write\" } }\n");
  const std::string denied = WriteFile(
      dir, "denied.json",
      R"({"actor": "mallory@acme.com", "mutations": [{"setProjectMember": )"
      R"({"project": "prod/ml-prod", "principal": "mallory@acme.com", )"
      R"("role": "project_owner"}}]})");
  r = store({"apply", grant});
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("grant.textproto: applied: revision 2 ("));

  r = check({"--at-least", "2"});
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, StartsWith("ALLOW GRANT"));
  EXPECT_THAT(r.out, HasSubstr("revision=2 etcd_revision="));
  r = check({"--at-least", "2", "--json"});
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("\"revision\":2"));

  // A token the log has not reached: fail closed, never the older answer.
  r = check({"--at-least", "9", "--wait", "200ms"});
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("UNAVAILABLE"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("ALLOW")));

  r = store({"apply", denied, grant});
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("denied.json: refused: PERMISSION_DENIED"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("grant.textproto")));

  r = store({"status"});
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, StartsWith("revision 2 (etcd revision "));
  EXPECT_THAT(r.out, HasSubstr("health OK: current"));
  r = store({"verify"});
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("audit chain intact: 1 organization, 1 record"));
  r = store({"checkpoint"});
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("checkpoint written at revision 2"));
  r = store({"status"});
  EXPECT_THAT(r.out, HasSubstr("checkpoint at revision 2"));
  r = store({"dump", "--audit"});
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("\"principal_id\":\"usr_frank\""));
  r = store({"dump", "--to", "json"});
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("\"revision\": \"2\""));

  // Usage errors.
  r = store({"frobnicate"});
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("unknown action \"frobnicate\""));
  r = store({"check", "--at-least", "x"});
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("--at-least"));
  r = Arbiter({"store", "--etcd", "http://127.0.0.1:1", "status"});
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("UNAVAILABLE"));
}

}  // namespace
}  // namespace arbiter
