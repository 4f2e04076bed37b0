// Helpers for the end-to-end tests of the arbiter command: run the built
// binary (ARBITER_CLI_PATH) in a scratch directory, with a given standard
// input, and capture its exit status, standard output and standard error.

#ifndef ARBITER_TOOLS_TESTS_RUN_CLI_H_
#define ARBITER_TOOLS_TESTS_RUN_CLI_H_

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace arbiter {
namespace cli_testing {

inline std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteFileOrDie(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

// A fresh directory under the test's temporary directory.
inline std::string MakeScratchDir(const std::string& name) {
  const std::string dir =
      absl::StrCat(::testing::TempDir(), "/arbiter_cli_", name, "_", getpid());
  std::string cmd = absl::StrCat("rm -rf '", dir, "' && mkdir -p '", dir, "'");
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  return dir;
}

struct CliResult {
  bool exited = false;  // false: killed by a signal (a crash)
  int exit_code = -1;
  int signal = 0;
  std::string out;
  std::string err;
  long max_rss_kb = 0;  // peak resident memory of the child
};

// Runs `program` with `args` in `cwd`. Standard input is the file
// `stdin_path` ("" for /dev/null).
inline CliResult RunProgram(const std::string& program,
                            const std::vector<std::string>& args,
                            const std::string& cwd,
                            const std::string& stdin_path = "") {
  static int counter = 0;
  const std::string base = absl::StrCat(
      ::testing::TempDir(), "/arbiter_cli_io_", getpid(), "_", counter++);
  const std::string out_path = base + ".out";
  const std::string err_path = base + ".err";
  CliResult result;
  const pid_t pid = fork();
  if (pid == 0) {
    const int in =
        open(stdin_path.empty() ? "/dev/null" : stdin_path.c_str(), O_RDONLY);
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
        dup2(err, 2) < 0 || chdir(cwd.c_str()) != 0) {
      _exit(127);
    }
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(program.c_str()));
    for (const std::string& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(program.c_str(), argv.data());
    _exit(127);
  }
  EXPECT_GT(pid, 0) << "fork failed";
  int status = 0;
  struct rusage usage;
  while (wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  result.exited = WIFEXITED(status);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  result.max_rss_kb = usage.ru_maxrss;
  result.out = ReadFileOrDie(out_path);
  result.err = ReadFileOrDie(err_path);
  unlink(out_path.c_str());
  unlink(err_path.c_str());
  return result;
}

inline CliResult RunArbiter(const std::vector<std::string>& args,
                            const std::string& cwd,
                            const std::string& stdin_path = "") {
  return RunProgram(ARBITER_CLI_PATH, args, cwd, stdin_path);
}

// The number of lines of `s` (a final line without '\n' counts).
inline int CountLines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  if (!s.empty() && s.back() != '\n') ++n;
  return n;
}

}  // namespace cli_testing
}  // namespace arbiter

#endif  // ARBITER_TOOLS_TESTS_RUN_CLI_H_
