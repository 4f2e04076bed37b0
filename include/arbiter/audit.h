// File: arbiter/audit.h
//
// A tamper-evident audit log of administrative changes (access-model §9).
// Every applied mutation becomes a v1::AuditRecord in Anyscale's schema
// (timestamp, user_id, source_ip, action, entity, metadata, user{name,
// email}), extended with the organization, the store revision, the resource
// id and, for a refused transaction, the refusal. The records of each
// organization form a hash chain: each carries the SHA-256 of its
// predecessor, and its own hash covers that and its canonical bytes, so an
// edited, removed, reordered, inserted or truncated record breaks the chain.
// Checkpoint records, every N records and at each export, vouch for the
// chain head and are signed with an operator's Ed25519 key when one is
// configured, so that an exported log can be verified offline by anyone who
// holds only the public key (`arbiter audit verify DIR --public-key K.pem`).
//
// Example (the admin layer, under its writer lock):
//
//   arbiter::AuditActor actor{"usr_alice", "Alice", "alice@acme.com",
//                             "10.0.0.7"};
//   std::vector<arbiter::v1::AuditRecord> records;
//   records.push_back(arbiter::NewAuditRecord(
//       actor,
//       {"org_123", arbiter::audit_action::kModify,
//        arbiter::audit_entity::kUser, "usr_bob", /*revision=*/8},
//       {{"modifee_id", "usr_bob"},
//        {"old_role", "collaborator"},
//        {"new_role", "owner"}}));
//   absl::StatusOr<std::vector<arbiter::v1::AuditRecord>> appended =
//       log->Append(std::move(records));  // all or nothing
//   ...
//   log->Export("/var/audit");  // /var/audit/org_123/audit_logs/user/
//                               //   1690300746.log.jsonl, ...
//
// Formats (canonical bytes, chain, signatures, JSON Lines, export layout)
// are specified in docs/audit.md.

#ifndef ARBITER_AUDIT_H_
#define ARBITER_AUDIT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "absl/types/span.h"
#include "arbiter/clock.h"
#include "arbiter/decision.h"
#include "arbiter/request.h"
#include "arbiter/v1/audit.pb.h"

