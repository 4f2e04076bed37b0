#include "src/compiler/state_delta.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/message.h"
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

bool StateDelta::empty() const {
  v1::StateDelta copy = proto_;
  copy.clear_base_revision();
  copy.clear_revision();
  return copy.ByteSizeLong() == 0;
}

bool StateDelta::GrantsOnly() const {
  v1::StateDelta copy = proto_;
  copy.clear_base_revision();
  copy.clear_revision();
  copy.clear_add_grants();
  copy.clear_remove_grants();
  return copy.ByteSizeLong() == 0;
}

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// PolicySet's repeated object fields (but grants) and their key fields.
struct KeyedField {
  const char* name;
  const char* key;
};
constexpr KeyedField kKeyed[] = {
    {"organizations", "id"},
    {"clouds", "id"},
    {"projects", "id"},
    {"workloads", "id"},
    {"compute_configs", "id"},
    {"images", "id"},
    {"principals", "id"},
    {"groups", "id"},
    {"custom_permissions", "name"},
    {"custom_roles", "name"},
    {"quotas", "id"},
    {"budgets", "id"},
    {"api_keys", "id"},
    {"invitations", "id"},
    {"identity_settings", "org_id"},
};

}  // namespace

absl::Status StateDelta::ApplyTo(v1::PolicySet* state) const {
  v1::PolicySet next = *state;  // all or nothing
  // Grants: removals whole.
  absl::flat_hash_map<std::string, int> position;
  for (int i = 0; i < next.grants_size(); ++i) {
    position.emplace(next.grants(i).id(), i);
  }
  std::vector<bool> removed(next.grants_size(), false);
  for (int i = 0; i < proto_.remove_grants_size(); ++i) {
    const v1::Grant& g = proto_.remove_grants(i);
    auto it = position.find(g.id());
    if (it == position.end() || removed[it->second]) {
      return absl::NotFoundError(absl::StrCat(
          "remove_grants[", i, "]: no grant ", Quote(g.id()), " to remove"));
    }
    if (!google::protobuf::util::MessageDifferencer::Equals(
            next.grants(it->second), g)) {
      return absl::FailedPreconditionError(
          absl::StrCat("remove_grants[", i, "]: grant ", Quote(g.id()),
                       " differs from the state's"));
    }
    removed[it->second] = true;
  }
  auto* grants = next.mutable_grants();
  int kept = 0;
  for (int i = 0; i < grants->size(); ++i) {
    if (removed[i]) continue;
    if (kept != i) grants->SwapElements(kept, i);
    ++kept;
  }
  grants->DeleteSubrange(kept, grants->size() - kept);
  // Other objects: deletes by key, then puts.
  const auto* sd = v1::PolicySet::descriptor();
  const auto* dd = v1::StateDelta::descriptor();
  const auto* sr = next.GetReflection();
  const auto* dr = proto_.GetReflection();
  for (const KeyedField& kf : kKeyed) {
    const FieldDescriptor* field = sd->FindFieldByName(kf.name);
    const FieldDescriptor* key = field->message_type()->FindFieldByName(kf.key);
    const FieldDescriptor* del =
        dd->FindFieldByName(absl::StrCat("delete_", kf.name));
    const FieldDescriptor* put =
        dd->FindFieldByName(absl::StrCat("put_", kf.name));
    auto* objects = sr->MutableRepeatedPtrField<Message>(&next, field);
    auto key_of = [&](const Message& m) {
      return m.GetReflection()->GetString(m, key);
    };
    for (int i = 0; i < dr->FieldSize(proto_, del); ++i) {
      const std::string k = dr->GetRepeatedString(proto_, del, i);
      int at = -1;
      for (int j = 0; j < objects->size(); ++j) {
        if (key_of(objects->Get(j)) == k) at = j;
      }
      if (at < 0) {
        return absl::NotFoundError(absl::StrCat(
            del->name(), "[", i, "]: no object ", Quote(k), " to remove"));
      }
      objects->DeleteSubrange(at, 1);
    }
    for (int i = 0; i < dr->FieldSize(proto_, put); ++i) {
      const Message& m = dr->GetRepeatedMessage(proto_, put, i);
      int at = -1;
      for (int j = 0; j < objects->size(); ++j) {
        if (key_of(objects->Get(j)) == key_of(m)) at = j;
      }
      if (at >= 0) {
        objects->Mutable(at)->CopyFrom(m);
      } else {
        Message* added = m.New();
        added->CopyFrom(m);
        objects->AddAllocated(added);
      }
    }
  }
  for (const v1::Grant& g : proto_.add_grants()) *grants->Add() = g;
  next.set_revision(proto_.revision());
  *state = std::move(next);
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace arbiter
