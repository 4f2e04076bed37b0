// Private to arbiter_store: the SHA-256 hashes that chain the store's rows
// (OpenSSL libcrypto, EVP_sha256). Every hash input starts with a domain
// string and its NUL, then fixed fields (u64 little-endian) and byte strings
// (u64 little-endian length, then the bytes), so that no two kinds of record
// and no two field splits hash alike. The layouts are in docs/store.md; a
// change to any of them is a new store format version.

#ifndef ARBITER_SRC_STORE_RECORD_HASH_H_
#define ARBITER_SRC_STORE_RECORD_HASH_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace arbiter {
namespace store {
namespace internal {

constexpr size_t kDigestSize = 32;
using Digest = std::array<uint8_t, kDigestSize>;

absl::string_view AsBytes(const Digest& d);
// False unless `bytes` is exactly kDigestSize long.
bool DigestFromBytes(absl::string_view bytes, Digest* out);
// Lower-case hex of all (or the first `n`) bytes.
std::string Hex(const Digest& d, size_t n = kDigestSize);
std::string HexBytes(absl::string_view bytes);

// The chain head at a base revision: revision 0 of a new store (its
// genesis), or the revision of the state a store was created from.
//   "arbiter.store.base.v1" | bytes store_id | u64 revision
Digest BaseHash(absl::string_view store_id, uint64_t revision);

// An entry, chained to the hash of the entry before it (or the base hash,
// or the chain head of the checkpoint its predecessors were compacted into).
//   "arbiter.store.entry.v1" | prev | u64 revision | bytes payload
Digest EntryHash(const Digest& prev, uint64_t revision,
                 absl::string_view payload);

// The seed of a checkpoint's chunk chain.
//   "arbiter.store.checkpoint.seed.v1" | bytes store_id | u64 revision
//   | chain_head
Digest CheckpointSeed(absl::string_view store_id, uint64_t revision,
                      const Digest& chain_head);

// One chunk, chained to the previous chunk's hash (the seed for chunk 0).
//   "arbiter.store.chunk.v1" | prev | u64 index | bytes data
Digest ChunkHash(const Digest& prev, uint64_t index, absl::string_view data);

// A complete checkpoint's record.
//   "arbiter.store.checkpoint.v1" | bytes store_id | u64 revision
//   | chain_head | u64 chunk_count | u64 total_bytes | last_chunk_hash
Digest CheckpointRecordHash(absl::string_view store_id, uint64_t revision,
                            const Digest& chain_head, uint64_t chunk_count,
                            uint64_t total_bytes,
                            const Digest& last_chunk_hash);

// The store_info row.
//   "arbiter.store.info.v1" | bytes format | u64 format_version
//   | bytes store_id | u64 created_unix_ms | u64 base_revision | base_hash
Digest StoreInfoHash(absl::string_view format, uint64_t format_version,
                     absl::string_view store_id, uint64_t created_unix_ms,
                     uint64_t base_revision, const Digest& base_hash);

// A domain-separated SHA-256 of arbitrary bytes (the LOCK record's check):
//   "arbiter.store.sha256.v1" | bytes bytes
Digest Sha256(absl::string_view bytes);

}  // namespace internal
}  // namespace store
}  // namespace arbiter

#endif  // ARBITER_SRC_STORE_RECORD_HASH_H_