namespace arbiter {

// ---- Names
// ------------------------------------------------------------------- The
// actions and entities the library writes. Any upper-snake-case name
// ([A-Z][A-Z0-9_]*, at most 64 bytes) is accepted; "CHECKPOINT" is reserved
// for the log's own records. The entity names the export directory, lower
// case (SERVICE_ACCOUNT -> audit_logs/service_account/).
namespace audit_action {
inline constexpr char kInvite[] = "INVITE";  // §9 USER: invitee_email
inline constexpr char kJoin[] = "JOIN";      // §9 USER
inline constexpr char kRemove[] = "REMOVE";  // §9 USER: removee_id
inline constexpr char kModify[] = "MODIFY";  // §9 USER: modifee_id,
                                             // old_role, new_role
inline constexpr char kCreate[] = "CREATE";  // §9 BUDGET, CLUSTER: id
inline constexpr char kDelete[] = "DELETE";
inline constexpr char kGrant[] = "GRANT";
inline constexpr char kRevoke[] = "REVOKE";
inline constexpr char kEnable[] = "ENABLE";
inline constexpr char kDisable[] = "DISABLE";
inline constexpr char kRotate[] = "ROTATE";
inline constexpr char kSet[] = "SET";
inline constexpr char kDeny[] = "DENY";  // a sampled denied Check (ACCESS)
inline constexpr char kCheckpoint[] = "CHECKPOINT";  // written by AuditLog
}  // namespace audit_action

namespace audit_entity {
inline constexpr char kUser[] = "USER";
inline constexpr char kInvitation[] = "INVITATION";
inline constexpr char kCloud[] = "CLOUD";
inline constexpr char kProject[] = "PROJECT";
inline constexpr char kGroup[] = "GROUP";
inline constexpr char kServiceAccount[] = "SERVICE_ACCOUNT";
inline constexpr char kApiKey[] = "API_KEY";
inline constexpr char kRole[] = "ROLE";
inline constexpr char kResourceQuota[] = "RESOURCE_QUOTA";
inline constexpr char kBudget[] = "BUDGET";
inline constexpr char kIamMapping[] = "IAM_MAPPING";
inline constexpr char kPolicy[] = "POLICY";
inline constexpr char kAccess[] = "ACCESS";
inline constexpr char kCheckpoint[] = "CHECKPOINT";  // written by AuditLog
}  // namespace audit_entity

// ---- Building records
// ----------------------------------------------------------

// Who acted, and from where. Views: they need to live only during the call.
struct AuditActor {
  absl::string_view user_id;
  absl::string_view name;
  absl::string_view email;
  absl::string_view source_ip;
};

// What happened. Views, as above.
struct AuditEvent {
  absl::string_view org_id;
  absl::string_view action;  // audit_action::k...
  absl::string_view entity;  // audit_entity::k...
  absl::string_view resource_id;
  uint64_t revision = 0;
  // When it happened; unset: the log's clock at Append.
  absl::optional<absl::Time> time = absl::nullopt;
};

// A record for `event` by `actor`, with string metadata (§9's keys:
// invitee_email, removee_id, modifee_id, old_role, new_role, id, ...).
// Metadata of other types: SetAuditMetadataBool / SetAuditMetadataNumber.
// No metadata: JSON null. The record is not validated here; Append does.
v1::AuditRecord NewAuditRecord(
    const AuditActor& actor, const AuditEvent& event,
    std::initializer_list<std::pair<absl::string_view, absl::string_view>>
        metadata = {});

void SetAuditMetadata(v1::AuditRecord* record, absl::string_view key,
                      absl::string_view value);
void SetAuditMetadataBool(v1::AuditRecord* record, absl::string_view key,
                          bool value);
// JSON numbers are doubles: integers beyond 2^53 lose precision (pass ids
// as strings). NaN and infinities are refused by Append.
void SetAuditMetadataNumber(v1::AuditRecord* record, absl::string_view key,
                            double value);

// Marks `record` as the record of a refused transaction: refusal.code is the
// status code's name ("PERMISSION_DENIED"), refusal.message its message.
void SetAuditRefusal(v1::AuditRecord* record, const absl::Status& refusal);

// "2023-08-01 01:04:05.073682+00:00": §9's timestamp format (UTC,
// microseconds).
std::string FormatAuditTimestamp(absl::Time time);

// ---- Keys
// ------------------------------------------------------------------------

// An Ed25519 public key that verifies checkpoint signatures. Immutable and
// safe to share between threads.
class AuditPublicKey {
 public:
  // A PEM "PUBLIC KEY" (SubjectPublicKeyInfo), as `arbiter audit keygen` or
  // `openssl pkey -pubout` write. InvalidArgument when it does not parse or
  // is not an Ed25519 key.
  static absl::StatusOr<std::shared_ptr<const AuditPublicKey>> FromPem(
      absl::string_view pem);
  // FromPem of a file's contents; NotFound / InvalidArgument naming `path`.
  static absl::StatusOr<std::shared_ptr<const AuditPublicKey>> FromPemFile(
      const std::string& path);

  ~AuditPublicKey();
  AuditPublicKey(const AuditPublicKey&) = delete;
  AuditPublicKey& operator=(const AuditPublicKey&) = delete;

  // First 16 hex digits of SHA-256(raw 32-byte public key).
  const std::string& key_id() const { return key_id_; }
  std::string ToPem() const;
  // Whether `signature` is a valid Ed25519 signature of `message`.
  bool Verify(absl::string_view message, absl::string_view signature) const;

 private:
  struct Rep;
  explicit AuditPublicKey(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
  std::string key_id_;
  friend class AuditSigningKey;
};

// An Ed25519 private key that signs checkpoints. Immutable and safe to share
// between threads (each Sign uses its own context).
class AuditSigningKey {
 public:
  // A PEM "PRIVATE KEY" (PKCS#8, unencrypted: encrypted keys are refused
  // rather than prompting for a passphrase). InvalidArgument when it does
  // not parse or is not an Ed25519 key.
  static absl::StatusOr<std::shared_ptr<const AuditSigningKey>> FromPem(
      absl::string_view pem);
  static absl::StatusOr<std::shared_ptr<const AuditSigningKey>> FromPemFile(
      const std::string& path);
  // A fresh key from the operating system's randomness.
  static absl::StatusOr<std::shared_ptr<const AuditSigningKey>> Generate();

