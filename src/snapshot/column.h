// Column<T>: one table of a snapshot, an array that a lineage of snapshots
// shares (leveldb's VersionSet::Builder idea: a new version copies nothing
// that did not change).
//
// A column is a view {data, size} of a storage block that only ever grows
// at its end. A snapshot derived from another by a delta (SnapshotBuilder)
// appends what it adds or relocates to the same block, when its base's view
// ends where the block's written part does and the block has room; the
// older snapshots keep reading their own shorter view of the same memory,
// which never changes under them. Otherwise (no room, or a sibling already
// appended past the base) the builder copies the view into a new block with
// twice the room: appends cost amortized O(1) per element and old snapshots
// are never disturbed.
//
// Invariants, stated once:
//  * [0, size) of a view never changes while any view holds the block;
//  * a block's written end only grows, by one builder at a time (a CAS on
//    `claimed` decides which, so even racing builders on one base are safe);
//  * T is trivially copyable: blocks are raw memory from HugePageAllocator.
//
// Readers index data() exactly like a std::vector's; Check pays nothing
// for the sharing.

#ifndef ARBITER_SRC_SNAPSHOT_COLUMN_H_
#define ARBITER_SRC_SNAPSHOT_COLUMN_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

#include "src/internal/huge_page_allocator.h"

namespace arbiter {
namespace internal {

template <typename T>
class Column {
  static_assert(std::is_trivially_copyable<T>::value,
                "a Column holds plain records");

 public:
  Column() = default;
  // A column of a copy of `values`, with no room to grow.
  template <typename A>
  explicit Column(const std::vector<T, A>& values) {
    Assign(values.data(), values.size(), 0);
  }
  // A column of `values` without a copy: the block takes the vector's
  // buffer (a fresh compile's tables), its spare capacity included as room.
  template <typename A>
  static Column Adopt(std::vector<T, A>&& values) {
    Column out;
    const size_t n = values.size();
    if (values.capacity() == 0) return out;
    // The room past n becomes elements of the vector, so that writing there
    // later is writing to its own elements.
    values.resize(values.capacity());
    auto owner = std::make_shared<std::vector<T, A>>(std::move(values));
    out.block_ = std::make_shared<Block>(owner->data(), owner->size(), owner);
    out.block_->claimed.store(n, std::memory_order_relaxed);
    out.data_ = out.block_->data;
    out.size_ = n;
    return out;
  }

  const T* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const T& operator[](size_t i) const { return data_[i]; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }
  const T& back() const { return data_[size_ - 1]; }

  // The bytes of the block behind this view (shared with other views).
  size_t MemoryUsage() const {
    return block_ != nullptr ? block_->capacity * sizeof(T) : 0;
  }
  // Whether two views share one block.
  bool SharesStorageWith(const Column& other) const {
    return block_ != nullptr && block_ == other.block_;
  }

  // This view followed by `values[0, n)`: in this view's block when the
  // block's written end is this view's end and it has room, else in a copy
  // with room to grow. Thread-compatible with readers of any view; builders
  // racing on one base each get a correct column.
  Column Append(const T* values, size_t n) const {
    if (n == 0) return *this;
    if (block_ != nullptr && size_ + n <= block_->capacity) {
      size_t expected = size_;
      if (block_->claimed.compare_exchange_strong(expected, size_ + n,
                                                  std::memory_order_acq_rel)) {
        std::memcpy(block_->data + size_, values, n * sizeof(T));
        Column out = *this;
        out.size_ = size_ + n;
        return out;
      }
    }
    Column out;
    out.Assign(data_, size_, std::max<size_t>(2 * (size_ + n), 64) - size_);
    return out.Append(values, n);
  }
  Column Append(const std::vector<T>& values) const {
    return Append(values.data(), values.size());
  }

  // A copy of this view in a block of its own, with `room` elements to
  // grow (a snapshot that will take many deltas, or a compaction).
  Column Copy(size_t room) const {
    Column out;
    out.Assign(data_, size_, room);
    return out;
  }

 private:
  struct Block {
    // A block of its own, of `n` elements.
    explicit Block(size_t n)
        : capacity(n), data(HugePageAllocator<T>().allocate(n)), owns(true) {}
    // A block in memory `owner` keeps alive (an adopted vector).
    Block(T* memory, size_t n, std::shared_ptr<void> owner)
        : capacity(n), data(memory), owns(false), owner(std::move(owner)) {}
    ~Block() {
      if (owns) HugePageAllocator<T>().deallocate(data, capacity);
    }
    Block(const Block&) = delete;
    Block& operator=(const Block&) = delete;
    const size_t capacity;
    T* const data;
    const bool owns;
    const std::shared_ptr<void> owner;
    std::atomic<size_t> claimed{0};  // the written end
  };

  void Assign(const T* values, size_t n, size_t room) {
    if (n + room == 0) {
      block_.reset();
      data_ = nullptr;
      size_ = 0;
      return;
    }
    block_ = std::make_shared<Block>(n + room);
    if (n > 0) std::memcpy(block_->data, values, n * sizeof(T));
    block_->claimed.store(n, std::memory_order_relaxed);
    data_ = block_->data;
    size_ = n;
  }

  std::shared_ptr<Block> block_;
  const T* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_SNAPSHOT_COLUMN_H_
