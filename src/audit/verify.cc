// Chain verification shared by VerifyAuditChain (records in memory, e.g. a
// store's) and VerifyAuditExport (src/audit/export.cc).

#include <algorithm>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "arbiter/audit.h"
#include "src/audit/export.h"
#include "src/audit/format.h"
#include "src/audit/record_check.h"

namespace arbiter {

std::string AuditProblem::ToString() const {
  std::string where;
  if (!file.empty()) {
    where = line > 0 ? absl::StrCat(file, ":", line) : file;
  } else {
    where = absl::StrCat("records[", index, "]");
    if (!org_id.empty()) absl::StrAppend(&where, " (org ", org_id, ")");
  }
  if (sequence > 0)
    return absl::StrCat(where, ": sequence ", sequence, ": ", what);
  return absl::StrCat(where, ": ", what);
}

std::string AuditVerification::Summary() const {
  if (problem.has_value()) return absl::StrCat("BROKEN: ", problem->ToString());
  auto counted = [](uint64_t n, absl::string_view one, absl::string_view many) {
    return absl::StrCat(n, " ", n == 1 ? one : many);
  };
  std::string out = absl::StrCat(
      "intact: ", counted(organizations, "organization", "organizations"), ", ",
      counted(records, "record", "records"), ", ",
      counted(checkpoints, "checkpoint", "checkpoints"), " (");
  switch (signatures) {
    case AuditSignatures::kUnsigned:
      out.append("unsigned: integrity only, no proof of origin");
      break;
    case AuditSignatures::kNotChecked:
      absl::StrAppend(&out, signed_checkpoints,
                      " signed, signatures NOT checked: pass a public key");
      break;
    case AuditSignatures::kVerified:
      absl::StrAppend(&out, signed_checkpoints, " signed, verified with key ",
                      absl::StrJoin(key_ids, ", "));
      if (unsigned_before_signed > 0) {
        absl::StrAppend(&out, "; ", unsigned_before_signed,
                        " unsigned before signing began");
      }
      break;
  }
  out.append(")");
  return out;
}

namespace internal {

std::string CheckNextAuditRecord(const v1::AuditRecord& r,
                                 const AuditVerifyOptions& options,
                                 AuditChainState* state, AuditVerification* v) {
  std::string problem = CheckStoredAuditRecord(r);
  if (!problem.empty()) return absl::StrCat("malformed record: ", problem);
  if (r.sequence() != state->sequence + 1) {
    if (r.sequence() <= state->sequence) {
      return absl::StrCat("expected sequence ", state->sequence + 1,
                          ": a duplicate, or a record out of order");
    }
    const uint64_t first = state->sequence + 1;
    const uint64_t last = r.sequence() - 1;
    return first == last
               ? absl::StrCat("follows sequence ", state->sequence, ": record ",
                              first, " is missing")
               : absl::StrCat("follows sequence ", state->sequence,
                              ": records ", first, "..", last, " are missing");
  }
  const std::string& prev =
      state->hash.empty() ? AuditGenesisHash() : state->hash;
  if (r.prev_hash() != prev) {
    return state->sequence == 0
               ? "prev_hash is not the chain's start (32 zero bytes)"
               : absl::StrCat("prev_hash is not the hash of sequence ",
                              state->sequence,
                              " (a record before it was replaced or edited)");
  }
  if (ComputeAuditHash(prev, r) != r.hash()) {
    return "hash does not match the record's contents (edited?)";
  }
  if (r.has_checkpoint()) {
    const v1::AuditCheckpoint& c = r.checkpoint();
    if (!c.signature().empty()) {
      if (!options.public_keys.empty()) {
        const AuditPublicKey* key = nullptr;
        std::vector<std::string> ids;
        for (const auto& k : options.public_keys) {
          if (k == nullptr) continue;
          ids.push_back(k->key_id());
          if (k->key_id() == c.key_id()) key = k.get();
        }
        if (key == nullptr) {
          return absl::StrCat("checkpoint signed with key ", c.key_id(),
                              ", not with the public key given (",
                              absl::StrJoin(ids, ", "), ")");
        }
        if (!key->Verify(CheckpointSignedMessage(r), c.signature())) {
          return absl::StrCat("checkpoint signature does not verify with key ",
                              c.key_id(), " (forged or altered)");
        }
        if (std::find(v->key_ids.begin(), v->key_ids.end(), c.key_id()) ==
            v->key_ids.end()) {
          v->key_ids.push_back(c.key_id());
          std::sort(v->key_ids.begin(), v->key_ids.end());
        }
      }
      state->seen_signed = true;
      ++v->signed_checkpoints;
    } else if (!options.public_keys.empty() && state->seen_signed) {
      return "unsigned checkpoint after signed ones (signatures stripped?)";
    } else if (!state->seen_signed) {
      ++v->unsigned_before_signed;
    }
    ++v->checkpoints;
  }
  state->sequence = r.sequence();
  state->hash = r.hash();
  state->last_was_checkpoint = r.has_checkpoint();
  ++v->records;
  v->last_sequence[r.org_id()] = r.sequence();
  return "";
}

void FinishAuditVerification(const AuditVerifyOptions& options,
                             AuditVerification* v) {
  v->organizations = v->last_sequence.size();
  if (v->signed_checkpoints == 0) {
    v->signatures = AuditSignatures::kUnsigned;
    v->unsigned_before_signed = 0;
  } else if (options.public_keys.empty()) {
    v->signatures = AuditSignatures::kNotChecked;
  } else {
    v->signatures = AuditSignatures::kVerified;
  }
}

}  // namespace internal

AuditVerification VerifyAuditChain(absl::Span<const v1::AuditRecord> records,
                                   const AuditVerifyOptions& options) {
  AuditVerification v;
  std::map<std::string, internal::AuditChainState> chains;
  std::map<std::string, size_t> last_index;
  for (size_t i = 0; i < records.size(); ++i) {
    const v1::AuditRecord& r = records[i];
    internal::AuditChainState& state = chains[r.org_id()];
    std::string what = internal::CheckNextAuditRecord(r, options, &state, &v);
    if (!what.empty()) {
      v.problem =
          AuditProblem{i, r.org_id(), r.sequence(), "", 0, std::move(what)};
      break;
    }
    last_index[r.org_id()] = i;
  }
  if (!v.problem.has_value()) {
    for (const auto& [org, state] : chains) {
      const size_t i = last_index[org];
      std::string what;
      if (options.require_final_checkpoint && !state.last_was_checkpoint) {
        what = "the chain ends without a checkpoint (truncated?)";
      } else if (!options.public_keys.empty() && !state.seen_signed) {
        what =
            "no checkpoint is signed (an unsigned log, or its signatures "
            "were removed)";
      }
      if (!what.empty()) {
        v.problem =
            AuditProblem{i, org, records[i].sequence(), "", 0, std::move(what)};
        break;
      }
    }
  }
  internal::FinishAuditVerification(options, &v);
  return v;
}

}  // namespace arbiter