  ~AuditSigningKey();
  AuditSigningKey(const AuditSigningKey&) = delete;
  AuditSigningKey& operator=(const AuditSigningKey&) = delete;

  const std::string& key_id() const { return public_key_->key_id(); }
  const std::shared_ptr<const AuditPublicKey>& public_key() const {
    return public_key_;
  }
  // PKCS#8 PEM, unencrypted. Handle with care.
  std::string ToPem() const;
  // The 64-byte Ed25519 signature of `message`; Internal if libcrypto fails.
  absl::StatusOr<std::string> Sign(absl::string_view message) const;

 private:
  struct Rep;
  AuditSigningKey(std::unique_ptr<Rep> rep,
                  std::shared_ptr<const AuditPublicKey> public_key);
  std::unique_ptr<Rep> rep_;
  std::shared_ptr<const AuditPublicKey> public_key_;
};

// ---- Sinks
// -------------------------------------------------------------------

// Where committed batches go, besides the log's memory: a durable store, a
// stream. AuditLog calls Write once per batch, in chain order, with its lock
// held (so Write must not call back into the log), after the batch is
// chained and before it is committed: a non-OK status refuses the batch and
// leaves the log unchanged. Implementations need no locking of their own for
// one log; one sink shared by several logs must be thread-safe.
class AuditSink {
 public:
  virtual ~AuditSink() = default;
  virtual absl::Status Write(absl::Span<const v1::AuditRecord> batch) = 0;
};

// Keeps every record written, for tests and small deployments. Thread-safe.
class MemoryAuditSink : public AuditSink {
 public:
  absl::Status Write(absl::Span<const v1::AuditRecord> batch) override;
  std::vector<v1::AuditRecord> records() const;
  size_t batches() const;

 private:
  mutable std::mutex mu_;
  std::vector<v1::AuditRecord> records_;
  size_t batches_ = 0;
};

// ---- The log
// -----------------------------------------------------------------

// The head of an organization's chain: its last record's sequence and hash
// (sequence 0 and 32 zero bytes when it has none).
struct AuditHead {
  uint64_t sequence = 0;
  std::string hash;
};

struct AuditLogOptions {
  // After a batch that brings an organization's records since its last
  // checkpoint to at least this many, the log appends a checkpoint to the
  // batch. 0: checkpoints only at Export and Checkpoint. Default 1000.
  uint64_t checkpoint_interval = 1000;
  // Signs every checkpoint. Null (the default): unsigned checkpoints, and
  // verification reports the log as unsigned.
  std::shared_ptr<const AuditSigningKey> signing_key;
  // Timestamps of records without one, of checkpoints, and export times.
  // Not owned; must outlive the log. Default: Clock::System().
  const Clock* clock = nullptr;
  // Receives every committed batch (see AuditSink). Not owned; must outlive
  // the log. Default: none.
  AuditSink* sink = nullptr;
  // Batches of more records are refused (ResourceExhausted). Default 1M.
  size_t max_batch_records = 1000000;
  // Keep the records in memory (for Records and Export) until
  // ReleaseExported. False: keep only each organization's chain head, for
  // an application that persists records through the sink and never
  // exports from this log (Records returns nothing; Export is
  // FailedPrecondition). Default true.
  bool retain_records = true;
};

// A batch chained by AuditLog::Prepare, not yet committed. Move-only.
class AuditBatch {
 public:
  AuditBatch(AuditBatch&&) = default;
  AuditBatch& operator=(AuditBatch&&) = default;

  // The records as they will be committed: sequence, prev_hash and hash set,
  // checkpoints included.
  const std::vector<v1::AuditRecord>& records() const { return records_; }

