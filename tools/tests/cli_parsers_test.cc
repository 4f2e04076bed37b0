// The arbiter command's pure pieces: flag parsing, option values, the text
// locator, the line reader and the query loop (in process).

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "arbiter/demo.h"
#include "arbiter/engine.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tools/cli_options.h"
#include "tools/flags.h"
#include "tools/query_runner.h"
#include "tools/state_loader.h"
#include "tools/tests/run_cli.h"
#include "tools/text_locator.h"

namespace arbiter {
namespace {

using ::arbiter::testing::IsOk;
using ::arbiter::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;
using ::testing::Pair;

MATCHER_P(IsOkAndHolds, value, "") {
  if (!arg.ok()) {
    *result_listener << "status: " << arg.status();
    return false;
  }
  return *arg == value;
}

const cli::FlagSpec kSpecs[] = {
    {"demo", 0, cli::FlagSpec::kBool, "", "demo"},
    {"principal", 'p', cli::FlagSpec::kValue, "P", "principal"},
    {"option", 'O', cli::FlagSpec::kRepeated, "K=V", "option"},
};

TEST(FlagsTest, ParsesLongShortInlineAndPositional) {
  ASSERT_OK_AND_ASSIGN(
      cli::ParsedArgs args,
      cli::ParseArgs({"file.json", "--demo", "-p", "bob", "--option=a=1", "-O",
                      "b=2", "-", "--", "--not-a-flag"},
                     kSpecs));
  EXPECT_TRUE(args.Has("demo"));
  EXPECT_EQ(args.Get("principal"), "bob");
  EXPECT_THAT(args.GetAll("option"), ElementsAre("a=1", "b=2"));
  EXPECT_THAT(args.positional(), ElementsAre("file.json", "-", "--not-a-flag"));
  EXPECT_EQ(args.Get("missing", "fallback"), "fallback");
}

TEST(FlagsTest, EmptyInlineValueIsAValue) {
  ASSERT_OK_AND_ASSIGN(cli::ParsedArgs args,
                       cli::ParseArgs({"--principal="}, kSpecs));
  EXPECT_TRUE(args.Has("principal"));
  EXPECT_EQ(args.Get("principal", "x"), "");
}

TEST(FlagsTest, Errors) {
  EXPECT_THAT(
      cli::ParseArgs({"--nope"}, kSpecs),
      StatusIs(absl::StatusCode::kInvalidArgument, "unknown flag --nope"));
  EXPECT_THAT(cli::ParseArgs({"-x"}, kSpecs),
              StatusIs(absl::StatusCode::kInvalidArgument, "unknown flag -x"));
  EXPECT_THAT(
      cli::ParseArgs({"-pbob"}, kSpecs),
      StatusIs(absl::StatusCode::kInvalidArgument, "unknown flag -pbob"));
  EXPECT_THAT(cli::ParseArgs({"--principal"}, kSpecs),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "--principal needs a value"));
  EXPECT_THAT(
      cli::ParseArgs({"-p", "a", "--principal=b"}, kSpecs),
      StatusIs(absl::StatusCode::kInvalidArgument, "--principal given twice"));
  EXPECT_THAT(
      cli::ParseArgs({"--demo=yes"}, kSpecs),
      StatusIs(absl::StatusCode::kInvalidArgument, "--demo takes no value"));
}

TEST(FlagsTest, HelpListsEveryFlag) {
  const std::string help = cli::FlagsHelp(kSpecs);
  EXPECT_THAT(help, HasSubstr("      --demo"));
  EXPECT_THAT(help, HasSubstr("  -p, --principal P"));
  EXPECT_THAT(help, HasSubstr("(repeatable)"));
}

TEST(OptionsTest, AppliesEveryKnob) {
  EngineOptions o;
  ASSERT_THAT(
      cli::ApplyEngineOption("cloud_owner_private_project_access=true", &o),
      IsOk());
  ASSERT_THAT(
      cli::ApplyEngineOption("cloud_owner_configures_iam_mapping=1", &o),
      IsOk());
  ASSERT_THAT(
      cli::ApplyEngineOption("allow_service_account_org_owner=true", &o),
      IsOk());
  ASSERT_THAT(cli::ApplyEngineOption("cloud_owner_deletes_cloud=false", &o),
              IsOk());
  ASSERT_THAT(cli::ApplyEngineOption("project_write_workload_delete=never", &o),
              IsOk());
  ASSERT_THAT(
      cli::ApplyEngineOption("iam_override_precedence=compute_config_wins", &o),
      IsOk());
  EXPECT_TRUE(o.cloud_owner_private_project_access);
  EXPECT_TRUE(o.cloud_owner_configures_iam_mapping);
  EXPECT_TRUE(o.allow_service_account_org_owner);
  EXPECT_FALSE(o.cloud_owner_deletes_cloud);
  EXPECT_EQ(o.project_write_workload_delete, WorkloadDeletePolicy::kNever);
  EXPECT_EQ(o.iam_override_precedence,
            IamOverridePrecedence::kComputeConfigWins);
  ASSERT_THAT(cli::ApplyEngineOption("project_write_workload_delete=all", &o),
              IsOk());
  EXPECT_EQ(o.project_write_workload_delete,
            WorkloadDeletePolicy::kAllWorkloads);
}

TEST(OptionsTest, Errors) {
  EngineOptions o;
  EXPECT_THAT(cli::ApplyEngineOption("cloud_owner_deletes_cloud", &o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("expected key=value")));
  EXPECT_THAT(cli::ApplyEngineOption("colour=blue", &o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown option \"colour\"")));
  EXPECT_THAT(cli::ApplyEngineOption("cloud_owner_deletes_cloud=maybe", &o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("expected true or false")));
  EXPECT_THAT(cli::ApplyEngineOption("project_write_workload_delete=some", &o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("never, own or all")));
  EXPECT_THAT(cli::ApplyEngineOption("iam_override_precedence=x", &o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("mapping_wins or compute_config_wins")));
}

