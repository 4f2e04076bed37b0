#include "src/replication/etcd_watcher.h"

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "etcdserverpb/rpc.grpc.pb.h"
#include "etcdserverpb/rpc.pb.h"
#include "src/replication/etcd_grpc.h"

namespace arbiter {
namespace replication {
namespace {

// Completion-queue tags: (attempt id << 3) | operation. Attempt 0 is the
// watcher itself (the wake-up alarm).
enum TagOp : uintptr_t {
  kStart = 1,
  kRead = 2,
  kWrite = 3,
  kFinish = 4,
  kWake = 5
};

void* MakeTag(uint64_t attempt, TagOp op) {
  return reinterpret_cast<void*>(static_cast<uintptr_t>((attempt << 3) | op));
}
uint64_t TagAttempt(void* tag) {
  return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(tag)) >> 3;
}
TagOp TagOpOf(void* tag) {
  return static_cast<TagOp>(reinterpret_cast<uintptr_t>(tag) & 7);
}

bool PermanentWatchError(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::UNIMPLEMENTED:
      return true;
    default:
      return false;
  }
}

}  // namespace

struct EtcdWatcher::Impl {
  using Stream = grpc::ClientAsyncReaderWriter<etcdserverpb::WatchRequest,
                                               etcdserverpb::WatchResponse>;

  // One stream on one member.
  struct Attempt {
    uint64_t id = 0;
    int endpoint = 0;
    grpc::ClientContext context;
    std::unique_ptr<Stream> stream;
    etcdserverpb::WatchResponse response;     // the read in flight
    etcdserverpb::WatchRequest write_buffer;  // the write in flight
    std::deque<etcdserverpb::WatchRequest> write_queue;
    grpc::Status finish_status;
    bool start_pending = false;
    bool read_pending = false;
    bool write_pending = false;
    bool finish_called = false;
    bool finished = false;
    // A read or the start failed: the stream is over.
    bool broken = false;
    bool created = false;
    absl::Time create_deadline;
    // Set when we ended the stream ourselves; the reason replaces the
    // (CANCELLED) status gRPC then reports.
    bool aborting = false;
    absl::Status abort_reason;
    // Events of a fragmented response, until its last fragment.
    std::vector<mvccpb::Event> fragments;
  };

