// End-to-end properties of the arbiter command, checked on the built binary:
// exit codes, --help everywhere, one-line errors for bad inputs (never a
// crash), the formats agreeing, the query stream agreeing with single
// checks and with the workload generator's model, flat memory, and
// interactive streaming.

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/query_line.h"
#include "tools/tests/run_cli.h"

namespace arbiter {
namespace {

using cli_testing::CliResult;
using cli_testing::CountLines;
using cli_testing::ReadFileOrDie;
using cli_testing::RunArbiter;
using cli_testing::RunProgram;
using cli_testing::WriteFileOrDie;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

const char kAt[] = "--at=2026-12-01T00:00:00Z";

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(cli_testing::MakeScratchDir("e2e"));
    ASSERT_EQ(std::system(absl::StrCat("cp -r '", ARBITER_CLI_TESTDATA, "'/. '",
                                       *dir_, "'")
                              .c_str()),
              0);
    CliResult r = RunArbiter({"demo", "--source"}, *dir_);
    ASSERT_EQ(r.exit_code, 0);
    WriteFileOrDie(Path("acme.textproto"), r.out);
    for (const char* out : {"acme.json", "acme.binpb"}) {
      r = RunArbiter({"convert", "--demo", "--output", out}, *dir_);
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
  }
  static void TearDownTestSuite() {
    std::error_code ignored;
    std::filesystem::remove_all(*dir_, ignored);
    delete dir_;
    dir_ = nullptr;
  }
  static std::string Path(const std::string& name) {
    return absl::StrCat(*dir_, "/", name);
  }
  static CliResult Run(const std::vector<std::string>& args,
                       const std::string& stdin_name = "") {
    CliResult r =
        RunArbiter(args, *dir_, stdin_name.empty() ? "" : Path(stdin_name));
    EXPECT_TRUE(r.exited) << "killed by signal " << r.signal;
    return r;
  }
  static std::string* dir_;
};
std::string* CliTest::dir_ = nullptr;

// ---- Exit codes ----

struct ExitCase {
  std::vector<std::string> args;
  int code;
};

TEST_F(CliTest, DocumentedExitCodes) {
  const std::vector<ExitCase> cases = {
      {{"check", "--demo", "--principal", "bob@acme.com", "--permission",
        "cloud.view", "--resource", "prod"},
       0},
      {{"check", "--demo", "--principal", "bob@acme.com", "--permission",
        "project.view", "--resource", "prod/ml-prod"},
       1},
      {{"check", "--demo", "--principal", "bob@acme.com"}, 2},
      {{"explain", "acme.json", "--principal", "carol@acme.com", "--permission",
        "project.delete", "--resource", "prod/web"},
       0},
      {{"explain", "acme.binpb", "--principal", "carol@acme.com",
        "--permission", "project.delete", "--resource", "prod/default"},
       1},
      {{"validate", "acme.textproto"}, 0},
      {{"validate", "bad_policy.textproto"}, 1},
      {{"validate", "syntax_error.json"}, 2},
      {{"validate", "no_such_file.json"}, 2},
      {{"check", "bad_policy.textproto", "--principal", "a", "--permission",
        "b", "--resource", "c"},
       2},
      {{"check", "--demo", "--queries", "queries.jsonl"}, 0},
      {{"check", "--demo", "--queries", "malformed_queries.jsonl"}, 2},
      {{"iam", "--demo", "--cloud", "prod", "--type", "job", "--user",
        "dave@acme.com"},
       0},
      {{"iam", "--demo", "--cloud", "research", "--type", "job", "--user",
        "grace@acme.com"},
       1},
      {{"test", "suites/acme_test.textproto"}, 0},
      {{"test", "suites/failing_test.textproto"}, 1},
      {{"test", "suites/malformed_test.textproto"}, 2},
      {{"profile"}, 0},
      {{"profile", "--to", "yaml"}, 2},
      {{"convert", "--demo", "--to", "json"}, 0},
      {{"demo"}, 0},
      {{"demo", "extra"}, 2},
      {{"--version"}, 0},
      {{"help", "nothing"}, 2},
  };
  for (const ExitCase& c : cases) {
    const CliResult r = Run(c.args);
    EXPECT_EQ(r.exit_code, c.code)
        << "arbiter " << absl::StrJoin(c.args, " ") << "\n"
        << r.err;
  }
}

TEST_F(CliTest, Version) {
  const CliResult r = Run({"--version"});
  EXPECT_THAT(r.out, MatchesRegex("arbiter [0-9]+\\.[0-9]+\\.[0-9]+\n"));
}

TEST_F(CliTest, EveryCommandHasHelp) {
  for (const char* command : {"validate", "check", "explain", "iam", "test",
                              "profile", "convert", "demo"}) {
    const CliResult long_help = Run({command, "--help"});
    const CliResult short_help = Run({command, "-h", "--no-such-flag"});
    const CliResult help_topic = Run({"help", command});
    EXPECT_EQ(long_help.exit_code, 0) << command;
    EXPECT_THAT(long_help.out,
                StartsWith(absl::StrCat("Usage: arbiter ", command)));
    EXPECT_THAT(long_help.out, HasSubstr("--help"));
    EXPECT_THAT(long_help.out, HasSubstr("Exit codes: 0"));
    EXPECT_EQ(short_help.out, long_help.out) << command;
    EXPECT_EQ(help_topic.out, long_help.out) << command;
    EXPECT_EQ(long_help.err, "");
    // Every command but demo (which always uses it) documents --demo.
    EXPECT_THAT(long_help.out, HasSubstr("--demo")) << command;
  }
}

// ---- Bad input: one line on stderr, exit 2, nothing on stdout ----

void ExpectOneLineInputError(const CliResult& r, const std::string& command,
                             const std::string& what) {
  EXPECT_TRUE(r.exited);
  EXPECT_EQ(r.exit_code, 2) << what;
  EXPECT_EQ(r.out, "") << what;
  EXPECT_EQ(CountLines(r.err), 1) << what << ": " << r.err;
  EXPECT_THAT(r.err, StartsWith(absl::StrCat("arbiter ", command, ": ")))
      << what;
  EXPECT_THAT(r.err, Not(HasSubstr("terminate called"))) << what;
}

TEST_F(CliTest, BadStateFilesGiveOneLineErrors) {
  std::string junk;
  for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>(i * 31 + 7));
  WriteFileOrDie(Path("junk.binpb"), junk);
  WriteFileOrDie(Path("junk.json"), junk);
  WriteFileOrDie(Path("junk.textproto"), junk);
  const std::string binary = ReadFileOrDie(Path("acme.binpb"));
  const std::string json = ReadFileOrDie(Path("acme.json"));
  const std::string text = ReadFileOrDie(Path("acme.textproto"));
  for (size_t cut : {size_t{1}, size_t{2}, binary.size() / 2}) {
    WriteFileOrDie(Path(absl::StrCat("cut", cut, ".binpb")),
                   binary.substr(0, binary.size() - cut));
  }
  WriteFileOrDie(Path("cut.json"), json.substr(0, json.size() / 2));
  WriteFileOrDie(Path("cut.textproto"), text.substr(0, text.size() / 2));
  ASSERT_EQ(mkdir(Path("dir.json").c_str(), 0755), 0);