 private:
  friend class AuditLog;
  AuditBatch() = default;
  std::vector<v1::AuditRecord> records_;
  // The heads the batch was chained on (org -> sequence), checked by Commit.
  std::map<std::string, uint64_t> base_;
};

// What Export wrote.
struct AuditExportResult {
  // Paths of the files written, under the export directory.
  std::vector<std::string> files;
  // Records written (checkpoints included), over every organization.
  uint64_t records = 0;
};

// The hash-chained audit log of every organization of a store. It keeps the
// records in memory (read them back with Records; free the exported ones
// with ReleaseExported, or keep none: AuditLogOptions::retain_records) and
// hands each batch to the sink, if any.
//
// Thread safety: every method may be called concurrently from any thread; a
// batch is appended atomically (its records are consecutive in each
// organization's chain).
class AuditLog {
 public:
  // A log that continues `existing` (records of a previous run, in order,
  // e.g. read back from a store), after checking their chains (but not
  // signatures) with VerifyAuditChain: DataLoss naming the first broken
  // record when one is broken. InvalidArgument for bad options.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Create(
      AuditLogOptions options = {},
      absl::Span<const v1::AuditRecord> existing = {});

  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends `batch` atomically: validates every record (InvalidArgument
  // "records[3].entity: ..." and nothing appended), fills in empty
  // timestamps, assigns each organization's next sequence numbers and the
  // chain hashes, adds an interval checkpoint per organization when due,
  // writes the batch to the sink and commits it. Returns the records as
  // appended (checkpoints last). A sink failure is returned and nothing is
  // appended. The caller sets no sequence, hash or checkpoint.
  //
  // Cost: about one SHA-256 of ~300 bytes per record, plus copies
  // (docs/audit.md has figures).
  absl::StatusOr<std::vector<v1::AuditRecord>> Append(
      std::vector<v1::AuditRecord> batch);

  // Append in two steps, for a caller that must write the records with data
  // of its own before they count (a store that commits a state delta and
  // its audit records in one transaction): Prepare validates and chains
  // without changing the log; Commit writes the batch to the sink and makes
  // it part of the log. Commit fails with FailedPrecondition, and changes
  // nothing, when the log moved since Prepare (call both under the same
  // writer lock). Dropping an AuditBatch abandons it.
  absl::StatusOr<AuditBatch> Prepare(std::vector<v1::AuditRecord> batch) const;
  absl::Status Commit(AuditBatch batch);

  // Appends a checkpoint to `org_id`'s chain now. FailedPrecondition when
  // the organization has no records.
  absl::StatusOr<v1::AuditRecord> Checkpoint(absl::string_view org_id);

  // Exports the records appended since the previous export, organization by
  // organization, as JSON Lines in access-model §9's layout:
  //   <dir>/<org_id>/audit_logs/<entity lower case>/<T>.log.jsonl
  // one file per entity, T the export time in Unix seconds (later than the
  // organization's previous export, so names never collide). Each export
  // first appends an export checkpoint to the chain (the last line of
  // checkpoint/<T>.log.jsonl). Files are written to a temporary name,
  // synced, and linked into place without replacing anything; on failure
  // the files written are removed and the log is unchanged. Organizations
  // with nothing new are skipped.
  absl::StatusOr<AuditExportResult> Export(const std::string& dir);

  // The records of `org_id` with a sequence above `after_sequence`, still
  // in memory, in order.
  std::vector<v1::AuditRecord> Records(absl::string_view org_id,
                                       uint64_t after_sequence = 0) const;
  // The organizations with records, sorted.
  std::vector<std::string> Organizations() const;
  AuditHead Head(absl::string_view org_id) const;
  // Frees the records already exported (Records no longer returns them).
  void ReleaseExported();

 private:
  struct OrgChain;
  explicit AuditLog(AuditLogOptions options);
  absl::StatusOr<AuditBatch> PrepareLocked(
      std::vector<v1::AuditRecord> records) const;
  absl::Status CommitLocked(const AuditBatch& batch);
  absl::StatusOr<v1::AuditRecord> MakeCheckpointLocked(
      const std::string& org_id, uint64_t sequence,
      const std::string& prev_hash, uint64_t revision, absl::string_view reason,
      int64_t export_time) const;

  const AuditLogOptions options_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<OrgChain>, std::less<>> chains_;
};

// ---- Verification
// ------------------------------------------------------------

struct AuditVerifyOptions {
  // Keys whose checkpoint signatures are accepted (several: key rotation).
  // Empty: signatures are not checked.
  std::vector<std::shared_ptr<const AuditPublicKey>> public_keys;
  // VerifyAuditChain: each organization's records must end with a
  // checkpoint. (VerifyAuditExport always requires an export checkpoint.)
  bool require_final_checkpoint = false;
  // VerifyAuditExport: larger files are refused (an input error).
  size_t max_file_bytes = size_t{1} << 30;
};

// The first broken record.
struct AuditProblem {
  // VerifyAuditChain: the record's index in the input.
  size_t index = 0;
  std::string org_id;
  // The record's sequence; 0 when it did not parse.
  uint64_t sequence = 0;
  // VerifyAuditExport: the file, relative to the directory verified, and
  // its 1-based line (0: the file or directory as a whole).
  std::string file;
  int line = 0;
  // What is wrong, e.g. "hash does not match the record (edited?)".
  std::string what;

