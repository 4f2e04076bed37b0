#include "src/replication/etcd_client.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "etcdserverpb/rpc.grpc.pb.h"
#include "etcdserverpb/rpc.pb.h"
#include "src/replication/etcd_grpc.h"
#include "src/replication/etcd_watcher.h"

namespace arbiter {
namespace replication {
namespace {

constexpr absl::string_view kCompactedPayload = "arbiter.etcd/compacted";
constexpr absl::string_view kOutcomeUnknownPayload =
    "arbiter.etcd/outcome-unknown";

// "http://host:port/" -> "host:port".
absl::StatusOr<std::string> ParseEndpoint(absl::string_view endpoint) {
  absl::string_view e = endpoint;
  if (absl::StartsWith(e, "https://")) {
    return absl::UnimplementedError(absl::StrCat(
        "etcd endpoint \"", endpoint, "\": TLS (https) is not supported yet"));
  }
  absl::ConsumePrefix(&e, "http://");
  absl::ConsumeSuffix(&e, "/");
  size_t colon = e.rfind(':');
  int port = 0;
  if (e.empty() || absl::StrContains(e, "://") || absl::StrContains(e, '/') ||
      colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(e.substr(colon + 1), &port) || port <= 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("etcd endpoint \"", endpoint,
                     "\": expected host:port or http://host:port"));
  }
  return std::string(e);
}

etcdserverpb::Compare ToProto(const EtcdCompare& c) {
  etcdserverpb::Compare p;
  p.set_key(c.key);
  switch (c.op) {
    case EtcdCompare::Op::kEqual:
      p.set_result(etcdserverpb::Compare::EQUAL);
      break;
    case EtcdCompare::Op::kNotEqual:
      p.set_result(etcdserverpb::Compare::NOT_EQUAL);
      break;
    case EtcdCompare::Op::kGreater:
      p.set_result(etcdserverpb::Compare::GREATER);
      break;
    case EtcdCompare::Op::kLess:
      p.set_result(etcdserverpb::Compare::LESS);
      break;
  }
  switch (c.target) {
    case EtcdCompare::Target::kVersion:
      p.set_target(etcdserverpb::Compare::VERSION);
      p.set_version(c.number);
      break;
    case EtcdCompare::Target::kCreateRevision:
      p.set_target(etcdserverpb::Compare::CREATE);
      p.set_create_revision(c.number);
      break;
    case EtcdCompare::Target::kModRevision:
      p.set_target(etcdserverpb::Compare::MOD);
      p.set_mod_revision(c.number);
      break;
    case EtcdCompare::Target::kValue:
      p.set_target(etcdserverpb::Compare::VALUE);
      p.set_value(c.value);
      break;
  }
  return p;
}

etcdserverpb::RequestOp ToProto(const EtcdOp& op) {
  etcdserverpb::RequestOp p;
  switch (op.type) {
    case EtcdOp::Type::kRange: {
      etcdserverpb::RangeRequest* r = p.mutable_request_range();
      r->set_key(op.key);
      r->set_range_end(op.range_end);
      r->set_limit(op.limit);
      break;
    }
    case EtcdOp::Type::kPut: {
      etcdserverpb::PutRequest* r = p.mutable_request_put();
      r->set_key(op.key);
      r->set_value(op.value);
      break;
    }
    case EtcdOp::Type::kDeleteRange: {
      etcdserverpb::DeleteRangeRequest* r = p.mutable_request_delete_range();
      r->set_key(op.key);
      r->set_range_end(op.range_end);
      break;
    }
  }
  return p;
}

void FromProto(const etcdserverpb::RangeResponse& from, EtcdRangeResult* to) {
  to->revision = from.header().revision();
  to->more = from.more();
  to->count = from.count();
  to->kvs.resize(from.kvs_size());
  for (int i = 0; i < from.kvs_size(); ++i) {
    ToEtcdKeyValue(from.kvs(i), &to->kvs[i]);
  }
}

// A printable key for messages: at most 80 bytes, quoted.
std::string QuoteKey(absl::string_view key) {
  if (key.size() > 80) return absl::StrCat("\"", key.substr(0, 77), "...\"");
  return absl::StrCat("\"", key, "\"");
}

}  // namespace

// ---- Shared with etcd_watcher.cc -------------------------------------------

bool EtcdNotExecuted(const grpc::Status& status) {
  const std::string& m = status.error_message();
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return absl::StrContains(m, "failed to connect to all addresses") ||
             absl::StrContains(m, "etcdserver: no leader") ||
             absl::StrContains(m, "etcdserver: not capable");
    case grpc::StatusCode::UNKNOWN:
      return absl::StrContains(m, "raft proposal dropped");
    default:
      return false;
  }
}