TEST(ValuesTest, Times) {
  ASSERT_OK_AND_ASSIGN(absl::Time t, cli::ParseRfc3339("2026-12-01T00:00:00Z"));
  EXPECT_EQ(t, absl::FromUnixSeconds(1796083200));
  ASSERT_OK_AND_ASSIGN(t, cli::ParseRfc3339("2026-12-01T02:00:00+02:00"));
  EXPECT_EQ(t, absl::FromUnixSeconds(1796083200));
  EXPECT_EQ(cli::FormatRfc3339(t), "2026-12-01T00:00:00Z");
  EXPECT_EQ(cli::FormatRfc3339(t + absl::Milliseconds(250)),
            "2026-12-01T00:00:00.25Z");
  for (const char* bad :
       {"", "2026-12-01", "tomorrow", "2026-13-01T00:00:00Z"}) {
    EXPECT_THAT(cli::ParseRfc3339(bad),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("invalid RFC 3339 time")))
        << bad;
  }
}

TEST(ValuesTest, ChannelsAndWorkloadTypes) {
  EXPECT_THAT(cli::ParseChannel("console"), IsOkAndHolds(Channel::kConsole));
  EXPECT_THAT(cli::ParseChannel("api"), IsOkAndHolds(Channel::kApi));
  EXPECT_FALSE(cli::ParseChannel("API").ok());
  EXPECT_THAT(cli::ParseWorkloadType("job"),
              IsOkAndHolds(v1::WORKLOAD_TYPE_JOB));
  EXPECT_THAT(cli::ParseWorkloadType("cluster"),
              IsOkAndHolds(v1::WORKLOAD_TYPE_CLUSTER));
  EXPECT_FALSE(cli::ParseWorkloadType("batch").ok());
}

TEST(ValuesTest, ByteSizes) {
  EXPECT_THAT(cli::ParseByteSize("4096"), IsOkAndHolds(size_t{4096}));
  EXPECT_THAT(cli::ParseByteSize("64K"), IsOkAndHolds(size_t{64} << 10));
  EXPECT_THAT(cli::ParseByteSize("256m"), IsOkAndHolds(size_t{256} << 20));
  EXPECT_THAT(cli::ParseByteSize("1G"), IsOkAndHolds(size_t{1} << 30));
  for (const char* bad :
       {"", "0", "K", "-1", "1T", "1.5M", "+5", "99999999999999999999"}) {
    EXPECT_FALSE(cli::ParseByteSize(bad).ok()) << bad;
  }
}

