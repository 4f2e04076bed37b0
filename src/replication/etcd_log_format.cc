#include "src/replication/etcd_log_format.h"

#include <algorithm>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace arbiter {
namespace replication {
namespace log_format {

std::string Where(absl::string_view prefix) {
  return absl::StrCat("etcd log ", prefix, ": ");
}

absl::StatusOr<std::string> NormalizePrefix(absl::string_view prefix) {
  if (prefix.empty() || prefix[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("etcd log: prefix \"", prefix, "\" must start with '/'"));
  }
  std::string p(prefix);
  if (p.back() != '/') p.push_back('/');
  return p;
}

absl::Status CheckOptions(const EtcdLogOptions& o) {
  if (o.chunk_bytes == 0 || o.max_inline_bytes == 0) {
    return absl::InvalidArgumentError(
        "etcd log: chunk_bytes and max_inline_bytes must be > 0");
  }
  if (o.read_page_entries <= 0 || o.read_page_chunks <= 0) {
    return absl::InvalidArgumentError(
        "etcd log: read_page_entries and read_page_chunks must be > 0");
  }
  if (o.max_batch_entries < 1 || o.max_batch_entries > 63) {
    return absl::InvalidArgumentError(
        "etcd log: max_batch_entries must be in 1..63");
  }
  if (o.write_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("etcd log: write_timeout must be > 0");
  }
  return absl::OkStatus();
}

std::string Pad20(uint64_t n) { return absl::StrFormat("%020u", n); }

std::string BlobPrefix(absl::string_view dir, uint64_t revision,
                       absl::string_view writer_id) {
  return absl::StrCat(dir, Pad20(revision), "-",
                      absl::BytesToHexString(writer_id), "/");
}

std::string ChunkKey(absl::string_view blob_prefix, uint64_t index) {
  return absl::StrCat(blob_prefix, absl::StrFormat("%06u", index));
}

std::string NewWriterId() {
  thread_local absl::BitGen gen;
  std::string id(16, '\0');
  for (char& c : id) c = static_cast<char>(absl::Uniform<uint8_t>(gen));
  return id;
}

absl::StatusOr<uint64_t> ParseHead(absl::string_view prefix,
                                   const std::vector<EtcdKeyValue>& kvs) {
  if (kvs.empty()) return 0;
  uint64_t head = 0;
  const std::string& v = kvs[0].value;
  if (v.empty() || v.size() > 20 ||
      !std::all_of(v.begin(), v.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(v, &head)) {
    return absl::DataLossError(
        absl::StrCat(Where(prefix), "key \"", kvs[0].key,
                     "\" does not hold a revision (found ", v.size(),
                     " bytes); is the prefix used by something else?"));
  }
  return head;
}

absl::StatusOr<uint64_t> ParseLogKey(absl::string_view prefix,
                                     absl::string_view key) {
  const std::string dir = LogDir(prefix);
  uint64_t revision = 0;
  absl::string_view digits = key;
  if (!absl::ConsumePrefix(&digits, dir) || digits.size() != 20 ||
      !std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(digits, &revision) || revision == 0) {
    return absl::DataLossError(
        absl::StrCat(Where(prefix), "unexpected key \"", key, "\" in the log"));
  }
  return revision;
}

absl::StatusOr<etcd::LogRecord> ParseLogRecord(absl::string_view prefix,
                                               const EtcdKeyValue& kv) {
  absl::StatusOr<uint64_t> revision = ParseLogKey(prefix, kv.key);
  if (!revision.ok()) return revision.status();
  etcd::LogRecord record;
  if (!record.ParseFromString(kv.value) || record.revision() != *revision ||
      record.body_case() == etcd::LogRecord::BODY_NOT_SET) {
    return absl::DataLossError(
        absl::StrCat(Where(prefix), "entry ", *revision, " (key \"", kv.key,
                     "\", etcd revision ", kv.mod_revision,
                     ") is not a log record for that revision"));
  }
  return record;
}

absl::StatusOr<etcd::CheckpointRecord> ParseCheckpointRecord(
    absl::string_view prefix, const EtcdKeyValue& kv) {
  etcd::CheckpointRecord record;
  if (!record.ParseFromString(kv.value) ||
      record.body_case() == etcd::CheckpointRecord::BODY_NOT_SET) {
    return absl::DataLossError(
        absl::StrCat(Where(prefix), "key \"", kv.key, "\" (etcd revision ",
                     kv.mod_revision, ") is not a checkpoint record"));
  }
  return record;
}

absl::StatusOr<etcd::ChunkedBlob> WriteBlob(EtcdClient& client,
                                            const std::string& blob_prefix,
                                            absl::string_view data,
                                            size_t chunk_bytes,
                                            absl::Time deadline) {
  etcd::ChunkedBlob blob;
  blob.set_key_prefix(blob_prefix);
  blob.set_size(data.size());
  blob.set_chunk_bytes(chunk_bytes);
  const uint64_t chunks = (data.size() + chunk_bytes - 1) / chunk_bytes;
  blob.set_chunk_count(static_cast<uint32_t>(std::max<uint64_t>(chunks, 1)));
  for (uint64_t i = 0; i < blob.chunk_count(); ++i) {
    absl::string_view part = data.substr(i * chunk_bytes, chunk_bytes);
    const std::string key = ChunkKey(blob_prefix, i);
    absl::Duration backoff = absl::Milliseconds(20);
    for (;;) {
      absl::StatusOr<int64_t> put = client.Put(key, part);
      if (put.ok()) break;
      const bool retry = absl::IsUnavailable(put.status()) ||
                         absl::IsDeadlineExceeded(put.status());
      if (!retry || absl::Now() + backoff > deadline) return put.status();
      absl::SleepFor(backoff);
      backoff = std::min(backoff * 2, absl::Milliseconds(500));
    }
  }
  return blob;
}

std::vector<EtcdCompare> BlobGuards(const etcd::ChunkedBlob& blob) {
  std::vector<EtcdCompare> guards;
  guards.push_back(EtcdCompare::Version(ChunkKey(blob.key_prefix(), 0),
                                        EtcdCompare::Op::kGreater, 0));
  if (blob.chunk_count() > 1) {
    guards.push_back(EtcdCompare::Version(
        ChunkKey(blob.key_prefix(), blob.chunk_count() - 1),
        EtcdCompare::Op::kGreater, 0));
  }
  return guards;
}

absl::StatusOr<std::string> ReadBlob(EtcdClient& client,
                                     const etcd::ChunkedBlob& blob,
                                     int64_t etcd_revision, int64_t page_chunks,
                                     absl::string_view what) {
  absl::StatusOr<EtcdRangeResult> chunks =
      client.RangeAll(blob.key_prefix(), PrefixRangeEnd(blob.key_prefix()),
                      etcd_revision, page_chunks);
  if (!chunks.ok()) return chunks.status();
  auto broken = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrCat(
        what, ": chunks under \"", blob.key_prefix(), "\" at etcd revision ",
        etcd_revision, ": ", why, " (expected ", blob.chunk_count(),
        " chunks, ", blob.size(), " bytes)"));
  };
  if (chunks->kvs.size() != blob.chunk_count()) {
    return broken(absl::StrCat("found ", chunks->kvs.size(), " chunks"));
  }
  std::string data;
  data.reserve(blob.size());
  for (uint64_t i = 0; i < chunks->kvs.size(); ++i) {
    const EtcdKeyValue& kv = chunks->kvs[i];
    if (kv.key != ChunkKey(blob.key_prefix(), i)) {
      return broken(absl::StrCat("chunk ", i, " has key \"", kv.key, "\""));
    }
    const bool last = i + 1 == chunks->kvs.size();
    if ((!last && kv.value.size() != blob.chunk_bytes()) ||
        kv.value.size() > blob.chunk_bytes()) {
      return broken(
          absl::StrCat("chunk ", i, " holds ", kv.value.size(), " bytes"));
    }
    data += kv.value;
  }
  if (data.size() != blob.size()) {
    return broken(absl::StrCat("found ", data.size(), " bytes"));
  }
  return data;
}

void DeleteBlobBestEffort(EtcdClient& client, const std::string& blob_prefix) {
  (void)client.DeleteRange(blob_prefix, PrefixRangeEnd(blob_prefix));
}

}  // namespace log_format
}  // namespace replication
}  // namespace arbiter