bool EtcdTransient(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return true;
    case grpc::StatusCode::UNKNOWN:
      // etcd reports some leader-change conditions as Unknown.
      return absl::StrContains(status.error_message(), "leader changed") ||
             absl::StrContains(status.error_message(), "raft proposal dropped");
    default:
      return false;
  }
}

absl::Status EtcdStatus(const grpc::Status& status, absl::string_view what,
                        absl::string_view target, bool write) {
  const std::string& m = status.error_message();
  absl::StatusCode code = static_cast<absl::StatusCode>(status.error_code());
  if (status.error_code() == grpc::StatusCode::OUT_OF_RANGE &&
      absl::StrContains(m, "future revision")) {
    code = absl::StatusCode::kInvalidArgument;
  }
  if (status.error_code() == grpc::StatusCode::UNKNOWN &&
      EtcdTransient(status)) {
    code = absl::StatusCode::kUnavailable;
  }
  // The code etcd (or gRPC) sent, which may differ from `code`.
  std::string code_text = absl::StatusCodeToString(
      static_cast<absl::StatusCode>(status.error_code()));
  bool unknown = write && EtcdTransient(status) && !EtcdNotExecuted(status);
  absl::Status result(
      code,
      absl::StrCat("etcd ", what, " on ", target, ": ", code_text, ": ", m,
                   unknown ? " (outcome unknown: the write may or may "
                             "not have been applied)"
                           : ""));
  if (status.error_code() == grpc::StatusCode::OUT_OF_RANGE &&
      absl::StrContains(m, "compacted")) {
    result.SetPayload(kCompactedPayload, absl::Cord("0"));
  }
  if (unknown) result.SetPayload(kOutcomeUnknownPayload, absl::Cord("1"));
  return result;
}

absl::Status EtcdCompactedStatus(absl::string_view what,
                                 absl::string_view target,
                                 int64_t compact_revision) {
  absl::Status result = absl::OutOfRangeError(absl::StrCat(
      "etcd ", what, " on ", target,
      ": required revision has been compacted; oldest available revision is ",
      compact_revision));
  result.SetPayload(kCompactedPayload,
                    absl::Cord(absl::StrCat(compact_revision)));
  return result;
}

void EtcdPrepareContext(grpc::ClientContext* context, bool require_leader,
                        absl::optional<absl::Time> deadline) {
  if (deadline.has_value()) {
    context->set_deadline(absl::ToChronoTime(*deadline));
  }
  if (require_leader) context->AddMetadata("hasleader", "true");
}

void ToEtcdKeyValue(const mvccpb::KeyValue& from, EtcdKeyValue* to) {
  to->key = from.key();
  to->value = from.value();
  to->create_revision = from.create_revision();
  to->mod_revision = from.mod_revision();
  to->version = from.version();
}

// ---- Public helpers
// ----------------------------------------------------------

std::string PrefixRangeEnd(absl::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    unsigned char last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

bool IsEtcdCompacted(const absl::Status& status) {
  return status.code() == absl::StatusCode::kOutOfRange &&
         status.GetPayload(kCompactedPayload).has_value();
}

int64_t EtcdCompactRevision(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kCompactedPayload);
  int64_t revision = 0;
  if (payload.has_value() &&
      absl::SimpleAtoi(std::string(*payload), &revision)) {
    return revision;
  }
  return 0;
}

bool IsEtcdOutcomeUnknown(const absl::Status& status) {
  return status.GetPayload(kOutcomeUnknownPayload).has_value();
}

EtcdCompare EtcdCompare::Version(absl::string_view key, Op op,
                                 int64_t version) {
  EtcdCompare c;
  c.key = std::string(key);
  c.target = Target::kVersion;
  c.op = op;
  c.number = version;
  return c;
}

EtcdCompare EtcdCompare::CreateRevision(absl::string_view key, Op op,
                                        int64_t revision) {
  EtcdCompare c = Version(key, op, revision);
  c.target = Target::kCreateRevision;
  return c;
}

