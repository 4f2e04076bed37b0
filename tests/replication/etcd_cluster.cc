#include "tests/replication/etcd_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/replication/etcd_client.h"

namespace arbiter {
namespace testing {
namespace {

using replication::EtcdCallOptions;
using replication::EtcdClient;
using replication::EtcdClientOptions;
using replication::EtcdMemberStatus;
using replication::EtcdRangeResult;

// Binds `count` sockets to 127.0.0.1 on kernel-chosen ports and returns the
// ports once all are chosen (so they are distinct), closing the sockets.
absl::StatusOr<std::vector<int>> FreeLoopbackPorts(int count) {
  std::vector<int> fds;
  std::vector<int> ports;
  absl::Status status;
  for (int i = 0; i < count && status.ok(); ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      status = absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
      break;
    }
    fds.push_back(fd);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      status = absl::InternalError(absl::StrCat("bind: ", strerror(errno)));
      break;
    }
    int port = ntohs(addr.sin_port);
    if (port == 2379 || port == 2380) {
      --i;  // never etcd's default ports (keep the socket so it is not reused)
      continue;
    }
    ports.push_back(port);
  }
  for (int fd : fds) close(fd);
  if (!status.ok()) return status;
  return ports;
}

std::string EtcdBinary() {
  const char* env = getenv("ARBITER_ETCD_BINARY");
  return env != nullptr && *env != '\0' ? env : "/usr/bin/etcd";
}

std::unique_ptr<EtcdClient> ClientFor(const std::string& endpoint) {
  EtcdClientOptions options;
  options.endpoints = {endpoint};
  options.request_timeout = absl::Milliseconds(1000);
  absl::StatusOr<std::unique_ptr<EtcdClient>> client =
      EtcdClient::Create(options);
  return client.ok() ? *std::move(client) : nullptr;
}

}  // namespace

EtcdCluster::EtcdCluster(Options options, std::string dir, std::string binary)
    : options_(std::move(options)),
      dir_(std::move(dir)),
      binary_(std::move(binary)) {}

absl::StatusOr<std::unique_ptr<EtcdCluster>> EtcdCluster::Start(
    Options options) {
  if (options.members < 1) {
    return absl::InvalidArgumentError("EtcdCluster: members must be >= 1");
  }
  const std::string binary = EtcdBinary();
  if (access(binary.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "EtcdCluster: no etcd at ", binary,
        " (Debian: apt-get install etcd-server, or set ARBITER_ETCD_BINARY)"));
  }
  std::string parent = options.parent_dir;
  if (parent.empty()) {
    const char* tmp = getenv("TMPDIR");
    parent = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  }
  std::string pattern = absl::StrCat(parent, "/arbiter-etcd-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError(
        absl::StrCat("EtcdCluster: mkdtemp ", pattern, ": ", strerror(errno)));
  }
  std::unique_ptr<EtcdCluster> cluster(
      new EtcdCluster(std::move(options), pattern, binary));
  absl::Status last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    last = cluster->StartAll();
    if (last.ok()) return cluster;
    cluster->KillAll();
    std::error_code ignored;
    for (const Member& m : cluster->members_) {
      std::filesystem::remove_all(m.data_dir, ignored);
    }
  }
  return last;
}

absl::Status EtcdCluster::StartAll() {
  const int n = options_.members;
  absl::StatusOr<std::vector<int>> ports = FreeLoopbackPorts(2 * n);
  if (!ports.ok()) return ports.status();
  static int generation = 0;
  cluster_token_ = absl::StrCat("arbiter-test-", getpid(), "-", ++generation);
  members_.assign(n, Member());
  for (int i = 0; i < n; ++i) {
    Member& m = members_[i];
    m.name = absl::StrCat("m", i);
    m.client_port = (*ports)[2 * i];
    m.peer_port = (*ports)[2 * i + 1];
    m.data_dir = absl::StrCat(dir_, "/", m.name, ".etcd");
    m.log_path = absl::StrCat(dir_, "/", m.name, ".log");
  }
  for (int i = 0; i < n; ++i) {
    absl::Status s = Launch(i, /*first_start=*/true);
    if (!s.ok()) return s;
  }
  return WaitHealthy(options_.start_timeout);
}

