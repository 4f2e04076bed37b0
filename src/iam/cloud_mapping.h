// CloudMapping: the compiled IAM mapping of one cloud. It answers "which is
// the first rule whose selector holds for this workload?" without scanning
// every rule:
//
//  * every distinct value named by a rule is interned per key, so the
//    workload's attributes become small integers and `=`, `!=`, `in` and
//    `notin` compare integers;
//  * each rule is filed under one *anchor*: a positive requirement that must
//    hold for the rule to match (an `=` or `in` value, else a `~=` pattern),
//    or under "always" when it has none;
//  * the `~=` patterns of a key are batched into one RE2::Set, so one pass
//    over the workload's text finds every matching pattern. Project and
//    workload-type results are precomputed at compile time for every
//    project of the cloud; user results are computed on first need;
//  * FirstMatch merges the "always" list and the workload's equality lists
//    (each sorted by rule index) in rule order, checking each candidate's
//    remaining requirements until one holds; then it walks the lists of the
//    workload's matching patterns, below that best match only. The result is
//    the first match in list order, because a rule can only match if its
//    anchor holds, and every rule sits in the lists of its anchor.
//
// A CloudMapping is immutable after Build and safe for concurrent use.

#ifndef ARBITER_SRC_IAM_CLOUD_MAPPING_H_
#define ARBITER_SRC_IAM_CLOUD_MAPPING_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "arbiter/engine_options.h"
#include "arbiter/v1/iam_mapping.pb.h"
#include "arbiter/v1/resource.pb.h"
#include "re2/re2.h"
#include "re2/set.h"
#include "src/internal/diagnostics.h"
#include "src/snapshot/snapshot.h"
#include "src/iam/selector.h"

namespace arbiter {
namespace internal {

inline constexpr uint32_t kNoRule = kNone;

// Shared by cloud_mapping.cc (compiling) and cloud_mapping_match.cc
// (matching).
namespace iam_detail {
inline constexpr int kType = static_cast<int>(SelectorKey::kWorkloadType);
inline constexpr int kProject = static_cast<int>(SelectorKey::kProject);
inline constexpr int kUser = static_cast<int>(SelectorKey::kUser);
// Value ids of workload-type are fixed: job 0, service 1, workspace 2.
inline constexpr absl::string_view kTypeNames[] = {"job", "service",
                                                   "workspace"};
inline constexpr uint32_t kNumTypes = 3;
inline re2::StringPiece Piece(absl::string_view s) {
  return re2::StringPiece(s.data(), s.size());
}
}  // namespace iam_detail

// One workload as the rules of one cloud see it. Built by the caller from
// CloudMapping's lookups; FirstMatch fills the user pattern results lazily.
struct IamWorkload {
  // False only for the workload type of a plain cluster: every requirement
  // on an absent attribute is false.
  bool present[kNumSelectorKeys] = {true, true, true};
  // Interned value ids, kNone when no rule names the value.
  uint32_t value[kNumSelectorKeys] = {kNone, kNone, kNone};
  // "job", the project name, the user's email (any case).
  absl::string_view text[kNumSelectorKeys];
  // Bitsets of matching patterns per key; nullptr until known (or when the
  // key has no patterns).
  const uint64_t* bits[kNumSelectorKeys] = {nullptr, nullptr, nullptr};
  bool user_bits_done = false;
  // Set when evaluation met an inconsistency; FirstMatch then fails.
  bool error = false;
};

class CloudMapping {
 public:
  // Compiles `mapping`, the IAM mapping of state.clouds(cloud_index). Every
  // problem goes to `diag` as "clouds[i].iam_mapping...: ... in cloud "id""
  // and the result is nullptr.
  static std::unique_ptr<CloudMapping> Build(const v1::IamMapping& mapping,
                                             int cloud_index,
                                             absl::string_view cloud_id,
                                             const EngineOptions& options,
                                             Diagnostics& diag);

  CloudMapping(const CloudMapping&) = delete;
  CloudMapping& operator=(const CloudMapping&) = delete;
  ~CloudMapping();

  // ---- Compile-time setup by IamMappings ----
  // Records a project of this cloud: interns its name and precomputes its
  // pattern matches. `id` and `name` must outlive this object (they point
  // into the Snapshot). Call FinishProjects once all are added.
  void AddProject(uint32_t node, absl::string_view id, absl::string_view name,
                  bool is_default);
  // Indexes the projects by name and id (an id wins over an equal name).
  void FinishProjects();

  // ---- The workload ----
  // A project of this cloud by id or name, or the default project for "":
  // an index for SetProject and project_node, or kNone if unknown. One hash
  // lookup.
  uint32_t FindProject(absl::string_view project) const;
  // The default project's node, kNone before AddProject saw it.
  uint32_t default_project() const;
  // Fills the type, project and user entries of `w`. SetType returns false
  // for an unspecified or unknown type; SetProject takes FindProject's
  // result.
  bool SetType(v1::WorkloadType type, IamWorkload* w) const;
  void SetProject(uint32_t project, IamWorkload* w) const;
  void SetUser(absl::string_view email, IamWorkload* w) const;
  // The project's node in the Snapshot.
  uint32_t project_node(uint32_t project) const {
    return projects_[project].node;
  }