EtcdCompare EtcdCompare::ModRevision(absl::string_view key, Op op,
                                     int64_t revision) {
  EtcdCompare c = Version(key, op, revision);
  c.target = Target::kModRevision;
  return c;
}

EtcdCompare EtcdCompare::Value(absl::string_view key, Op op,
                               absl::string_view value) {
  EtcdCompare c;
  c.key = std::string(key);
  c.target = Target::kValue;
  c.op = op;
  c.value = std::string(value);
  return c;
}

EtcdOp EtcdOp::Get(absl::string_view key) { return Range(key, {}, 0); }

EtcdOp EtcdOp::Range(absl::string_view key, absl::string_view range_end,
                     int64_t limit) {
  EtcdOp op;
  op.type = Type::kRange;
  op.key = std::string(key);
  op.range_end = std::string(range_end);
  op.limit = limit;
  return op;
}

EtcdOp EtcdOp::Put(absl::string_view key, absl::string_view value) {
  EtcdOp op;
  op.type = Type::kPut;
  op.key = std::string(key);
  op.value = std::string(value);
  return op;
}

EtcdOp EtcdOp::Delete(absl::string_view key, absl::string_view range_end) {
  EtcdOp op;
  op.type = Type::kDeleteRange;
  op.key = std::string(key);
  op.range_end = std::string(range_end);
  return op;
}

// ---- Connection keeper
// --------------------------------------------------------

EtcdClient::Channels::Channels(std::vector<Member> m) : members(std::move(m)) {
  keeper = std::thread([this] {
    auto arm = [this](size_t i) {
      grpc_connectivity_state state =
          members[i].channel->GetState(/*try_to_connect=*/true);
      members[i].channel->NotifyOnStateChange(
          state,
          std::chrono::system_clock::now() +
              absl::ToChronoMilliseconds(kKeeperTick),
          &keeper_cq, reinterpret_cast<void*>(i));
    };
    for (size_t i = 0; i < members.size(); ++i) arm(i);
    size_t pending = members.size();
    void* tag = nullptr;
    bool ok = false;
    while (pending > 0 && keeper_cq.Next(&tag, &ok)) {
      if (stopping.load()) {
        --pending;
      } else {
        arm(reinterpret_cast<size_t>(tag));
      }
    }
  });
}

EtcdClient::Channels::~Channels() {
  stopping.store(true);
  keeper.join();
  keeper_cq.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (keeper_cq.Next(&tag, &ok)) {
  }
}

// ---- EtcdClient
// ----------------------------------------------------------------

absl::StatusOr<std::unique_ptr<EtcdClient>> EtcdClient::Create(
    Options options) {
  if (options.endpoints.empty()) {
    return absl::InvalidArgumentError("etcd client: no endpoints");
  }
  if (options.request_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "etcd client: request_timeout must be positive");
  }
  std::vector<std::string> targets;
  for (const std::string& endpoint : options.endpoints) {
    absl::StatusOr<std::string> target = ParseEndpoint(endpoint);
    if (!target.ok()) return target.status();
    targets.push_back(*std::move(target));
  }
  std::vector<Channels::Member> members;
  for (const std::string& target : targets) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS,
                absl::ToInt64Milliseconds(options.keepalive_time));
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                absl::ToInt64Milliseconds(options.keepalive_timeout));
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
    args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
                absl::ToInt64Milliseconds(options.min_reconnect_backoff));
    // gRPC takes its minimum *connect timeout* from this argument (the
    // backoff itself is the initial/max pair).
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
                absl::ToInt64Milliseconds(options.connect_timeout));
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
                absl::ToInt64Milliseconds(options.max_reconnect_backoff));
    args.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
    args.SetMaxSendMessageSize(-1);
    // Each client its own connections: replicas in one process (tests) stay
    // as independent as replicas in separate processes.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    Channels::Member member;
    member.channel = grpc::CreateCustomChannel(
        target, grpc::InsecureChannelCredentials(), args);
    member.kv = etcdserverpb::KV::NewStub(member.channel);
    member.watch = etcdserverpb::Watch::NewStub(member.channel);
    member.maintenance = etcdserverpb::Maintenance::NewStub(member.channel);
    member.cluster = etcdserverpb::Cluster::NewStub(member.channel);
    members.push_back(std::move(member));
  }
  auto channels = std::make_unique<Channels>(std::move(members));
  return std::unique_ptr<EtcdClient>(new EtcdClient(
      std::move(options), std::move(targets), std::move(channels)));
}

