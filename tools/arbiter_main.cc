// The arbiter command. See docs/cli.md or run `arbiter --help`.

#include <cstdio>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "google/protobuf/stubs/logging.h"
#include "tools/cli.h"

int main(int argc, char** argv) {
  // Protobuf logs some parse problems (invalid UTF-8 in a binary input, ...)
  // to stderr on its own; the command reports every error itself, on one
  // line.
  google::protobuf::SetLogHandler(nullptr);
  std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  // Nothing in Arbiter throws; running out of memory still must not end in
  // an abort and a core dump.
  try {
    return arbiter::cli::RunCli(args);
  } catch (const std::bad_alloc&) {
    std::fputs("arbiter: out of memory\n", stderr);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "arbiter: internal error: %s\n", e.what());
  }
  return 2;
}
