// Overlay<T>: the records of a table indexed by a stable object index
// (principals, nodes, group spans) that changed since its lineage's base.
//
// A record's index is its handle (PrincipalRef, ResourceRef), so a delta
// cannot move a changed record the way it relocates grants (column.h): the
// new version goes here instead, in pages of 256 records shared copy-on-write
// between the snapshots of a lineage. Deriving a snapshot copies the page
// table (one pointer per 256 records) and the pages it writes to; every
// other page is shared.
//
// Tables on the Check path (principals, nodes) also mark a changed base
// record with an `overridden` byte, read and written only atomically (the
// one byte of a shared block that ever changes after it is written): a
// reader looks here only for marked records, so an unchanged record costs
// nothing but a test of a byte in the line it already read. A mark is never
// cleared; a reader of an older snapshot that sees one finds nothing here
// (or its own older version) and keeps its base record.

#ifndef ARBITER_SRC_SNAPSHOT_OVERLAY_H_
#define ARBITER_SRC_SNAPSHOT_OVERLAY_H_

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace arbiter {
namespace internal {

// The overridden mark of a record (a byte of its padding).
inline bool IsOverridden(const uint8_t& mark) {
  return __atomic_load_n(&mark, __ATOMIC_RELAXED) != 0;
}
inline void MarkOverridden(const uint8_t& mark) {
  __atomic_store_n(const_cast<uint8_t*>(&mark), uint8_t{1}, __ATOMIC_RELAXED);
}

template <typename T>
class Overlay {
 public:
  static constexpr int kPageBits = 8;
  static constexpr uint32_t kPageSize = uint32_t{1} << kPageBits;

  // The overriding record of index i, or nullptr.
  const T* Find(uint32_t i) const {
    const size_t page = i >> kPageBits;
    if (page >= pages_.size() || pages_[page] == nullptr) return nullptr;
    const Page& p = *pages_[page];
    const uint32_t slot = i & (kPageSize - 1);
    return p.present[slot] ? &p.records[slot] : nullptr;
  }

  // Sets record i, copying its page if another overlay shares it. Call
  // only on an overlay no published snapshot holds yet (a builder's copy).
  void Set(uint32_t i, const T& value) {
    const size_t page = i >> kPageBits;
    if (page >= pages_.size()) pages_.resize(page + 1);
    std::shared_ptr<const Page>& p = pages_[page];
    if (p == nullptr) {
      p = std::make_shared<Page>();
    } else if (p.use_count() > 1) {
      p = std::make_shared<Page>(*p);
    }
    Page& mutable_page = const_cast<Page&>(*p);
    const uint32_t slot = i & (kPageSize - 1);
    if (!mutable_page.present[slot]) ++count_;
    mutable_page.present[slot] = true;
    mutable_page.records[slot] = value;
  }

  // Records overridden.
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }

  // Calls f(index, record) for every overriding record, by index.
  template <typename F>
  void ForEach(F&& f) const {
    for (size_t page = 0; page < pages_.size(); ++page) {
      if (pages_[page] == nullptr) continue;
      const Page& p = *pages_[page];
      for (uint32_t slot = 0; slot < kPageSize; ++slot) {
        if (p.present[slot]) {
          f(static_cast<uint32_t>(page << kPageBits | slot), p.records[slot]);
        }
      }
    }
  }

  // Bytes of the page table and pages (pages are shared along a lineage:
  // each snapshot counts all it holds).
  size_t MemoryUsage() const {
    size_t bytes = pages_.capacity() * sizeof(pages_[0]);
    for (const auto& p : pages_) {
      if (p != nullptr) bytes += sizeof(Page);
    }
    return bytes;
  }

 private:
  struct Page {
    std::bitset<kPageSize> present;
    T records[kPageSize];
  };
  std::vector<std::shared_ptr<const Page>> pages_;
  size_t count_ = 0;
};

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_SNAPSHOT_OVERLAY_H_