EtcdClient::EtcdClient(Options options, std::vector<std::string> targets,
                       std::unique_ptr<Channels> channels)
    : options_(std::move(options)),
      targets_(std::move(targets)),
      channels_(std::move(channels)) {}

EtcdClient::~EtcdClient() = default;

namespace {

// Runs `invoke(member, context, response)` on one member or, failing over,
// on each in turn; see the header for which failures fail over.
template <typename Response, typename Invoke>
absl::StatusOr<Response> CallWithFailover(
    const EtcdClientOptions& options, const std::vector<std::string>& targets,
    EtcdClient::Channels& channels, std::atomic<int>& preferred,
    const EtcdCallOptions& call, absl::string_view what, bool write,
    Invoke invoke, int* answered, bool needs_leader = true) {
  const int n = static_cast<int>(targets.size());
  if (call.endpoint >= n) {
    return absl::InvalidArgumentError(absl::StrCat(
        "etcd ", what, ": no member ", call.endpoint, " (", n, " endpoints)"));
  }
  const bool pinned = call.endpoint >= 0;
  const int start = pinned ? call.endpoint : preferred.load() % n;
  const int attempts = pinned ? 1 : n;
  const absl::Duration timeout = call.timeout.value_or(options.request_timeout);
  std::vector<absl::Status> failures;
  for (int a = 0; a < attempts; ++a) {
    const int e = (start + a) % n;
    grpc::ClientContext context;
    EtcdPrepareContext(&context, options.require_leader && needs_leader,
                       absl::Now() + timeout);
    Response response;
    grpc::Status status = invoke(channels.members[e], &context, &response);
    if (status.ok()) {
      if (!pinned) preferred.store(e);
      if (answered != nullptr) *answered = e;
      return response;
    }
    absl::Status failure = EtcdStatus(status, what, targets[e], write);
    bool next = EtcdTransient(status) && (!write || EtcdNotExecuted(status));
    if (!next || attempts == 1) return failure;
    failures.push_back(std::move(failure));
  }
  // Every member failed in transport.
  bool all_deadline = true;
  std::vector<std::string> parts;
  for (const absl::Status& f : failures) {
    all_deadline = all_deadline && absl::IsDeadlineExceeded(f);
    parts.push_back(std::string(f.message()));
  }
  absl::Status result(all_deadline ? absl::StatusCode::kDeadlineExceeded
                                   : absl::StatusCode::kUnavailable,
                      absl::StrCat("etcd ", what, ": no member answered: ",
                                   absl::StrJoin(parts, "; ")));
  // Keep what the last attempt knew (compaction, unknown outcome).
  failures.back().ForEachPayload(
      [&](absl::string_view url, const absl::Cord& payload) {
        result.SetPayload(url, payload);
      });
  return result;
}

}  // namespace

absl::StatusOr<EtcdRangeResult> EtcdClient::Range(absl::string_view key,
                                                  const EtcdRangeOptions& range,
                                                  const EtcdCallOptions& call) {
  etcdserverpb::RangeRequest request;
  request.set_key(std::string(key));
  request.set_range_end(range.range_end);
  request.set_limit(range.limit);
  request.set_revision(range.revision);
  request.set_serializable(range.serializable);
  request.set_keys_only(range.keys_only);
  request.set_count_only(range.count_only);
  absl::StatusOr<etcdserverpb::RangeResponse> response =
      CallWithFailover<etcdserverpb::RangeResponse>(
          options_, targets_, *channels_, preferred_, call,
          absl::StrCat("Range ", QuoteKey(key)), /*write=*/false,
          [&](Channels::Member& m, grpc::ClientContext* context,
              etcdserverpb::RangeResponse* out) {
            return m.kv->Range(context, request, out);
          },
          nullptr);
  if (!response.ok()) return response.status();
  EtcdRangeResult result;
  FromProto(*response, &result);
  return result;
}

