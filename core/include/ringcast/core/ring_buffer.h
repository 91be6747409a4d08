// RingBuffer<E>: a power-of-two array of preallocated event slots, indexed by sequence.
//
// The ring only stores; a sequencer (SingleProducerSequencer, MultiProducerSequencer) decides who
// may touch which slot when. Slots are built once by a factory and reused in place, so events that
// own memory (strings, vectors) keep their capacity and the steady state allocates nothing.
//
// Zero-filled rings (`RingBuffer<E>(capacity, kZeroFilled)`) are for trivial slot types whose
// all-zero bytes are a valid empty slot: the array is mapped from the kernel's zero pages and
// nothing is built, so a ring costs memory only for the pages its slots have been written to. A
// large ring that stays idle, or fills slowly, costs what it has used (useful with many rings,
// most of them quiet), and never more than a built ring.
//
// Thread safety: Get is safe from any thread; access to the slot it returns is governed by the
// sequencer protocol (a producer writes a slot between claim and publish; consumers read it after
// their barrier released it).
#ifndef RINGCAST_CORE_RING_BUFFER_H_
#define RINGCAST_CORE_RING_BUFFER_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "ringcast/core/check.h"
#include "ringcast/core/sequence.h"
#include "ringcast/core/zero_pages.h"

namespace ringcast {

// OK if `capacity` can size a ring: a power of two from 1 to 2^30.
inline absl::Status ValidateCapacity(int64_t capacity) {
  constexpr int64_t kMaxCapacity = int64_t{1} << 30;
  if (capacity < 1 || capacity > kMaxCapacity ||
      !std::has_single_bit(static_cast<uint64_t>(capacity))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ring capacity must be a power of two between 1 and ", kMaxCapacity, ", got ", capacity));
  }
  return absl::OkStatus();
}

// Selects RingBuffer's zero-filled constructor.
struct ZeroFilled {
  explicit ZeroFilled() = default;
};
inline constexpr ZeroFilled kZeroFilled{};

template <class E>
class RingBuffer {
  struct DefaultFactory {
    E operator()() const { return E(); }
  };

 public:
  // Builds `capacity` slots, each from `factory()`. Returns INVALID_ARGUMENT if the capacity is
  // not a power of two.
  template <class Factory = DefaultFactory>
  static absl::StatusOr<std::unique_ptr<RingBuffer>> Create(int64_t capacity,
                                                            Factory&& factory = Factory()) {
    if (absl::Status s = ValidateCapacity(capacity); !s.ok()) return s;
    return std::make_unique<RingBuffer>(capacity, std::forward<Factory>(factory));
  }

  // Requires: ValidateCapacity(capacity).ok() (checked: aborts with the reason otherwise).
  template <class Factory = DefaultFactory>
  explicit RingBuffer(int64_t capacity, Factory&& factory = Factory())
      : capacity_(capacity), mask_(capacity - 1) {
    RINGCAST_CHECK(ValidateCapacity(capacity).ok(),
                   "ring capacity must be a power of two between 1 and 2^30");
    slots_ = static_cast<E*>(
        ::operator new (sizeof(E) * static_cast<std::size_t>(capacity), std::align_val_t{kAlign}));
    std::size_t built = 0;
    try {
      for (; built < static_cast<std::size_t>(capacity); ++built) new (slots_ + built) E(factory());
    } catch (...) {
      Destroy(built);
      throw;
    }
  }

  // Zero-filled slots, mapped lazily (see the file comment). E must be trivial (no constructor or
  // destructor runs) and all-zero bytes must be its empty value. Aborts if the kernel refuses the
  // mapping, as operator new would throw.
  RingBuffer(int64_t capacity, ZeroFilled) requires std::is_trivially_default_constructible_v<E> &&
      std::is_trivially_destructible_v<E> : capacity_(capacity),
                                            mask_(capacity - 1) {
    RINGCAST_CHECK(ValidateCapacity(capacity).ok(),
                   "ring capacity must be a power of two between 1 and 2^30");
    zero_pages_.emplace(sizeof(E) * static_cast<std::size_t>(capacity));
    slots_ = static_cast<E*>(zero_pages_->data());  // page-aligned: at least kAlign
  }

  ~RingBuffer() {
    if (!zero_pages_) Destroy(static_cast<std::size_t>(capacity_));
  }

  RingBuffer(const RingBuffer&) = delete;
  RingBuffer& operator=(const RingBuffer&) = delete;

  [[nodiscard]] E& Get(int64_t sequence) noexcept { return slots_[sequence & mask_]; }
  [[nodiscard]] const E& Get(int64_t sequence) const noexcept { return slots_[sequence & mask_]; }
  [[nodiscard]] E& operator[](int64_t sequence) noexcept { return Get(sequence); }

  [[nodiscard]] int64_t capacity() const noexcept { return capacity_; }

 private:
  static constexpr std::size_t kAlign = alignof(E) > kCacheLineSize ? alignof(E) : kCacheLineSize;

  void Destroy(std::size_t built) noexcept {
    for (std::size_t i = 0; i < built; ++i) slots_[i].~E();
    ::operator delete (slots_, std::align_val_t{kAlign});
  }

  const int64_t capacity_;
  const int64_t mask_;
  std::optional<internal::ZeroPages> zero_pages_;  // a zero-filled ring's slots
  E* slots_;
};

}  // namespace ringcast

#endif  // RINGCAST_CORE_RING_BUFFER_H_