absl::Status EtcdCluster::Launch(int i, bool first_start) {
  Member& m = members_[i];
  std::vector<std::string> peers;
  for (const Member& p : members_) {
    peers.push_back(absl::StrCat(p.name, "=http://127.0.0.1:", p.peer_port));
  }
  const std::string client_url =
      absl::StrCat("http://127.0.0.1:", m.client_port);
  const std::string peer_url = absl::StrCat("http://127.0.0.1:", m.peer_port);
  std::vector<std::string> args = {
      binary_,
      "--name",
      m.name,
      "--data-dir",
      m.data_dir,
      "--listen-client-urls",
      client_url,
      "--advertise-client-urls",
      client_url,
      "--listen-peer-urls",
      peer_url,
      "--initial-advertise-peer-urls",
      peer_url,
      "--initial-cluster",
      absl::StrJoin(peers, ","),
      "--initial-cluster-state",
      "new",
      "--initial-cluster-token",
      cluster_token_,
      absl::StrCat("--heartbeat-interval=", options_.heartbeat_ms),
      absl::StrCat("--election-timeout=", options_.election_ms),
      "--logger=zap",
      "--log-outputs=stderr",
  };
  for (const std::string& a : options_.extra_args) args.push_back(a);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int log_fd =
      open(m.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return absl::InternalError(
        absl::StrCat("EtcdCluster: open ", m.log_path, ": ", strerror(errno)));
  }
  if (!first_start) {
    const std::string mark = "\n==== restarted by the test ====\n";
    (void)!write(log_fd, mark.data(), mark.size());
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(log_fd);
  m.pid = pid;
  m.paused = false;
  return absl::OkStatus();
}

EtcdCluster::~EtcdCluster() {
  KillAll();
  if (getenv("ARBITER_KEEP_ETCD_DIR") == nullptr) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

void EtcdCluster::KillAll() {
  for (Member& m : members_) {
    if (m.pid > 0) {
      kill(m.pid, SIGKILL);
      waitpid(m.pid, nullptr, 0);
      m.pid = -1;
      m.paused = false;
    }
  }
}

std::string EtcdCluster::client_endpoint(int i) const {
  return absl::StrCat("127.0.0.1:", members_[i].client_port);
}

std::vector<std::string> EtcdCluster::client_endpoints() const {
  std::vector<std::string> endpoints;
  for (int i = 0; i < size(); ++i) endpoints.push_back(client_endpoint(i));
  return endpoints;
}

absl::Status EtcdCluster::Signal(int i, int signal, bool reap) {
  if (i < 0 || i >= size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("EtcdCluster: no member ", i));
  }
  Member& m = members_[i];
  if (m.pid <= 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("EtcdCluster: member ", i, " is not running"));
  }
  if (kill(m.pid, signal) != 0) {
    return absl::InternalError(absl::StrCat("kill: ", strerror(errno)));
  }
  if (!reap) return absl::OkStatus();
  // A graceful stop gets 10 s, then SIGKILL.
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  for (;;) {
    int wstatus = 0;
    pid_t r = waitpid(m.pid, &wstatus, signal == SIGKILL ? 0 : WNOHANG);
    if (r == m.pid || (r < 0 && errno == ECHILD)) break;
    if (absl::Now() > give_up) {
      kill(m.pid, SIGKILL);
      waitpid(m.pid, nullptr, 0);
      break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  m.pid = -1;
  m.paused = false;
  return absl::OkStatus();
}

absl::Status EtcdCluster::Kill(int i) { return Signal(i, SIGKILL, true); }

absl::Status EtcdCluster::Stop(int i) {
  if (i >= 0 && i < size() && members_[i].paused) {
    absl::Status s = Resume(i);
    if (!s.ok()) return s;
  }
  return Signal(i, SIGTERM, true);
}

absl::Status EtcdCluster::Pause(int i) {
  absl::Status s = Signal(i, SIGSTOP, false);
  if (s.ok()) members_[i].paused = true;
  return s;
}

absl::Status EtcdCluster::Resume(int i) {
  absl::Status s = Signal(i, SIGCONT, false);
  if (s.ok()) members_[i].paused = false;
  return s;
}

absl::Status EtcdCluster::Restart(int i) {
  if (i < 0 || i >= size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("EtcdCluster: no member ", i));
  }
  if (members_[i].pid > 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("EtcdCluster: member ", i, " is still running"));
  }
  return Launch(i, /*first_start=*/false);
}