absl::StatusOr<EtcdRangeResult> EtcdClient::RangeAll(
    absl::string_view key, absl::string_view range_end, int64_t revision,
    int64_t page_size, const EtcdCallOptions& call) {
  if (page_size <= 0) {
    return absl::InvalidArgumentError("etcd RangeAll: page_size must be > 0");
  }
  EtcdRangeResult all;
  EtcdRangeOptions options;
  options.range_end = std::string(range_end);
  options.limit = page_size;
  options.revision = revision;
  std::string from(key);
  for (;;) {
    absl::StatusOr<EtcdRangeResult> page = Range(from, options, call);
    if (!page.ok()) return page.status();
    if (options.revision == 0) {
      // Later pages read the store as of the first page's revision.
      options.revision = page->revision;
      all.count = page->count;
    }
    all.revision = options.revision;
    if (all.count == 0) all.count = page->count;
    for (EtcdKeyValue& kv : page->kvs) all.kvs.push_back(std::move(kv));
    if (!page->more || all.kvs.empty()) break;
    // The next page starts just after the last key read.
    from = all.kvs.back().key;
    from.push_back('\0');
  }
  all.more = false;
  all.count = static_cast<int64_t>(all.kvs.size());
  return all;
}

absl::StatusOr<int64_t> EtcdClient::Put(absl::string_view key,
                                        absl::string_view value,
                                        const EtcdCallOptions& call) {
  etcdserverpb::PutRequest request;
  request.set_key(std::string(key));
  request.set_value(std::string(value));
  absl::StatusOr<etcdserverpb::PutResponse> response =
      CallWithFailover<etcdserverpb::PutResponse>(
          options_, targets_, *channels_, preferred_, call,
          absl::StrCat("Put ", QuoteKey(key)), /*write=*/true,
          [&](Channels::Member& m, grpc::ClientContext* context,
              etcdserverpb::PutResponse* out) {
            return m.kv->Put(context, request, out);
          },
          nullptr);
  if (!response.ok()) return response.status();
  return response->header().revision();
}

absl::StatusOr<int64_t> EtcdClient::PutIf(absl::string_view key,
                                          absl::string_view value,
                                          std::vector<EtcdCompare> compares,
                                          const EtcdCallOptions& call) {
  EtcdTxn txn;
  txn.compares = std::move(compares);
  txn.success.push_back(EtcdOp::Put(key, value));
  absl::StatusOr<EtcdTxnResult> result = Txn(txn, call);
  if (!result.ok()) return result.status();
  if (!result->succeeded) {
    return absl::FailedPreconditionError(absl::StrCat(
        "etcd PutIf ", QuoteKey(key), " on ", targets_[result->endpoint],
        ": a compare failed; nothing written (store revision ",
        result->revision, ")"));
  }
  return result->revision;
}

absl::StatusOr<EtcdDeleteResult> EtcdClient::DeleteRange(
    absl::string_view key, absl::string_view range_end,
    const EtcdCallOptions& call) {
  etcdserverpb::DeleteRangeRequest request;
  request.set_key(std::string(key));
  request.set_range_end(std::string(range_end));
  absl::StatusOr<etcdserverpb::DeleteRangeResponse> response =
      CallWithFailover<etcdserverpb::DeleteRangeResponse>(
          options_, targets_, *channels_, preferred_, call,
          absl::StrCat("DeleteRange ", QuoteKey(key)), /*write=*/true,
          [&](Channels::Member& m, grpc::ClientContext* context,
              etcdserverpb::DeleteRangeResponse* out) {
            return m.kv->DeleteRange(context, request, out);
          },
          nullptr);
  if (!response.ok()) return response.status();
  EtcdDeleteResult result;
  result.deleted = response->deleted();
  result.revision = response->header().revision();
  return result;
}

