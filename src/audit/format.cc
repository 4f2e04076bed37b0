#include "src/audit/format.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "google/protobuf/struct.pb.h"

namespace arbiter {
namespace internal {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

void PutU32(uint32_t v, std::string* out) {
  char b[4];
  for (int i = 3; i >= 0; --i) {
    b[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  out->append(b, 4);
}

void PutU64(uint64_t v, std::string* out) {
  char b[8];
  for (int i = 7; i >= 0; --i) {
    b[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  out->append(b, 8);
}

void PutStr(absl::string_view s, std::string* out) {
  PutU32(static_cast<uint32_t>(s.size()), out);
  out->append(s.data(), s.size());
}

void PutValue(const Value& value, std::string* out);

void PutObject(const Struct& object, std::string* out) {
  // A protobuf map iterates in no particular order: sort the keys.
  std::vector<const google::protobuf::MapPair<std::string, Value>*> entries;
  entries.reserve(object.fields_size());
  for (const auto& entry : object.fields()) entries.push_back(&entry);
  std::sort(entries.begin(), entries.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  out->push_back('o');
  PutU32(static_cast<uint32_t>(entries.size()), out);
  for (const auto* entry : entries) {
    PutStr(entry->first, out);
    PutValue(entry->second, out);
  }
}

void PutValue(const Value& value, std::string* out) {
  switch (value.kind_case()) {
    case Value::kNullValue:
    case Value::KIND_NOT_SET:  // refused on append; never hashed as valid
      out->push_back('n');
      return;
    case Value::kBoolValue:
      out->push_back(value.bool_value() ? 't' : 'f');
      return;
    case Value::kNumberValue: {
      const double d = value.number_value();
      uint64_t bits;
      std::memcpy(&bits, &d, sizeof(bits));
      out->push_back('d');
      PutU64(bits, out);
      return;
    }
    case Value::kStringValue:
      out->push_back('s');
      PutStr(value.string_value(), out);
      return;
    case Value::kListValue:
      out->push_back('l');
      PutU32(static_cast<uint32_t>(value.list_value().values_size()), out);
      for (const Value& v : value.list_value().values()) PutValue(v, out);
      return;
    case Value::kStructValue:
      PutObject(value.struct_value(), out);
      return;
  }
  out->push_back('n');
}

// SHA-256 fetched once: EVP_sha256() would look the implementation up in the
// provider on every digest (OpenSSL 3's "implicit fetch").
const EVP_MD* Sha256Md() {
  static const EVP_MD* const md = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched != nullptr ? fetched : EVP_sha256();
  }();
  return md;
}

std::string Digest(absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), out, &size, Sha256Md(), nullptr) !=
          1 ||
      size != kAuditHashBytes) {
    // libcrypto failing to hash in memory leaves nothing sane to do; an
    // empty hash never matches, so the chain fails closed.
    return std::string();
  }
  return std::string(reinterpret_cast<const char*>(out), size);
}

}  // namespace

const std::string& AuditGenesisHash() {
  static const std::string* const zeros =
      new std::string(kAuditHashBytes, '\0');
  return *zeros;
}

void AppendCanonicalAuditRecord(const v1::AuditRecord& r, std::string* out) {
  out->append(kAuditMagic.data(), kAuditMagic.size());
  PutU64(r.sequence(), out);
  PutStr(r.org_id(), out);
  PutStr(r.timestamp(), out);
  PutStr(r.user_id(), out);
  PutStr(r.source_ip(), out);
  PutStr(r.action(), out);
  PutStr(r.entity(), out);
  PutStr(r.resource_id(), out);
  PutU64(r.revision(), out);
  PutStr(r.user().name(), out);
  PutStr(r.user().email(), out);
  if (r.has_metadata()) {
    PutObject(r.metadata(), out);
  } else {
    out->push_back('n');
  }
  if (r.has_refusal()) {
    out->push_back('\x01');
    PutStr(r.refusal().code(), out);
    PutStr(r.refusal().message(), out);
  } else {
    out->push_back('\x00');
  }
  if (r.has_checkpoint()) {
    out->push_back('\x01');
    PutStr(r.checkpoint().reason(), out);
    PutU64(static_cast<uint64_t>(r.checkpoint().export_time()), out);
    PutStr(r.checkpoint().key_id(), out);
  } else {
    out->push_back('\x00');
  }
}

std::string ComputeAuditHash(absl::string_view prev_hash,
                             const v1::AuditRecord& record) {
  std::string data;
  data.reserve(prev_hash.size() + 256);
  data.append(prev_hash.data(), prev_hash.size());
  AppendCanonicalAuditRecord(record, &data);
  return Digest(data);
}

std::string Sha256(absl::string_view data) { return Digest(data); }

std::string CheckpointSignedMessage(const v1::AuditRecord& checkpoint) {
  std::string m(kAuditSignatureDomain.data(), kAuditSignatureDomain.size());
  PutStr(checkpoint.org_id(), &m);
  PutU64(checkpoint.sequence(), &m);
  m.append(checkpoint.hash());
  return m;
}

std::string HexEncode(absl::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

bool HexDecode(absl::string_view hex, std::string* bytes) {
  if (hex.size() % 2 != 0) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;  // upper case too: one spelling per hash
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  *bytes = std::move(out);
  return true;
}

}  // namespace internal
}  // namespace arbiter