  // ---- Matching ----
  // Sets *rule to the index of the first rule whose selector holds, or
  // kNoRule. Returns false if evaluation could not complete (the caller
  // fails closed).
  bool FirstMatch(IamWorkload* w, uint32_t* rule) const;
  // The index of the first requirement of `rule` that does not hold, or -1.
  int FirstFailing(uint32_t rule, IamWorkload* w) const;

  // ---- The configuration ----
  bool fails_by_default() const { return fail_by_default_; }
  absl::string_view default_identity() const { return default_identity_; }
  size_t num_rules() const { return rules_.size(); }
  absl::string_view identity(uint32_t rule) const;
  absl::string_view selector(uint32_t rule) const;
  int num_requirements(uint32_t rule) const;
  absl::string_view requirement_text(uint32_t rule, int requirement) const;
  SelectorKey requirement_key(uint32_t rule, int requirement) const;

  size_t MemoryUsage() const;

 private:
  struct Req {
    SelectorKey key;
    SelectorOp op;
    uint32_t arg;    // value id, pattern id or offset into set_values_
    uint32_t count;  // values of kIn / kNotIn
    uint32_t text_begin;
    uint32_t text_end;
  };
  struct Rule {
    uint32_t req_begin;
    uint32_t req_end;
    std::string identity;
    std::string selector;
  };
  struct ProjectInfo {
    uint32_t node;
    uint32_t value;  // interned name, kNone when no rule names it
    uint32_t bits;   // offset into project_bits_, kNone without patterns
    absl::string_view id;
    absl::string_view name;
  };
  // Case-insensitive, transparent: user values are stored lower-cased and
  // found with the caller's spelling.
  struct CaseInsensitiveLookupHash {
    using is_transparent = void;
    size_t operator()(absl::string_view s) const;
  };
  struct CaseInsensitiveLookupEq {
    using is_transparent = void;
    bool operator()(absl::string_view a, absl::string_view b) const;
  };
  struct KeyTable {
    // Rules anchored on each value id: CSR over eq_rules.
    std::vector<uint32_t> eq_begin;
    std::vector<uint32_t> eq_rules;
    // Patterns, in id order, and the rules anchored on each (CSR).
    std::vector<std::string> patterns;
    std::vector<std::unique_ptr<RE2>> regexes;
    std::unique_ptr<RE2::Set> set;
    std::vector<uint32_t> pat_begin;
    std::vector<uint32_t> pat_rules;
    uint32_t first_pattern_rule = kNoRule;
    size_t words = 0;  // 64-bit words of a pattern bitset
  };

  CloudMapping() = default;

  bool CompileRule(const v1::IamMappingRule& rule, int rule_index,
                   absl::string_view path, absl::string_view cloud_suffix,
                   const EngineOptions& options, Diagnostics& diag);
  uint32_t Intern(SelectorKey key, absl::string_view value);
  // Returns the pattern id (equal patterns share one), or kNone with
  // *problem set.
  uint32_t AddPattern(SelectorKey key, absl::string_view pattern,
                      const EngineOptions& options, std::string* problem);
  bool Finish(absl::string_view path, absl::string_view cloud_suffix,
              const EngineOptions& options, Diagnostics& diag);
  // Bitset of the patterns of `key` that fully match `text`; words() words
  // at *out. Uses the RE2::Set, or each RE2 if the Set's DFA runs out of
  // memory.
  void MatchPatterns(SelectorKey key, absl::string_view text,
                     std::vector<int>* scratch, uint64_t* out) const;
  const uint64_t* UserBits(IamWorkload* w) const;
  bool Holds(const Req& q, IamWorkload* w) const;
  bool RuleHolds(uint32_t rule, IamWorkload* w) const;
  // Walks `list` (ascending rule indices) below *best; the first rule that
  // holds becomes *best.
  void Scan(const uint32_t* begin, const uint32_t* end, IamWorkload* w,
            uint32_t* best) const;

  std::vector<Rule> rules_;
  std::vector<Req> reqs_;
  std::vector<uint32_t> set_values_;
  std::vector<uint32_t> always_;  // rules without an anchor
  KeyTable keys_[kNumSelectorKeys];
  absl::flat_hash_map<std::string, uint32_t> project_values_;
  absl::flat_hash_map<std::string, uint32_t, CaseInsensitiveLookupHash,
                      CaseInsensitiveLookupEq>
      user_values_;
  // Compile-time only: pattern text -> id, per key.
  absl::flat_hash_map<std::string, uint32_t> pattern_ids_[kNumSelectorKeys];

  std::vector<ProjectInfo> projects_;
  // Project name or id -> index in projects_.
  absl::flat_hash_map<absl::string_view, uint32_t> project_index_;
  std::vector<uint64_t> project_bits_;
  std::vector<uint64_t> type_bits_;   // 3 * keys_[kWorkloadType].words
  uint32_t default_project_ = kNone;  // index in projects_

  bool fail_by_default_ = false;
  std::string default_identity_;
};

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_IAM_CLOUD_MAPPING_H_
