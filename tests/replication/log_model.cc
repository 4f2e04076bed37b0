#include "tests/replication/log_model.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace arbiter {
namespace testing {

using replication::EtcdFollowerCallbacks;
using replication::EtcdLogEntry;
using replication::EtcdLogSnapshot;

std::string EncodeState(const std::vector<std::string>& payloads) {
  std::string out;
  for (const std::string& p : payloads) {
    const uint32_t n = static_cast<uint32_t>(p.size());
    out.append(reinterpret_cast<const char*>(&n), sizeof(n));
    out += p;
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> DecodeState(absl::string_view image) {
  std::vector<std::string> payloads;
  while (!image.empty()) {
    uint32_t n = 0;
    if (image.size() < sizeof(n)) return absl::DataLossError("truncated image");
    std::memcpy(&n, image.data(), sizeof(n));
    image.remove_prefix(sizeof(n));
    if (image.size() < n) return absl::DataLossError("truncated image");
    payloads.emplace_back(image.substr(0, n));
    image.remove_prefix(n);
  }
  return payloads;
}

absl::StatusOr<std::vector<std::string>> StateOf(
    const EtcdLogSnapshot& snapshot) {
  std::vector<std::string> state;
  if (snapshot.checkpoint.has_value()) {
    absl::StatusOr<std::vector<std::string>> image =
        DecodeState(snapshot.checkpoint->image);
    if (!image.ok()) return image.status();
    state = *std::move(image);
    if (state.size() != snapshot.checkpoint->revision) {
      return absl::DataLossError(
          absl::StrCat("checkpoint at revision ", snapshot.checkpoint->revision,
                       " holds ", state.size(), " payloads"));
    }
  }
  for (const EtcdLogEntry& e : snapshot.entries) {
    if (e.revision != state.size() + 1) {
      return absl::DataLossError(
          absl::StrCat("snapshot entry ", e.revision, " after ", state.size()));
    }
    state.push_back(e.payload);
  }
  return state;
}

absl::Status FollowerRecorder::Reset(const EtcdLogSnapshot& snapshot) {
  absl::StatusOr<std::vector<std::string>> state = StateOf(snapshot);
  if (!state.ok()) return state.status();
  std::lock_guard<std::mutex> lock(mu_);
  state_ = *std::move(state);
  etcd_revisions_.assign(state_.size(), 0);
  for (const EtcdLogEntry& e : snapshot.entries) {
    etcd_revisions_[e.revision - 1] = e.etcd_revision;
  }
  return absl::OkStatus();
}

EtcdFollowerCallbacks FollowerRecorder::Callbacks() {
  EtcdFollowerCallbacks callbacks;
  callbacks.on_entry = [this](const EtcdLogEntry& e) { return OnEntry(e); };
  callbacks.on_reset = [this](const EtcdLogSnapshot& s) { return OnReset(s); };
  return callbacks;
}

absl::Status FollowerRecorder::OnEntry(const EtcdLogEntry& entry) {
  std::lock_guard<std::mutex> lock(mu_);
  if (entry.revision != state_.size() + 1) {
    if (violation_.ok()) {
      violation_ = absl::InternalError(absl::StrCat(
          "entry ", entry.revision, " delivered after ", state_.size()));
    }
    return violation_;
  }
  state_.push_back(entry.payload);
  etcd_revisions_.push_back(entry.etcd_revision);
  ++entries_delivered_;
  return absl::OkStatus();
}

absl::Status FollowerRecorder::OnReset(const EtcdLogSnapshot& snapshot) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++resets_;
  }
  return Reset(snapshot);
}

std::vector<std::string> FollowerRecorder::state() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

uint64_t FollowerRecorder::revision() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_.size();
}

std::vector<int64_t> FollowerRecorder::etcd_revisions() const {
  std::lock_guard<std::mutex> lock(mu_);
  return etcd_revisions_;
}

int FollowerRecorder::resets() const {
  std::lock_guard<std::mutex> lock(mu_);
  return resets_;
}

int64_t FollowerRecorder::entries_delivered() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_delivered_;
}

absl::Status FollowerRecorder::violation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return violation_;
}

}  // namespace testing
}  // namespace arbiter