  const std::vector<std::vector<std::string>> inputs = {
      {"junk.binpb"},
      {"junk.json"},
      {"junk.textproto"},
      {"cut1.binpb"},
      {"cut2.binpb"},
      {absl::StrCat("cut", binary.size() / 2, ".binpb")},
      {"cut.json"},
      {"cut.textproto"},
      {"acme.binpb", "--format", "json"},
      {"acme.binpb", "--format", "text"},
      {"acme.json", "--format", "text"},
      {"acme.json", "--format", "binary"},
      {"acme.textproto", "--format", "json"},
      {"acme.textproto", "--max-bytes", "100"},
      {"missing.json"},
      {"dir.json"},
      {"acme.json/child"},
      {"/proc/self/mem"},  // opens, then every read fails (EIO)
      {"bad_policy.textproto"},
  };
  for (const auto& input : inputs) {
    const std::string what = absl::StrJoin(input, " ");
    std::vector<std::string> args = {"check"};
    args.insert(args.end(), input.begin(), input.end());
    for (const char* f :
         {"--principal", "a", "--permission", "b", "--resource", "c"}) {
      args.push_back(f);
    }
    ExpectOneLineInputError(Run(args), "check", what);
    args = {"iam"};
    args.insert(args.end(), input.begin(), input.end());
    for (const char* f : {"--cloud", "prod", "--type", "job"})
      args.push_back(f);
    ExpectOneLineInputError(Run(args), "iam", what);
    args = {"convert"};
    args.insert(args.end(), input.begin(), input.end());
    args.push_back("--to=json");
    if (input[0] != "bad_policy.textproto") {  // convert does not compile
      ExpectOneLineInputError(Run(args), "convert", what);
    }
  }
}

