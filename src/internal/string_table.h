// StringTable: append-only storage for the snapshot's ids and names. One
// contiguous buffer plus 32-bit offsets, so a snapshot with a million grant
// ids costs about the bytes of the ids plus four bytes each, not a million
// std::string headers. A table holds at most 4 GiB; past that, overflowed()
// turns true and the compiler refuses the state.

#ifndef ARBITER_SRC_INTERNAL_STRING_TABLE_H_
#define ARBITER_SRC_INTERNAL_STRING_TABLE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "src/internal/huge_page_allocator.h"

namespace arbiter {
namespace internal {

class StringTable {
 public:
  using Handle = uint32_t;

  // `max_bytes` (at most 4 GiB) exists for tests.
  explicit StringTable(size_t max_bytes = UINT32_MAX) : max_bytes_(max_bytes) {
    offsets_.push_back(0);
  }

  Handle Add(absl::string_view s) {
    if (s.size() > max_bytes_ - data_.size()) {
      overflow_ = true;
      s = absl::string_view();
    }
    data_.insert(data_.end(), s.data(), s.data() + s.size());
    offsets_.push_back(static_cast<uint32_t>(data_.size()));
    return static_cast<Handle>(offsets_.size() - 2);
  }

  bool overflowed() const { return overflow_; }

  // `h` < size(). On the Check path: no bounds checks beyond the caller's.
  absl::string_view Get(Handle h) const {
    return absl::string_view(data_.data() + offsets_[h],
                             offsets_[h + 1] - offsets_[h]);
  }

  size_t size() const { return offsets_.size() - 1; }

  // The buffer, and where string `h` starts in it: Get(h) is
  // string_view(data() + Offset(h), Get(h).size()).
  const char* data() const { return data_.data(); }
  uint32_t Offset(Handle h) const { return offsets_[h]; }

  void Reserve(size_t strings, size_t bytes) {
    offsets_.reserve(strings + 1);
    data_.reserve(bytes);
  }

  void ShrinkToFit() {
    data_.shrink_to_fit();
    offsets_.shrink_to_fit();
  }

  // The buffer and the end offsets (offsets[0] is 0), moved out: the
  // table is empty afterwards. (StringColumn adopts them.)
  HugeVector<char> TakeData() { return std::move(data_); }
  std::vector<uint32_t> TakeOffsets() { return std::move(offsets_); }

  size_t MemoryUsage() const {
    return data_.capacity() + offsets_.capacity() * sizeof(uint32_t);
  }

 private:
  size_t max_bytes_;
  // Huge pages past 2 MiB: by-name lookups compare keys stored here.
  HugeVector<char> data_;
  std::vector<uint32_t> offsets_;
  bool overflow_ = false;
};

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_INTERNAL_STRING_TABLE_H_
