// StringColumn: a snapshot's ids and names (grant ids, principal emails,
// ...), string i at a stable index, shared along a lineage like a Column
// (column.h): the bytes and the end offsets are two columns, and a derived
// snapshot appends the strings of the objects it adds.
//
// Built by the compiler as a StringTable (src/internal/string_table.h) and
// adopted without a copy.

#ifndef ARBITER_SRC_SNAPSHOT_STRING_COLUMN_H_
#define ARBITER_SRC_SNAPSHOT_STRING_COLUMN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "src/internal/string_table.h"
#include "src/snapshot/column.h"

namespace arbiter {
namespace internal {

class StringColumn {
 public:
  StringColumn() : offsets_(std::vector<uint32_t>{0}) {}
  explicit StringColumn(StringTable&& table)
      : bytes_(Column<char>::Adopt(table.TakeData())),
        offsets_(Column<uint32_t>::Adopt(table.TakeOffsets())) {}

  // `i` < size(). No bounds checks beyond the caller's.
  absl::string_view Get(uint32_t i) const {
    return absl::string_view(bytes_.data() + offsets_[i],
                             offsets_[i + 1] - offsets_[i]);
  }
  size_t size() const { return offsets_.size() - 1; }
  // Get(i) is string_view(data() + Offset(i), Get(i).size()).
  const char* data() const { return bytes_.data(); }
  uint32_t Offset(uint32_t i) const { return offsets_[i]; }

  // This column followed by `strings`; false if the bytes would pass 4 GiB.
  bool Append(const std::vector<absl::string_view>& strings,
              StringColumn* out) const {
    size_t bytes = 0;
    for (absl::string_view s : strings) bytes += s.size();
    const uint64_t end = offsets_[size()];
    if (end + bytes > UINT32_MAX) return false;
    std::vector<char> chars;
    chars.reserve(bytes);
    std::vector<uint32_t> ends;
    ends.reserve(strings.size());
    uint64_t at = end;
    for (absl::string_view s : strings) {
      chars.insert(chars.end(), s.begin(), s.end());
      at += s.size();
      ends.push_back(static_cast<uint32_t>(at));
    }
    // The bytes go first: a reader of `out` finds them before the offsets
    // that point at them (both are published together anyway).
    out->bytes_ = bytes_.Append(chars.data(), chars.size());
    out->offsets_ = offsets_.Append(ends.data(), ends.size());
    return true;
  }

  size_t MemoryUsage() const {
    return bytes_.MemoryUsage() + offsets_.MemoryUsage();
  }

 private:
  Column<char> bytes_;
  Column<uint32_t> offsets_;
};

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_SNAPSHOT_STRING_COLUMN_H_