TEST(TextLocatorTest, LocatesFieldsOneofsAndElements) {
  const std::string text =
      "revision: 1\n"
      "organizations { id: \"o\" name: \"x\" }\n"
      "grants {\n"
      "  id: \"g\"\n"
      "  principal_id: \"p\"\n"
      "  project_id: \"prj\"\n"
      "}\n"
      "groups { id: \"grp\" member_ids: [\"a\", \"b\"] }\n";
  std::unique_ptr<cli::TextLocator> locator =
      cli::TextLocator::Create(text, v1::PolicySet());
  ASSERT_NE(locator, nullptr);
  EXPECT_THAT(locator->Locate("revision"), Optional(Pair(1, 1)));
  EXPECT_THAT(locator->Locate("organizations[0].name"), Optional(Pair(2, 25)));
  EXPECT_THAT(locator->Locate("grants[0]"), Optional(Pair(3, 1)));
  EXPECT_THAT(locator->Locate("grants[0].scope"), Optional(Pair(6, 3)));
  EXPECT_THAT(locator->Locate("grants[0].subject"), Optional(Pair(5, 3)));
  // A field that is not written: the deepest written ancestor.
  EXPECT_THAT(locator->Locate("grants[0].role"), Optional(Pair(3, 1)));
  // List syntax records the first element only: the list's position.
  EXPECT_THAT(locator->Locate("groups[0].member_ids[0]"),
              Optional(Pair(8, 20)));
  EXPECT_THAT(locator->Locate("groups[0].member_ids[1]"),
              Optional(Pair(8, 20)));
  EXPECT_EQ(locator->Locate("grants[5].role"), absl::nullopt);
  EXPECT_EQ(locator->Locate("nonsense"), absl::nullopt);
  EXPECT_EQ(locator->Locate("grants[x]"), absl::nullopt);
  EXPECT_EQ(cli::TextLocator::Create("grants {", v1::PolicySet()), nullptr);
}

TEST(TextLocatorTest, MessagePath) {
  EXPECT_EQ(cli::MessagePath("grants[3].role: unknown role \"x\""),
            "grants[3].role");
  EXPECT_EQ(cli::MessagePath("clouds[0]: no default project"), "clouds[0]");
  EXPECT_EQ(cli::MessagePath("too many groups: 5000"), "");
  EXPECT_EQ(cli::MessagePath("no colon here"), "");
  EXPECT_EQ(cli::MessagePath(": empty"), "");
}

TEST(StateLoaderTest, DetectsFormats) {
  EXPECT_EQ(cli::DetectFormat("a.json", "x"), PolicyFormat::kJson);
  EXPECT_EQ(cli::DetectFormat("a.pb", "x"), PolicyFormat::kBinary);
  EXPECT_EQ(cli::DetectFormat("a.txtpb", "{"), PolicyFormat::kText);
  EXPECT_EQ(cli::DetectFormat("state", "  {\"a\":1}"), PolicyFormat::kJson);
  EXPECT_EQ(cli::DetectFormat("state", "revision: 1\n"), PolicyFormat::kText);
  EXPECT_EQ(cli::DetectFormat("state", std::string("\x08\x01", 2)),
            PolicyFormat::kBinary);
}