TEST_F(CliTest, AGigabyteSparseFileIsRefusedWithoutReadingIt) {
  const std::string huge = Path("huge.json");
  const int fd = open(huge.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, off_t{1} << 30), 0);  // no disk blocks used
  close(fd);
  const CliResult r = Run({"validate", "huge.json"});
  ExpectOneLineInputError(r, "validate", "1 GiB");
  EXPECT_THAT(r.err, HasSubstr("1073741824 bytes is larger than the limit of "
                               "268435456 bytes"));
  // Refused from its size: the process never held the file in memory.
  EXPECT_LT(r.max_rss_kb, 128 * 1024);
  unlink(huge.c_str());
}

TEST_F(CliTest, UnreadableFile) {
  const std::string path = Path("secret.json");
  WriteFileOrDie(path, ReadFileOrDie(Path("acme.json")));
  ASSERT_EQ(chmod(path.c_str(), 0), 0);
  const CliResult r = Run({"validate", "secret.json"});
  if (geteuid() != 0) {
    ExpectOneLineInputError(r, "validate", "chmod 000");
    EXPECT_THAT(r.err, HasSubstr("Permission denied"));
  } else {
    // root reads anyway; the unreadable case is covered by /proc/self/mem.
    EXPECT_EQ(r.exit_code, 0);
  }
  const CliResult mem = Run({"validate", "/proc/self/mem"});
  ExpectOneLineInputError(mem, "validate", "/proc/self/mem");
}

TEST_F(CliTest, StateAndQueriesCannotBothBeStdin) {
  const CliResult r = Run({"check", "-", "--queries", "-"}, "acme.json");
  ExpectOneLineInputError(r, "check", "two stdins");
}

// ---- Formats ----

TEST_F(CliTest, EveryFormatGivesTheSameDecisions) {
  const CliResult text =
      Run({"check", "acme.textproto", "--queries", "queries.jsonl", kAt});
  const CliResult json =
      Run({"check", "acme.json", "--queries", "queries.jsonl", kAt});
  const CliResult binary =
      Run({"check", "acme.binpb", "--queries", "queries.jsonl", kAt});
  const CliResult demo =
      Run({"check", "--demo", "--queries", "queries.jsonl", kAt});
  EXPECT_EQ(CountLines(text.out), 8);
  EXPECT_EQ(text.out, demo.out);
  EXPECT_EQ(json.out, demo.out);
  EXPECT_EQ(binary.out, demo.out);
  // A file without a known extension: the format comes from its content.
  WriteFileOrDie(Path("state"), ReadFileOrDie(Path("acme.binpb")));
  EXPECT_EQ(Run({"check", "state", "--queries", "queries.jsonl", kAt}).out,
            demo.out);
}

TEST_F(CliTest, ConvertRoundTrips) {
  ASSERT_EQ(Run({"convert", "acme.textproto", "-o", "rt.json"}).exit_code, 0);
  ASSERT_EQ(
      Run({"convert", "rt.json", "--to", "binary", "-o", "rt.out"}).exit_code,
      0);
  const CliResult back =
      Run({"convert", "rt.out", "--format", "binary", "--to", "text"});
  ASSERT_EQ(back.exit_code, 0);
  EXPECT_EQ(back.out, Run({"convert", "--demo", "--to", "text"}).out);
  EXPECT_EQ(ReadFileOrDie(Path("rt.json")),
            Run({"convert", "--demo", "--to", "json"}).out);
  EXPECT_EQ(Run({"validate", "rt.json", "-q"}).exit_code, 0);
}

// ---- The query stream ----

