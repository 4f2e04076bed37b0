// Ed25519 keys for checkpoint signatures, on OpenSSL 3's EVP API.

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "arbiter/audit.h"
#include "src/audit/format.h"

namespace arbiter {
namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

// The reason of libcrypto's last error, and clears the queue so that a
// later failure does not report this one.
std::string OpensslError() {
  const unsigned long e = ERR_peek_last_error();
  const char* reason = e == 0 ? nullptr : ERR_reason_error_string(e);
  std::string out = reason != nullptr ? reason : "unknown error";
  ERR_clear_error();
  return out;
}

// Refuses to prompt for a passphrase (PEM_read_bio_PrivateKey's default
// callback would read the terminal).
int NoPassphrase(char*, int, int, void*) { return -1; }

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

absl::StatusOr<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat(path, ": read error"));
  std::string data = ss.str();
  if (data.size() > (1 << 20)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": too large for a PEM key"));
  }
  return data;
}

absl::StatusOr<std::string> KeyIdOf(EVP_PKEY* pkey) {
  unsigned char raw[32];
  size_t len = sizeof(raw);
  if (EVP_PKEY_get_raw_public_key(pkey, raw, &len) != 1 || len != 32) {
    return absl::InternalError(
        absl::StrCat("cannot read the Ed25519 public key: ", OpensslError()));
  }
  return internal::HexEncode(internal::Sha256(absl::string_view(
                                 reinterpret_cast<const char*>(raw), len)))
      .substr(0, internal::kAuditKeyIdHexDigits);
}

}  // namespace

// ---- AuditPublicKey
// ----------------------------------------------------------

struct AuditPublicKey::Rep {
  PkeyPtr pkey;
};

AuditPublicKey::AuditPublicKey(std::unique_ptr<Rep> rep)
    : rep_(std::move(rep)) {}
AuditPublicKey::~AuditPublicKey() = default;

absl::StatusOr<std::shared_ptr<const AuditPublicKey>> AuditPublicKey::FromPem(
    absl::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return absl::InternalError("BIO_new_mem_buf failed");
  PkeyPtr pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, &NoPassphrase, nullptr));
  if (pkey == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a PEM public key (\"-----BEGIN PUBLIC KEY-----\"): ",
                     OpensslError()));
  }
  if (EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a ", EVP_PKEY_get0_type_name(pkey.get()), " public key, not Ed25519"));
  }
  absl::StatusOr<std::string> key_id = KeyIdOf(pkey.get());
  if (!key_id.ok()) return key_id.status();
  auto rep = std::make_unique<Rep>();
  rep->pkey = std::move(pkey);
  std::shared_ptr<AuditPublicKey> key(new AuditPublicKey(std::move(rep)));
  key->key_id_ = *std::move(key_id);
  return std::shared_ptr<const AuditPublicKey>(std::move(key));
}

absl::StatusOr<std::shared_ptr<const AuditPublicKey>>
AuditPublicKey::FromPemFile(const std::string& path) {
  absl::StatusOr<std::string> pem = ReadSmallFile(path);
  if (!pem.ok()) return pem.status();
  absl::StatusOr<std::shared_ptr<const AuditPublicKey>> key = FromPem(*pem);
  if (!key.ok()) {
    return absl::Status(key.status().code(),
                        absl::StrCat(path, ": ", key.status().message()));
  }
  return key;
}

std::string AuditPublicKey::ToPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr ||
      PEM_write_bio_PUBKEY(bio.get(), rep_->pkey.get()) != 1) {
    return "";
  }
  return BioContents(bio.get());
}

bool AuditPublicKey::Verify(absl::string_view message,
                            absl::string_view signature) const {
  if (signature.size() != internal::kAuditSignatureBytes) return false;
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  if (ctx == nullptr || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr,
                                             nullptr, rep_->pkey.get()) != 1) {
    ERR_clear_error();
    return false;
  }
  const int ok = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
      signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
      message.size());
  ERR_clear_error();
  return ok == 1;
}

