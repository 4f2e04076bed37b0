// Bazel glue for the end-to-end tests of the arbiter command (tools/tests).
//
// Those tests run the built binary, whose path CMake passes as the compile
// definition ARBITER_CLI_PATH (an absolute path in the build tree). Under
// Bazel the binary is a runfile of the test; its path relative to the runfiles
// root ("tools/arbiter") does not survive the chdir() the tests do before
// exec, so BUILD.bazel defines ARBITER_CLI_PATH as
// ::arbiter_bazel::RunfilePath("tools/arbiter") and force-includes this
// header (-include) into those tests. The test sources stay unchanged.

#ifndef ARBITER_THIRD_PARTY_BAZEL_RUNFILES_H_
#define ARBITER_THIRD_PARTY_BAZEL_RUNFILES_H_

#include <unistd.h>

#include <cstdlib>
#include <map>
#include <string>

namespace arbiter_bazel {

// The absolute path of `path`, a path relative to the runfiles root of the
// running test: $TEST_SRCDIR/$TEST_WORKSPACE/<path> under `bazel test` and
// `bazel run`, else <working directory at the first call>/<path> (running a
// test binary by hand from its .runfiles/<workspace> directory). The result
// stays valid for the life of the process.
inline const char* RunfilePath(const char* path) {
  static std::map<std::string, std::string>* cache =
      new std::map<std::string, std::string>;
  auto it = cache->find(path);
  if (it == cache->end()) {
    std::string root;
    const char* srcdir = std::getenv("TEST_SRCDIR");
    const char* workspace = std::getenv("TEST_WORKSPACE");
    if (srcdir != nullptr && workspace != nullptr) {
      root = std::string(srcdir) + "/" + workspace;
    } else if (char* cwd = getcwd(nullptr, 0)) {
      root = cwd;
      std::free(cwd);
    }
    it = cache->emplace(path, root + "/" + path).first;
  }
  return it->second.c_str();
}

}  // namespace arbiter_bazel

#endif  // ARBITER_THIRD_PARTY_BAZEL_RUNFILES_H_