TEST_F(CliTest, StreamAgreesWithSingleChecks) {
  const CliResult stream =
      Run({"check", "--demo", "--queries", "queries.jsonl", kAt});
  ASSERT_EQ(stream.exit_code, 0);
  std::vector<std::string> answers = absl::StrSplit(stream.out, '\n');
  answers.pop_back();  // after the final newline
  std::vector<std::string> lines =
      absl::StrSplit(ReadFileOrDie(Path("queries.jsonl")), '\n');
  size_t answer = 0;
  for (const std::string& line : lines) {
    if (cli::IsBlankLine(line)) continue;
    cli::QueryLine q;
    cli::QueryScratch scratch;
    ASSERT_TRUE(cli::ParseQueryLine(line, &q, &scratch).ok()) << line;
    std::vector<std::string> args = {
        "check",        "--demo",
        "--principal",  std::string(q.principal),
        "--permission", std::string(q.permission),
        "--resource",   std::string(q.resource),
        "--json",       q.at.empty() ? kAt : absl::StrCat("--at=", q.at)};
    if (!q.channel.empty()) {
      args.push_back("--channel");
      args.push_back(std::string(q.channel));
    }
    const CliResult single = Run(args);
    ASSERT_LT(answer, answers.size());
    std::string expected = answers[answer++];
    if (!q.id.empty()) {
      // The stream echoes the id first: {"id":...,"effect":...}.
      const std::string prefix = absl::StrCat("{\"id\":", q.id, ",");
      ASSERT_THAT(expected, StartsWith(prefix));
      expected = "{" + expected.substr(prefix.size());
    }
    EXPECT_EQ(single.out, expected + "\n") << line;
    // A request naming something unknown is an input error for a single
    // check (exit 2); the stream answers it with its DENY row.
    EXPECT_EQ(single.exit_code,
              expected.find("\"effect\":\"ALLOW\"") != std::string::npos ? 0
              : expected.find("\"reason\":\"UNKNOWN_") != std::string::npos
                  ? 2
                  : 1);
  }
  EXPECT_EQ(answer, answers.size());
}

TEST_F(CliTest, StatsGoToStderrOnly) {
  const CliResult plain =
      Run({"check", "--demo", "--queries", "queries.jsonl", kAt});
  const CliResult stats =
      Run({"check", "--demo", "--queries", "queries.jsonl", kAt, "--stats"});
  EXPECT_EQ(stats.out, plain.out);
  EXPECT_THAT(stats.err,
              ContainsRegex("^load: +[0-9.]+ ms wall +[0-9.]+ ms cpu  "
                            "\\([0-9]+ bytes, text\\)\n"));
  EXPECT_THAT(stats.err, ContainsRegex("\ncompile: +[0-9.]+ ms wall .*13 "
                                       "principals, 15 resources, 19 grants"));
  EXPECT_THAT(stats.err,
              ContainsRegex("\ndecide: +[0-9.]+ ms wall +[0-9.]+ ms "
                            "cpu  \\(8 decisions; [0-9]+ decisions/s "
                            "wall, [0-9]+ decisions/s cpu\\)\n"));
  // nobody@acme.com is not in the demo.
  EXPECT_THAT(stats.err,
              ContainsRegex("\nunknown: 1 of 8 decisions named what the "
                            "state lacks \\(principals: 1, .*\\)\n$"));
}

