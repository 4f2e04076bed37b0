#include "src/store/record_hash.h"

#include <openssl/evp.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/escaping.h"

namespace arbiter {
namespace store {
namespace internal {

namespace {

// The SHA-256 implementation, fetched once (OpenSSL 3 fetches it again on
// every EVP_DigestInit with EVP_sha256()).
const EVP_MD* Sha256Md() {
  static const EVP_MD* const md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched != nullptr ? static_cast<const EVP_MD*>(fetched)
                              : EVP_sha256();
  }();
  return md;
}

// Streams fields into one SHA-256. Allocation and digest failures of
// libcrypto are not recoverable here: abort rather than return a hash that
// would fail (or worse, pass) verification.
class Hasher {
 public:
  explicit Hasher(absl::string_view domain) : ctx_(EVP_MD_CTX_new()) {
    if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, Sha256Md(), nullptr) != 1) {
      std::abort();
    }
    Raw(domain);
    const char nul = '\0';
    Raw(absl::string_view(&nul, 1));
  }
  ~Hasher() { EVP_MD_CTX_free(ctx_); }
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  Hasher& U64(uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
    Raw(absl::string_view(reinterpret_cast<const char*>(b), 8));
    return *this;
  }
  Hasher& Bytes(absl::string_view s) {
    U64(s.size());
    Raw(s);
    return *this;
  }
  Hasher& Fixed(const Digest& d) {
    Raw(AsBytes(d));
    return *this;
  }
  Digest Finish() {
    Digest out;
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx_, out.data(), &len) != 1 || len != out.size()) {
      std::abort();
    }
    return out;
  }

 private:
  void Raw(absl::string_view s) {
    if (!s.empty() && EVP_DigestUpdate(ctx_, s.data(), s.size()) != 1) {
      std::abort();
    }
  }
  EVP_MD_CTX* ctx_;
};

}  // namespace

absl::string_view AsBytes(const Digest& d) {
  return absl::string_view(reinterpret_cast<const char*>(d.data()), d.size());
}

bool DigestFromBytes(absl::string_view bytes, Digest* out) {
  if (bytes.size() != kDigestSize) return false;
  std::memcpy(out->data(), bytes.data(), kDigestSize);
  return true;
}

std::string Hex(const Digest& d, size_t n) {
  return absl::BytesToHexString(AsBytes(d).substr(0, n));
}

std::string HexBytes(absl::string_view bytes) {
  return absl::BytesToHexString(bytes);
}

Digest BaseHash(absl::string_view store_id, uint64_t revision) {
  return Hasher("arbiter.store.base.v1").Bytes(store_id).U64(revision).Finish();
}

Digest EntryHash(const Digest& prev, uint64_t revision,
                 absl::string_view payload) {
  return Hasher("arbiter.store.entry.v1")
      .Fixed(prev)
      .U64(revision)
      .Bytes(payload)
      .Finish();
}

Digest CheckpointSeed(absl::string_view store_id, uint64_t revision,
                      const Digest& chain_head) {
  return Hasher("arbiter.store.checkpoint.seed.v1")
      .Bytes(store_id)
      .U64(revision)
      .Fixed(chain_head)
      .Finish();
}

Digest ChunkHash(const Digest& prev, uint64_t index, absl::string_view data) {
  return Hasher("arbiter.store.chunk.v1")
      .Fixed(prev)
      .U64(index)
      .Bytes(data)
      .Finish();
}

Digest CheckpointRecordHash(absl::string_view store_id, uint64_t revision,
                            const Digest& chain_head, uint64_t chunk_count,
                            uint64_t total_bytes,
                            const Digest& last_chunk_hash) {
  return Hasher("arbiter.store.checkpoint.v1")
      .Bytes(store_id)
      .U64(revision)
      .Fixed(chain_head)
      .U64(chunk_count)
      .U64(total_bytes)
      .Fixed(last_chunk_hash)
      .Finish();
}

Digest StoreInfoHash(absl::string_view format, uint64_t format_version,
                     absl::string_view store_id, uint64_t created_unix_ms,
                     uint64_t base_revision, const Digest& base_hash) {
  return Hasher("arbiter.store.info.v1")
      .Bytes(format)
      .U64(format_version)
      .Bytes(store_id)
      .U64(created_unix_ms)
      .U64(base_revision)
      .Fixed(base_hash)
      .Finish();
}

Digest Sha256(absl::string_view bytes) {
  return Hasher("arbiter.store.sha256.v1").Bytes(bytes).Finish();
}

}  // namespace internal
}  // namespace store
}  // namespace arbiter