  // "FILE:LINE: sequence N: WHAT" (export), "records[I] (org O, sequence
  // N): WHAT" (chain).
  std::string ToString() const;
};

enum class AuditSignatures {
  kUnsigned,    // no checkpoint is signed
  kNotChecked,  // signed checkpoints, but no public key given
  kVerified,    // every checkpoint from the first signed one on verified
};

// The outcome of a verification: intact (no problem) or the first problem,
// plus what was read.
struct AuditVerification {
  absl::optional<AuditProblem> problem;
  size_t organizations = 0;
  uint64_t records = 0;  // checkpoints included
  uint64_t checkpoints = 0;
  uint64_t signed_checkpoints = 0;
  // Checkpoints before the first signed one (signing started later).
  uint64_t unsigned_before_signed = 0;
  AuditSignatures signatures = AuditSignatures::kUnsigned;
  // The key ids that signed verified checkpoints, sorted.
  std::vector<std::string> key_ids;
  // Per organization: its last record's sequence and, for exports, the last
  // export time (Unix seconds).
  std::map<std::string, uint64_t> last_sequence;
  std::map<std::string, int64_t> last_export_time;

  bool ok() const { return !problem.has_value(); }
  // One line: "intact: 1 organization, 42 records, 3 checkpoints (3 signed,
  // verified with key 1a2b...)" or "BROKEN: <problem>".
  std::string Summary() const;
};

// Checks the chains of `records` (in log order; organizations may be
// interleaved): each organization's sequences run 1, 2, 3... without gaps,
// every prev_hash is the previous record's hash, every hash matches its
// record, checkpoints are well formed and, with public keys, every
// checkpoint from the first signed one on carries a valid signature by one
// of them (and at least one does). Reports the first problem in input
// order. For a durable store to call on open.
AuditVerification VerifyAuditChain(absl::Span<const v1::AuditRecord> records,
                                   const AuditVerifyOptions& options = {});

// Verifies an export directory: either one organization's directory (it
// holds audit_logs/) or a directory of them. Reads every
// audit_logs/<entity>/<T>.log.jsonl, reassembles each organization's chain
// by sequence number and checks it as VerifyAuditChain does, and more: each
// line parses (strict JSON: duplicate keys refused) with exactly the record
// keys, lies in its organization's and entity's directory, files list
// their records in increasing sequence order, each record is in the files
// of the export that covers it (T = the export time of the first export
// checkpoint at or after it), and the chain ends with an export checkpoint.
// Hidden files (".name") are ignored. A missing directory or an unreadable
// file is an error status; a broken log is an AuditVerification with a
// problem at FILE:LINE.
absl::StatusOr<AuditVerification> VerifyAuditExport(
    const std::string& dir, const AuditVerifyOptions& options = {});

// Every record of an export directory (see VerifyAuditExport), sorted by
// organization and sequence, without verifying the chain. InvalidArgument
// "FILE:LINE: ..." for a line that does not parse.
absl::StatusOr<std::vector<v1::AuditRecord>> ReadAuditExport(
    const std::string& dir);

// ---- JSON Lines ------------------------------------------------------------

// The record as one line of JSON (no newline): §9's keys in §9's order
// (snake_case; metadata an object or null; user an object), then org_id,
// revision, resource_id, sequence, refusal (object or null), checkpoint
// (object or null; signature in base64), prev_hash and hash (lower-case
// hex).
std::string AuditRecordToJson(const v1::AuditRecord& record);

// Parses one line written by AuditRecordToJson. Strict: duplicate keys,
// unknown or missing keys, wrong types, non-canonical hex or base64 are
// InvalidArgument naming `source` (e.g. "user/17.log.jsonl:3").
absl::StatusOr<v1::AuditRecord> AuditRecordFromJson(absl::string_view line,
                                                    absl::string_view source);

// ---- Sampled auditing of denied checks
// ---------------------------------------

struct DeniedCheckSamplerOptions {
  // Records one denied check in every N (counted over all threads). 1:
  // every denied check. Must be >= 1.
  uint32_t sample_one_in = 100;
  // Ring buffer slots, rounded up to a power of two (each ~560 bytes,
  // allocated once by Create). When the ring is full, samples are dropped
  // and counted. Must be >= 2 and <= 2^24.
  size_t capacity = 1024;
  // Time of each sample. Not owned. Default: Clock::System().
  const Clock* clock = nullptr;
};

// Samples denied Check decisions into a preallocated ring buffer without
// allocating or locking, for a background thread to drain into audit
// records (entity ACCESS, action DENY). Off unless the application creates
// one and calls Record after its checks.
//
// Thread safety: Record may be called from any number of threads at once;
// it never blocks and never allocates. Drain and stats may be called from
// any thread (Drain calls are serialized internally).
class DeniedCheckSampler {
 public:
  using Options = DeniedCheckSamplerOptions;
  // Ids longer than this are cut (at a UTF-8 boundary) and the record says
  // so (metadata truncated: true).
  static constexpr size_t kMaxIdBytes = 128;