// The org-scale generator's model (tests/testing/workload.h) predicts the
// reason of every query; the stream must agree on all of them, whether a
// query names things by id or by email and path.
TEST_F(CliTest, GeneratedOrganizationMatchesTheModel) {
  const std::string out = Path("gen");
  ASSERT_EQ(mkdir(out.c_str(), 0755), 0);
  const CliResult gen =
      RunProgram(ARBITER_MAKE_ORG_STATE_PATH,
                 {"--size", "S", "--queries", "20000", "--out", out}, *dir_);
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  const CliResult r =
      Run({"check", "gen/org.binpb", "--queries", "gen/queries.jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> got = absl::StrSplit(r.out, '\n');
  std::vector<std::string> want =
      absl::StrSplit(ReadFileOrDie(out + "/expected.jsonl"), '\n');
  ASSERT_EQ(got.size(), want.size());
  ASSERT_EQ(got.size(), 20001u);
  int mismatches = 0;
  for (size_t i = 0; i + 1 < got.size(); ++i) {
    // want: {"id":N,"reason":"R"}; got: {"id":N,"effect":...,"reason":"R",...}
    const size_t comma = want[i].find(',');
    const std::string id = want[i].substr(0, comma);
    const std::string reason =
        want[i].substr(comma + 1, want[i].size() - comma - 2);
    if (got[i].rfind(id + ",", 0) != 0 ||
        got[i].find(reason + ",") == std::string::npos) {
      if (++mismatches <= 5)
        ADD_FAILURE() << "want " << want[i] << "\ngot  " << got[i];
    }
  }
  EXPECT_EQ(mismatches, 0);
}

TEST_F(CliTest, MemoryIsFlatInTheNumberOfQueries) {
  long rss[2];
  const int counts[2] = {2000, 400000};
  for (int k = 0; k < 2; ++k) {
    const std::string out = Path(absl::StrCat("flat", k));
    ASSERT_EQ(mkdir(out.c_str(), 0755), 0);
    const CliResult gen = RunProgram(
        ARBITER_MAKE_ORG_STATE_PATH,
        {"--size", "S", "--queries", absl::StrCat(counts[k]), "--out", out},
        *dir_);
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    const std::string rel = absl::StrCat("flat", k);
    const CliResult r = Run({"check", rel + "/org.binpb", "--queries",
                             rel + "/queries.jsonl", "--stats"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(CountLines(r.out), counts[k]);
    rss[k] = r.max_rss_kb;
  }
  // 200x the queries (about 50 MB of input and output) may not cost more
  // than a few MiB of buffers.
  EXPECT_LT(rss[1], rss[0] + 4 * 1024)
      << rss[0] << " KiB vs " << rss[1] << " KiB";
}

// A process that writes one query and waits gets its answer before it
// writes the next: output is flushed whenever input would block.
TEST_F(CliTest, AnswersInteractively) {
  int to_child[2], from_child[2];
  ASSERT_EQ(pipe(to_child), 0);
  ASSERT_EQ(pipe(from_child), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(to_child[0], 0);
    dup2(from_child[1], 1);
    close(to_child[1]);
    close(from_child[0]);
    execl(ARBITER_CLI_PATH, ARBITER_CLI_PATH, "check", "--demo", "--queries",
          "-", nullptr);
    _exit(127);
  }
  close(to_child[0]);
  close(from_child[1]);
  auto ask = [&](const std::string& line) {
    const std::string data = line + "\n";
    EXPECT_EQ(write(to_child[1], data.data(), data.size()),
              static_cast<ssize_t>(data.size()));
    std::string answer;
    char c;
    while (answer.empty() || answer.back() != '\n') {
      struct pollfd p = {from_child[0], POLLIN, 0};
      // Generous: a missing flush shows up as a hang, not as slowness.
      if (poll(&p, 1, 60000) != 1 || read(from_child[0], &c, 1) != 1) break;
      answer.push_back(c);
    }
    return answer;
  };
  EXPECT_THAT(
      ask(R"({"id":1,"principal":"bob@acme.com","permission":"cloud.view","resource":"prod"})"),
      StartsWith(R"({"id":1,"effect":"ALLOW")"));
  EXPECT_THAT(
      ask(R"({"id":2,"principal":"mallory@acme.com","permission":"cloud.view","resource":"prod"})"),
      StartsWith(R"({"id":2,"effect":"DENY")"));
  close(to_child[1]);
  int status;
  waitpid(pid, &status, 0);
  close(from_child[0]);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// ---- profile, convert ----

TEST_F(CliTest, OptionsEditTheProfile) {
  const CliResult base = Run({"profile"});
  const CliResult edited =
      Run({"profile", "--option", "cloud_owner_private_project_access=true"});
  ASSERT_EQ(edited.exit_code, 0);
  EXPECT_THAT(base.out, Not(HasSubstr("implies on private projects")));
  EXPECT_THAT(edited.out, HasSubstr("implies on private projects"));
  const CliResult json = Run({"profile", "--to", "json"});
  EXPECT_THAT(json.out, StartsWith("{\n \"name\": \"anyscale\""));
  const CliResult text = Run({"profile", "--to", "text"});
  EXPECT_THAT(text.out, StartsWith("name: \"anyscale\""));
}

TEST_F(CliTest, ConvertChoosesTheFormatByExtension) {
  for (const char* name : {"out.json", "out.textproto", "out.binpb"}) {
    ASSERT_EQ(Run({"convert", "--demo", "-o", name}).exit_code, 0) << name;
    EXPECT_EQ(Run({"validate", name, "-q"}).exit_code, 0) << name;
  }
  EXPECT_EQ(ReadFileOrDie(Path("out.json"))[0], '{');
  EXPECT_THAT(ReadFileOrDie(Path("out.textproto")),
              StartsWith("revision: 1\n"));
  const CliResult unknown = Run({"convert", "--demo", "-o", "out.yaml"});
  ExpectOneLineInputError(unknown, "convert", "unknown extension");
}

}  // namespace
}  // namespace arbiter
