#include "src/compiler/state_delta.h"

#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/message_differencer.h"
#include "src/internal/names.h"

namespace arbiter {
namespace internal {

std::string StateDelta::Encode() const {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  proto_.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

absl::StatusOr<StateDelta> StateDelta::Decode(absl::string_view bytes) {
  v1::StateDelta proto;
  if (bytes.size() > static_cast<size_t>(INT32_MAX) ||
      !proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InvalidArgumentError("not an encoded StateDelta");
  }
  return StateDelta(std::move(proto));
}

absl::Status StateDelta::ApplyTo(v1::PolicySet* state) const {
  // Grant id -> position in state->grants.
  absl::flat_hash_map<absl::string_view, int> position;
  position.reserve(state->grants_size());
  for (int i = 0; i < state->grants_size(); ++i) {
    position.emplace(state->grants(i).id(), i);
  }
  std::vector<bool> removed(state->grants_size(), false);
  for (int i = 0; i < proto_.remove_grants_size(); ++i) {
    const v1::Grant& g = proto_.remove_grants(i);
    auto it = position.find(g.id());
    if (it == position.end() || removed[it->second]) {
      return absl::NotFoundError(absl::StrCat(
          "remove_grants[", i, "]: no grant ", Quote(g.id()), " to remove"));
    }
    if (!google::protobuf::util::MessageDifferencer::Equals(
            state->grants(it->second), g)) {
      return absl::FailedPreconditionError(
          absl::StrCat("remove_grants[", i, "]: grant ", Quote(g.id()),
                       " differs from the state's"));
    }
    removed[it->second] = true;
  }
  // Nothing has changed so far: now apply.
  auto* grants = state->mutable_grants();
  int kept = 0;
  for (int i = 0; i < grants->size(); ++i) {
    if (removed[i]) continue;
    if (kept != i) grants->SwapElements(kept, i);
    ++kept;
  }
  grants->DeleteSubrange(kept, grants->size() - kept);
  for (const v1::Grant& g : proto_.add_grants()) *grants->Add() = g;
  state->set_revision(proto_.revision());
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace arbiter