  static absl::StatusOr<std::unique_ptr<DeniedCheckSampler>> Create(
      const Options& options = {});
  ~DeniedCheckSampler();
  DeniedCheckSampler(const DeniedCheckSampler&) = delete;
  DeniedCheckSampler& operator=(const DeniedCheckSampler&) = delete;

  // Hot path. Ignores allowed decisions and, with an empty `org_id`, counts
  // the check as unattributed. Samples one denied check in sample_one_in and
  // copies it (ids cut to kMaxIdBytes) into the ring; returns whether it was
  // recorded (false: allowed, not sampled, or the ring was full).
  bool Record(absl::string_view org_id, const AccessRequest& request,
              const Decision& decision);

  // Takes up to `max_records` samples out of the ring, oldest first, as
  // audit records for AuditLog::Append: entity ACCESS, action DENY, user_id
  // the principal as given, resource_id the resource as given, revision the
  // decision's, metadata {permission, reason, principal, resource,
  // sample_one_in, truncated}. Bytes of an id that are not UTF-8 become '?'.
  std::vector<v1::AuditRecord> Drain(size_t max_records = SIZE_MAX);

  struct Stats {
    uint64_t denied = 0;        // denied checks seen (with an org)
    uint64_t sampled = 0;       // recorded into the ring
    uint64_t dropped = 0;       // sampled but the ring was full
    uint64_t unattributed = 0;  // denied checks without an org id
  };
  Stats stats() const;

 private:
  struct Slot;
  DeniedCheckSampler(const Options& options, size_t capacity);

  const uint32_t one_in_;
  const size_t mask_;
  const Clock& clock_;
  std::unique_ptr<Slot[]> slots_;
  alignas(64) std::atomic<uint64_t> enqueue_pos_{0};
  alignas(64) std::atomic<uint64_t> dequeue_pos_{0};
  alignas(64) std::atomic<uint64_t> denied_{0};
  std::atomic<uint64_t> sampled_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> unattributed_{0};
  std::mutex drain_mu_;
};

}  // namespace arbiter

#endif  // ARBITER_AUDIT_H_