  Impl(EtcdClient* client, EtcdWatchOptions options)
      : client(client), options(std::move(options)) {
    const int n = client->endpoint_count();
    endpoint = this->options.first_endpoint >= 0
                   ? this->options.first_endpoint % n
                   : client->preferred_endpoint() % n;
    next_revision = this->options.start_revision;
    backoff = this->options.min_backoff;
    if (this->options.create_timeout <= absl::ZeroDuration()) {
      this->options.create_timeout = client->options().request_timeout;
    }
    published.endpoint = endpoint;
    published.next_revision = next_revision;
  }

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(mu);
      cancel_requested = true;
    }
    if (attempt != nullptr) Abort(absl::CancelledError("etcd watch destroyed"));
    // Drain until the stream is over and a pending wake-up alarm has been
    // delivered: a grpc::Alarm must not be destroyed while it may be firing
    // (gRPC 1.51 can then queue a freed tag), and its deadline is "now".
    for (;;) {
      bool wake_pending_now;
      {
        std::lock_guard<std::mutex> lock(mu);
        wake_pending_now = wake_pending;
      }
      if (attempt == nullptr && !wake_pending_now) break;
      void* tag = nullptr;
      bool ok = false;
      if (!cq.Next(&tag, &ok)) break;
      Handle(tag, ok, nullptr);
    }
    cq.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (cq.Next(&tag, &ok)) {
    }
  }

  std::string Target(int e) const { return client->endpoint(e); }
  std::string What() const {
    return absl::StrCat("Watch \"", options.key, "\" from revision ",
                        next_revision);
  }

  void Publish() {
    std::lock_guard<std::mutex> lock(mu);
    published.connected = attempt != nullptr && attempt->created;
    published.endpoint = endpoint;
    published.next_revision = next_revision;
    published.reconnects = reconnects;
    published.last_error = last_error;
  }

  // Any thread, mu held. At most one alarm is pending; it is replaced only
  // once its tag was delivered (see ~Impl).
  void Wake() {
    if (wake_pending) return;
    wake_pending = true;
    wake_alarm = std::make_unique<grpc::Alarm>();
    wake_alarm->Set(&cq, std::chrono::system_clock::now(), MakeTag(0, kWake));
  }

  void StartAttempt() {
    attempt = std::make_unique<Attempt>();
    attempt->id = next_attempt_id++;
    attempt->endpoint = endpoint;
    EtcdPrepareContext(&attempt->context, client->options().require_leader,
                       absl::nullopt);
    {
      std::lock_guard<std::mutex> lock(mu);
      live_context = &attempt->context;
      reconnect_requested = false;
    }
    etcdserverpb::WatchRequest request;
    etcdserverpb::WatchCreateRequest* create = request.mutable_create_request();
    create->set_key(options.key);
    create->set_range_end(options.range_end);
    if (next_revision > 0) create->set_start_revision(next_revision);
    create->set_progress_notify(options.progress_notify);
    create->set_fragment(true);
    attempt->write_queue.push_back(std::move(request));
    attempt->create_deadline = absl::Now() + options.create_timeout;
    attempt->stream =
        client->channels().members[endpoint].watch->PrepareAsyncWatch(
            &attempt->context, &cq);
    attempt->start_pending = true;
    attempt->stream->StartCall(MakeTag(attempt->id, kStart));
  }

  // Ends the current stream (asynchronously: its operations complete with
  // ok == false, then Finish runs).
  void Abort(absl::Status reason) {
    if (attempt == nullptr || attempt->aborting) return;
    attempt->aborting = true;
    attempt->abort_reason = std::move(reason);
    attempt->context.TryCancel();
    Advance();
  }

  void IssueRead() {
    attempt->read_pending = true;
    attempt->stream->Read(&attempt->response, MakeTag(attempt->id, kRead));
  }

  void IssueWrite() {
    if (attempt->write_pending || attempt->write_queue.empty() ||
        attempt->finish_called || attempt->start_pending) {
      return;
    }
    attempt->write_buffer = std::move(attempt->write_queue.front());
    attempt->write_queue.pop_front();
    attempt->write_pending = true;
    attempt->stream->Write(attempt->write_buffer, MakeTag(attempt->id, kWrite));
  }

  void IssueFinish() {
    if (attempt->finish_called) return;
    attempt->finish_called = true;
    attempt->stream->Finish(&attempt->finish_status,
                            MakeTag(attempt->id, kFinish));
  }

  // The stream is over and none of its operations is pending: decide what
  // comes next.
  void EndAttempt() {
    const grpc::Status& fs = attempt->finish_status;
    absl::Status reason;
    bool permanent = false;
    if (attempt->aborting) {
      reason = attempt->abort_reason;
    } else if (fs.ok()) {
      reason = absl::UnavailableError(
          absl::StrCat("etcd ", What(), " on ", Target(attempt->endpoint),
                       ": the member closed the stream"));
    } else {
      reason = EtcdStatus(fs, What(), Target(attempt->endpoint), false);
      permanent = PermanentWatchError(fs);
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      live_context = nullptr;
    }
    attempt.reset();
    bool cancelled;
    {
      std::lock_guard<std::mutex> lock(mu);
      cancelled = cancel_requested;
    }
    if (cancelled) {
      Finish(absl::CancelledError("etcd watch cancelled"));
    } else if (finished) {
      // Finish() already decided (compaction).
    } else if (permanent) {
      Finish(reason);
    } else {
      last_error = reason;
      endpoint = (endpoint + 1) % client->endpoint_count();
      next_connect = absl::Now() + backoff;
      backoff = std::min(backoff * 2, options.max_backoff);
      ++reconnects;
    }
    Publish();
  }

  void Finish(absl::Status status) {
    if (finished) return;
    finished = true;
    finished_status = std::move(status);
  }

  // Handles one completion. Returns true when *batch was filled (a batch
  // ready for the caller).
  bool Handle(void* tag, bool ok, EtcdWatchBatch* batch) {
    const TagOp op = TagOpOf(tag);
    if (op == kWake) {
      bool cancel, reconnect, progress;
      std::string reason;
      {
        std::lock_guard<std::mutex> lock(mu);
        wake_pending = false;
        cancel = cancel_requested;
        reconnect = reconnect_requested;
        reconnect_requested = false;
        reason = reconnect_reason;
        progress = progress_requested;
        progress_requested = false;
      }
      if (cancel) {
        if (attempt != nullptr) {
          Abort(absl::CancelledError("etcd watch cancelled"));
        } else {
          Finish(absl::CancelledError("etcd watch cancelled"));
        }
      } else if (reconnect && attempt != nullptr) {
        Abort(absl::UnavailableError(absl::StrCat("etcd ", What(), " on ",
                                                  Target(attempt->endpoint),
                                                  ": reconnecting: ", reason)));
      }
      if (progress && attempt != nullptr && attempt->created &&
          !attempt->aborting) {
        etcdserverpb::WatchRequest request;
        request.mutable_progress_request();
        attempt->write_queue.push_back(std::move(request));
        IssueWrite();
      }
      return false;
    }
    if (attempt == nullptr || TagAttempt(tag) != attempt->id) {
      return false;  // cannot happen: attempts end only when drained
    }
    switch (op) {
      case kStart:
        attempt->start_pending = false;
        if (!ok || attempt->aborting) {
          attempt->broken = true;
        } else {
          IssueRead();
          IssueWrite();
        }
        break;
      case kWrite:
        attempt->write_pending = false;
        if (ok && !attempt->aborting) IssueWrite();
        break;
      case kRead:
        attempt->read_pending = false;
        if (!ok) {
          attempt->broken = true;
        } else if (OnResponse(batch)) {
          Advance();
          return true;
        }
        break;
      case kFinish:
        attempt->finished = true;
        break;
      default:
        break;
    }
    Advance();
    return false;
  }

  // Moves a stream that is over (broken, or aborted by us) towards its end:
  // Finish once nothing else is pending, then EndAttempt once Finish
  // completed.
  void Advance() {
    if (attempt == nullptr) return;
    const bool idle = !attempt->start_pending && !attempt->read_pending &&
                      !attempt->write_pending;
    if (!idle) return;
    if (!attempt->finish_called && (attempt->broken || attempt->aborting)) {
      IssueFinish();
      return;
    }
    if (attempt->finished) EndAttempt();
  }

  // A response was read; issues the next read unless the stream ends.
  // Returns true when it produced a batch.
  bool OnResponse(EtcdWatchBatch* batch) {
    etcdserverpb::WatchResponse& r = attempt->response;
    const std::string target = Target(attempt->endpoint);
    if (r.compact_revision() > 0) {
      // Our start revision is gone; reconnecting cannot help.
      Finish(EtcdCompactedStatus(What(), target, r.compact_revision()));
      Abort(finished_status);
      return false;
    }
    if (r.canceled()) {
      Abort(absl::UnavailableError(absl::StrCat(
          "etcd ", What(), " on ", target, ": watch canceled by the member",
          r.cancel_reason().empty() ? "" : ": ", r.cancel_reason())));
      return false;
    }
    if (r.created()) {
      attempt->created = true;
      backoff = options.min_backoff;
      if (next_revision <= 0) next_revision = r.header().revision() + 1;
      IssueRead();
      Publish();
      return false;
    }
    for (mvccpb::Event& e : *r.mutable_events()) {
      attempt->fragments.push_back(std::move(e));
    }
    if (r.fragment()) {
      IssueRead();
      return false;
    }
    const int64_t header_revision = r.header().revision();
    std::vector<mvccpb::Event> events;
    events.swap(attempt->fragments);
    IssueRead();
    if (batch == nullptr) return false;
    batch->events.clear();
    batch->progress = events.empty();
    batch->header_revision = header_revision;
    batch->endpoint = attempt->endpoint;
    for (const mvccpb::Event& e : events) {
      // A revision before next_revision was delivered already (a member
      // must not resend it; this is the guard should one do so).
      if (e.kv().mod_revision() < next_revision) continue;
      EtcdWatchEvent event;
      event.type = e.type() == mvccpb::Event::DELETE
                       ? EtcdWatchEvent::Type::kDelete
                       : EtcdWatchEvent::Type::kPut;
      ToEtcdKeyValue(e.kv(), &event.kv);
      batch->events.push_back(std::move(event));
    }
    if (!events.empty() && batch->events.empty()) return false;
    if (!batch->events.empty()) {
      next_revision = batch->events.back().kv.mod_revision + 1;
      Publish();
    }
    return true;
  }

  absl::Status Next(absl::Time deadline, EtcdWatchBatch* batch) {
    for (;;) {
      if (finished && attempt == nullptr) return finished_status;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (cancel_requested && attempt == nullptr) {
          finished = true;
          finished_status = absl::CancelledError("etcd watch cancelled");
          return finished_status;
        }
      }
      const absl::Time now = absl::Now();
      if (attempt == nullptr && !finished && now >= next_connect) {
        StartAttempt();
        Publish();
      }
      absl::Time wait_until = deadline;
      if (attempt == nullptr) {
        wait_until = std::min(wait_until, next_connect);
      } else if (!attempt->created && !attempt->aborting) {
        wait_until = std::min(wait_until, attempt->create_deadline);
      }
      void* tag = nullptr;
      bool ok = false;
      grpc::CompletionQueue::NextStatus s =
          cq.AsyncNext(&tag, &ok, absl::ToChronoTime(wait_until));
      if (s == grpc::CompletionQueue::SHUTDOWN) {
        return absl::CancelledError("etcd watch shut down");
      }
      if (s == grpc::CompletionQueue::TIMEOUT) {
        const absl::Time t = absl::Now();
        if (attempt != nullptr && !attempt->created && !attempt->aborting &&
            t >= attempt->create_deadline) {
          Abort(absl::DeadlineExceededError(
              absl::StrCat("etcd ", What(), " on ", Target(attempt->endpoint),
                           ": watch not created within ",
                           absl::FormatDuration(options.create_timeout))));
          continue;
        }
        if (t >= deadline) {
          return absl::DeadlineExceededError("etcd watch: no event yet");
        }
        continue;
      }
      if (Handle(tag, ok, batch)) return absl::OkStatus();
    }
  }

  EtcdClient* const client;
  EtcdWatchOptions options;
  grpc::CompletionQueue cq;

  // Reader state (Next() only).
  std::unique_ptr<Attempt> attempt;
  uint64_t next_attempt_id = 1;
  int endpoint = 0;
  int64_t next_revision = 0;
  absl::Time next_connect = absl::InfinitePast();
  absl::Duration backoff;
  int64_t reconnects = 0;
  absl::Status last_error;
  bool finished = false;
  absl::Status finished_status;

  // Shared with other threads.
  mutable std::mutex mu;
  bool cancel_requested = false;
  bool reconnect_requested = false;
  std::string reconnect_reason;
  bool progress_requested = false;
  grpc::ClientContext* live_context = nullptr;
  std::unique_ptr<grpc::Alarm> wake_alarm;
  bool wake_pending = false;
  EtcdWatchState published;
};

EtcdWatcher::EtcdWatcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

EtcdWatcher::~EtcdWatcher() = default;

absl::Status EtcdWatcher::Next(absl::Time deadline, EtcdWatchBatch* batch) {
  return impl_->Next(deadline, batch);
}

void EtcdWatcher::Cancel() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->cancel_requested = true;
  if (impl_->live_context != nullptr) impl_->live_context->TryCancel();
  impl_->Wake();
}

void EtcdWatcher::Reconnect(absl::string_view reason) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->reconnect_requested = true;
  impl_->reconnect_reason = std::string(reason);
  impl_->Wake();
}

void EtcdWatcher::RequestProgress() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->progress_requested = true;
  impl_->Wake();
}

EtcdWatchState EtcdWatcher::state() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->published;
}

std::unique_ptr<EtcdWatcher> EtcdClient::Watch(
    const EtcdWatchOptions& options) {
  return std::unique_ptr<EtcdWatcher>(
      new EtcdWatcher(std::make_unique<EtcdWatcher::Impl>(this, options)));
}

}  // namespace replication
}  // namespace arbiter
