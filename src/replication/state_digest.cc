// PolicyStateDigest: SHA-256 of a PolicySet as a set of objects.
//
// Every collection of a PolicySet is keyed (ids; custom permissions and roles
// by name; identity settings by organization), so its order carries no
// meaning, and two stores that reached one state by different paths (a
// writer applying mutations, a replica applying the resulting delta) may
// hold the objects in different positions. The canonical form sorts each
// top-level repeated field by the deterministic serialization of its
// elements (objects are replaced whole by deltas, so nothing below the top
// level differs) and hashes the deterministic serialization of the result.

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "arbiter/replicated_store.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/message.h"
#include "openssl/sha.h"

namespace arbiter {
namespace {

std::string Deterministic(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  m.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

}  // namespace

std::string PolicyStateDigest(const v1::PolicySet& state) {
  v1::PolicySet canonical = state;
  const google::protobuf::Descriptor* descriptor = canonical.GetDescriptor();
  const google::protobuf::Reflection* reflection = canonical.GetReflection();
  for (int f = 0; f < descriptor->field_count(); ++f) {
    const google::protobuf::FieldDescriptor* field = descriptor->field(f);
    if (!field->is_repeated() ||
        field->cpp_type() !=
            google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
      continue;
    }
    const int n = reflection->FieldSize(canonical, field);
    if (n < 2) continue;
    std::vector<std::pair<std::string, int>> keyed;
    keyed.reserve(n);
    for (int i = 0; i < n; ++i) {
      keyed.emplace_back(
          Deterministic(reflection->GetRepeatedMessage(canonical, field, i)),
          i);
    }
    std::sort(keyed.begin(), keyed.end());
    // Rebuild the field in sorted order from the serialized elements.
    reflection->ClearField(&canonical, field);
    for (const auto& [bytes, unused] : keyed) {
      google::protobuf::Message* element =
          reflection->AddMessage(&canonical, field);
      element->ParseFromString(bytes);
    }
  }
  const std::string bytes = Deterministic(canonical);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
         digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

}  // namespace arbiter