TEST(StateLoaderTest, UnknownFieldsInBinaryAreRefused) {
  v1::PolicySet state = DemoPolicySet();
  EXPECT_FALSE(cli::HasUnknownFields(state));
  std::string data = state.SerializeAsString();
  // Field 99, varint 1: unknown to PolicySet.
  data += std::string("\x98\x06\x01", 3);
  ASSERT_TRUE(state.ParseFromString(data));
  EXPECT_TRUE(cli::HasUnknownFields(state));
  EXPECT_THAT(cli::ParseStateData(data, "x.binpb", {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown fields")));
}

TEST(StateLoaderTest, OneLine) {
  EXPECT_EQ(cli::OneLine("a\nb\r\n  c\x01"), "a b   c?");
  EXPECT_EQ(cli::OneLine(std::string(1000, 'x')).size(), 403u);
}

// ---- The line reader and the query loop, on pipes and temp files ----

// A file only this test process uses: ctest runs the tests of this binary
// as parallel processes.
std::string TempPath(const std::string& name) {
  return absl::StrCat(::testing::TempDir(), "/arbiter_parsers_", getpid(), "_",
                      name);
}

std::string TempFile(const std::string& name, const std::string& content) {
  const std::string path = TempPath(name);
  cli_testing::WriteFileOrDie(path, content);
  return path;
}

std::vector<std::pair<std::string, bool>> ReadAllLines(const std::string& data,
                                                       size_t max_line) {
  const std::string path = TempFile("lines.txt", data);
  const int fd = open(path.c_str(), O_RDONLY);
  EXPECT_GE(fd, 0);
  cli::LineReader reader(fd, max_line, nullptr, nullptr);
  std::vector<std::pair<std::string, bool>> lines;
  absl::string_view line;
  bool too_long;
  while (reader.Next(&line, &too_long)) {
    lines.emplace_back(std::string(line), too_long);
  }
  EXPECT_THAT(reader.status(), IsOk());
  close(fd);
  return lines;
}

TEST(LineReaderTest, SplitsLinesAcrossBufferRefills) {
  std::string data;
  std::vector<std::pair<std::string, bool>> want;
  for (int i = 0; i < 20000; ++i) {
    std::string line(i % 37, static_cast<char>('a' + i % 26));
    data += line + "\n";
    want.emplace_back(line, false);
  }
  data += "last line without newline";
  want.emplace_back("last line without newline", false);
  EXPECT_EQ(ReadAllLines(data, 1 << 20), want);
}

TEST(LineReaderTest, GrowsForLongLinesAndSkipsTooLongOnes) {
  const std::string long_line(200000, 'x');
  const std::string too_long(300000, 'y');
  const auto lines = ReadAllLines(
      "a\n" + long_line + "\n" + too_long + "\nb\n" + too_long, 250000);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0], std::make_pair(std::string("a"), false));
  EXPECT_EQ(lines[1], std::make_pair(long_line, false));
  EXPECT_EQ(lines[2], std::make_pair(std::string(), true));
  EXPECT_EQ(lines[3], std::make_pair(std::string("b"), false));
  EXPECT_EQ(lines[4], std::make_pair(std::string(), true));
}

TEST(LineReaderTest, EmptyInput) { EXPECT_TRUE(ReadAllLines("", 100).empty()); }

TEST(RunQueriesTest, DecidesEveryLineAndReportsMalformedOnes) {
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(DemoPolicySet()));
  const std::string in_path = TempFile(
      "queries.jsonl",
      "{\"id\":1,\"principal\":\"bob@acme.com\",\"permission\":\"cloud.view\","
      "\"resource\":\"prod\"}\n"
      "\n"
      "oops\n"
      "{\"principal\":\"bob@acme.com\",\"permission\":\"project.view\","
      "\"resource\":\"prod/ml-prod\",\"channel\":\"console\"}\r\n");
  const std::string out_path = TempPath("decisions.jsonl");
  const int in = open(in_path.c_str(), O_RDONLY);
  const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(in, 0);
  ASSERT_GE(out, 0);
  cli::QueryDefaults defaults;
  defaults.at = absl::FromUnixSeconds(1796083200);
  cli::QueryStats stats;
  EXPECT_THAT(cli::RunQueries(*engine, in, out, defaults, &stats), IsOk());
  close(in);
  close(out);
  EXPECT_EQ(stats.lines, 3u);
  EXPECT_EQ(stats.decisions, 2u);
  EXPECT_EQ(stats.allowed, 1u);
  EXPECT_EQ(stats.malformed, 1u);
  EXPECT_EQ(stats.first_malformed_line, 3u);
  EXPECT_EQ(cli_testing::ReadFileOrDie(out_path),
            "{\"id\":1,\"effect\":\"ALLOW\",\"reason\":\"GRANT\",\"grant\":"
            "\"g_bob_prod_owner\",\"source\":\"DIRECT\",\"rule\":null,"
            "\"revision\":1}\n"
            "{\"line\":3,\"error\":\"column 1: expected '{' (one JSON object "
            "per line)\"}\n"
            "{\"effect\":\"DENY\",\"reason\":\"NO_PROJECT_GRANT\",\"grant\":"
            "null,\"source\":\"NONE\",\"rule\":\"no_private_inheritance\","
            "\"revision\":1}\n");
}

TEST(RunQueriesTest, WriteErrorsAreReported) {
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(DemoPolicySet()));
  const std::string in_path =
      TempFile("one.jsonl",
               "{\"principal\":\"bob@acme.com\",\"permission\":\"cloud.view\","
               "\"resource\":\"prod\"}\n");
  const int in = open(in_path.c_str(), O_RDONLY);
  const int out = open("/dev/full", O_WRONLY);
  ASSERT_GE(in, 0);
  ASSERT_GE(out, 0);
  cli::QueryStats stats;
  EXPECT_THAT(cli::RunQueries(*engine, in, out, {}, &stats),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("writing the decisions")));
  close(in);
  close(out);
}

}  // namespace
}  // namespace arbiter