// ---- AuditSigningKey
// ----------------------------------------------------------

struct AuditSigningKey::Rep {
  PkeyPtr pkey;
};

AuditSigningKey::AuditSigningKey(
    std::unique_ptr<Rep> rep, std::shared_ptr<const AuditPublicKey> public_key)
    : rep_(std::move(rep)), public_key_(std::move(public_key)) {}
AuditSigningKey::~AuditSigningKey() = default;

namespace {

// The public half of `pkey`, through its PEM (the simplest way that keeps
// the two objects independent).
absl::StatusOr<std::shared_ptr<const AuditPublicKey>> PublicHalf(
    EVP_PKEY* pkey) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_PUBKEY(bio.get(), pkey) != 1) {
    return absl::InternalError(
        absl::StrCat("cannot derive the public key: ", OpensslError()));
  }
  return AuditPublicKey::FromPem(BioContents(bio.get()));
}

}  // namespace

absl::StatusOr<std::shared_ptr<const AuditSigningKey>> AuditSigningKey::FromPem(
    absl::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return absl::InternalError("BIO_new_mem_buf failed");
  PkeyPtr pkey(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, &NoPassphrase, nullptr));
  if (pkey == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an unencrypted PEM private key (\"-----BEGIN PRIVATE "
                     "KEY-----\"): ",
                     OpensslError()));
  }
  if (EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError(
        absl::StrCat("a ", EVP_PKEY_get0_type_name(pkey.get()),
                     " private key, not Ed25519"));
  }
  absl::StatusOr<std::shared_ptr<const AuditPublicKey>> pub =
      PublicHalf(pkey.get());
  if (!pub.ok()) return pub.status();
  auto rep = std::make_unique<Rep>();
  rep->pkey = std::move(pkey);
  return std::shared_ptr<const AuditSigningKey>(
      new AuditSigningKey(std::move(rep), *std::move(pub)));
}

absl::StatusOr<std::shared_ptr<const AuditSigningKey>>
AuditSigningKey::FromPemFile(const std::string& path) {
  absl::StatusOr<std::string> pem = ReadSmallFile(path);
  if (!pem.ok()) return pem.status();
  absl::StatusOr<std::shared_ptr<const AuditSigningKey>> key = FromPem(*pem);
  if (!key.ok()) {
    return absl::Status(key.status().code(),
                        absl::StrCat(path, ": ", key.status().message()));
  }
  return key;
}

absl::StatusOr<std::shared_ptr<const AuditSigningKey>>
AuditSigningKey::Generate() {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> ctx(
      EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  EVP_PKEY* raw = nullptr;
  if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return absl::InternalError(
        absl::StrCat("Ed25519 key generation failed: ", OpensslError()));
  }
  PkeyPtr pkey(raw);
  absl::StatusOr<std::shared_ptr<const AuditPublicKey>> pub =
      PublicHalf(pkey.get());
  if (!pub.ok()) return pub.status();
  auto rep = std::make_unique<Rep>();
  rep->pkey = std::move(pkey);
  return std::shared_ptr<const AuditSigningKey>(
      new AuditSigningKey(std::move(rep), *std::move(pub)));
}

std::string AuditSigningKey::ToPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), rep_->pkey.get(), nullptr, nullptr, 0,
                               nullptr, nullptr) != 1) {
    return "";
  }
  return BioContents(bio.get());
}

absl::StatusOr<std::string> AuditSigningKey::Sign(
    absl::string_view message) const {
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  unsigned char sig[internal::kAuditSignatureBytes];
  size_t len = sizeof(sig);
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr,
                         rep_->pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig, &len,
                     reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1 ||
      len != sizeof(sig)) {
    return absl::InternalError(
        absl::StrCat("Ed25519 signing failed: ", OpensslError()));
  }
  return std::string(reinterpret_cast<const char*>(sig), len);
}

}  // namespace arbiter