absl::StatusOr<EtcdTxnResult> EtcdClient::Txn(const EtcdTxn& txn,
                                              const EtcdCallOptions& call) {
  etcdserverpb::TxnRequest request;
  bool write = false;
  for (const EtcdCompare& c : txn.compares) *request.add_compare() = ToProto(c);
  for (const EtcdOp& op : txn.success) {
    *request.add_success() = ToProto(op);
    write = write || op.type != EtcdOp::Type::kRange;
  }
  for (const EtcdOp& op : txn.failure) {
    *request.add_failure() = ToProto(op);
    write = write || op.type != EtcdOp::Type::kRange;
  }
  int answered = 0;
  absl::StatusOr<etcdserverpb::TxnResponse> response =
      CallWithFailover<etcdserverpb::TxnResponse>(
          options_, targets_, *channels_, preferred_, call,
          txn.compares.empty()
              ? std::string("Txn")
              : absl::StrCat("Txn on ", QuoteKey(txn.compares[0].key)),
          write,
          [&](Channels::Member& m, grpc::ClientContext* context,
              etcdserverpb::TxnResponse* out) {
            return m.kv->Txn(context, request, out);
          },
          &answered);
  if (!response.ok()) return response.status();
  EtcdTxnResult result;
  result.succeeded = response->succeeded();
  result.revision = response->header().revision();
  result.endpoint = answered;
  result.results.resize(response->responses_size());
  for (int i = 0; i < response->responses_size(); ++i) {
    const etcdserverpb::ResponseOp& op = response->responses(i);
    if (op.has_response_range()) {
      FromProto(op.response_range(), &result.results[i].range);
    } else if (op.has_response_delete_range()) {
      result.results[i].deleted = op.response_delete_range().deleted();
    }
  }
  return result;
}

absl::StatusOr<int64_t> EtcdClient::Compact(int64_t revision, bool physical,
                                            const EtcdCallOptions& call) {
  etcdserverpb::CompactionRequest request;
  request.set_revision(revision);
  request.set_physical(physical);
  absl::StatusOr<etcdserverpb::CompactionResponse> response =
      CallWithFailover<etcdserverpb::CompactionResponse>(
          options_, targets_, *channels_, preferred_, call,
          absl::StrCat("Compact at ", revision), /*write=*/true,
          [&](Channels::Member& m, grpc::ClientContext* context,
              etcdserverpb::CompactionResponse* out) {
            return m.kv->Compact(context, request, out);
          },
          nullptr);
  if (!response.ok()) return response.status();
  return response->header().revision();
}

absl::StatusOr<EtcdMemberStatus> EtcdClient::Status(
    int endpoint, const EtcdCallOptions& call) {
  EtcdCallOptions pinned = call;
  pinned.endpoint = endpoint;
  if (endpoint < 0) {
    return absl::InvalidArgumentError("etcd Status: no member given");
  }
  etcdserverpb::StatusRequest request;
  absl::StatusOr<etcdserverpb::StatusResponse> response =
      CallWithFailover<etcdserverpb::StatusResponse>(
          options_, targets_, *channels_, preferred_, pinned, "Status",
          /*write=*/false,
          [&](Channels::Member& m, grpc::ClientContext* context,
              etcdserverpb::StatusResponse* out) {
            return m.maintenance->Status(context, request, out);
          },
          nullptr, /*needs_leader=*/false);
  if (!response.ok()) return response.status();
  EtcdMemberStatus status;
  status.endpoint = endpoint;
  status.member_id = response->header().member_id();
  status.leader_id = response->leader();
  status.raft_index = response->raftindex();
  status.raft_applied_index = response->raftappliedindex();
  status.raft_term = response->raftterm();
  status.revision = response->header().revision();
  status.db_size = response->dbsize();
  status.version = response->version();
  status.errors.assign(response->errors().begin(), response->errors().end());
  status.is_learner = response->islearner();
  return status;
}

absl::StatusOr<std::vector<EtcdMember>> EtcdClient::MemberList(
    const EtcdCallOptions& call) {
  etcdserverpb::MemberListRequest request;
  absl::StatusOr<etcdserverpb::MemberListResponse> response =
      CallWithFailover<etcdserverpb::MemberListResponse>(
          options_, targets_, *channels_, preferred_, call, "MemberList",
          /*write=*/false,
          [&](Channels::Member& m, grpc::ClientContext* context,
              etcdserverpb::MemberListResponse* out) {
            return m.cluster->MemberList(context, request, out);
          },
          nullptr, /*needs_leader=*/false);
  if (!response.ok()) return response.status();
  std::vector<EtcdMember> members;
  for (const etcdserverpb::Member& m : response->members()) {
    EtcdMember member;
    member.id = m.id();
    member.name = m.name();
    member.peer_urls.assign(m.peerurls().begin(), m.peerurls().end());
    member.client_urls.assign(m.clienturls().begin(), m.clienturls().end());
    member.is_learner = m.islearner();
    members.push_back(std::move(member));
  }
  return members;
}

}  // namespace replication
}  // namespace arbiter