absl::Status EtcdCluster::WaitHealthy(absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  std::vector<std::unique_ptr<EtcdClient>> clients;
  for (int i = 0; i < size(); ++i) {
    clients.push_back(ClientFor(client_endpoint(i)));
    if (clients.back() == nullptr) {
      return absl::InternalError("EtcdCluster: cannot create a client");
    }
  }
  absl::Status last = absl::DeadlineExceededError("not checked yet");
  for (;;) {
    bool healthy = true;
    for (int i = 0; i < size() && healthy; ++i) {
      Member& m = members_[i];
      if (m.pid <= 0 || m.paused) continue;
      int wstatus = 0;
      if (waitpid(m.pid, &wstatus, WNOHANG) == m.pid) {
        m.pid = -1;
        return absl::InternalError(absl::StrCat("EtcdCluster: member ", i,
                                                " exited (status ", wstatus,
                                                "); log tail:\n", LogTail(i)));
      }
      absl::StatusOr<EtcdMemberStatus> status = clients[i]->Status(0);
      if (!status.ok()) {
        last = status.status();
        healthy = false;
        break;
      }
      if (status->leader_id == 0) {
        last = absl::UnavailableError(
            absl::StrCat("member ", i, " has no leader yet"));
        healthy = false;
        break;
      }
      m.member_id = status->member_id;
      absl::StatusOr<EtcdRangeResult> read =
          clients[i]->Range("arbiter-test-health");
      if (!read.ok()) {
        last = read.status();
        healthy = false;
      }
    }
    if (healthy) return absl::OkStatus();
    if (absl::Now() > give_up) {
      return absl::DeadlineExceededError(
          absl::StrCat("EtcdCluster: not healthy within ",
                       absl::FormatDuration(timeout), ": ", last.ToString()));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

absl::StatusOr<int> EtcdCluster::Leader(absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  for (;;) {
    uint64_t leader = 0;
    bool agreed = true;
    for (int i = 0; i < size(); ++i) {
      if (members_[i].pid <= 0 || members_[i].paused) continue;
      std::unique_ptr<EtcdClient> client = ClientFor(client_endpoint(i));
      absl::StatusOr<EtcdMemberStatus> status =
          client == nullptr ? absl::InternalError("no client")
                            : client->Status(0);
      if (!status.ok() || status->leader_id == 0 ||
          (leader != 0 && status->leader_id != leader)) {
        agreed = false;
        break;
      }
      members_[i].member_id = status->member_id;
      leader = status->leader_id;
    }
    if (agreed && leader != 0) {
      for (int i = 0; i < size(); ++i) {
        if (members_[i].member_id == leader) return i;
      }
    }
    if (absl::Now() > give_up) {
      return absl::DeadlineExceededError(absl::StrCat(
          "EtcdCluster: the members did not agree on a leader within ",
          absl::FormatDuration(timeout)));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

std::string EtcdCluster::LogTail(int i, int lines) const {
  std::ifstream in(members_[i].log_path);
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    tail.push_back(line);
    if (static_cast<int>(tail.size()) > lines) tail.pop_front();
  }
  return absl::StrJoin(tail, "\n");
}

}  // namespace testing
}  // namespace arbiter
