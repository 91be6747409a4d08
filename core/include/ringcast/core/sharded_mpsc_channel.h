// ShardedMpscChannel<E>: many producers, one consumer, no contention between producers.
//
// Each registered producer owns a single-producer single-consumer ring (a shard); the consumer
// drains the shards in turn with a bounded batch per shard. Order is FIFO per producer; there is
// no order between producers. Slots are preallocated and reused in place: a producer reserves a
// slot (TryClaim), fills it and commits it (Commit), so the steady state allocates nothing.
//
// Thread safety: RegisterProducer from any thread. A Producer handle belongs to one thread at a
// time; destroying it unregisters the shard once the consumer has drained it. Drain and SizeGuess
// belong to the single consumer thread (SizeGuess is also safe, and approximate, elsewhere).
//
// Memory ordering: a shard's tail is stored with release by its producer after writing the slot
// and loaded with acquire by the consumer (pair one); the head is stored with release by the
// consumer after reading and loaded with acquire by the producer before reusing a slot (pair
// two). A shard's state moves free -> active (acq_rel CAS by the registering thread) -> closed
// (release, by the producer's destructor) -> free (release, by the consumer once drained); each
// transition's acquire side sees the previous owner's writes, including the ring indices.
#ifndef RINGCAST_CORE_SHARDED_MPSC_CHANNEL_H_
#define RINGCAST_CORE_SHARDED_MPSC_CHANNEL_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "ringcast/core/check.h"
#include "ringcast/core/ring_buffer.h"
#include "ringcast/core/sequence.h"

namespace ringcast {

template <class E>
class ShardedMpscChannel {
  struct Shard;
  struct DefaultFactory {
    E operator()() const { return E(); }
  };

 public:
  // A registered producer. Move-only; unregisters on destruction (committed events are still
  // delivered).
  class Producer {
   public:
    Producer(Producer&& other) noexcept : shard_(std::exchange(other.shard_, nullptr)) {}
    Producer& operator=(Producer&& other) noexcept {
      if (this != &other) {
        Close();
        shard_ = std::exchange(other.shard_, nullptr);
      }
      return *this;
    }
    ~Producer() { Close(); }

    // A slot to fill, or nullptr when this producer's shard is full. Call Commit to publish it.
    [[nodiscard]] E* TryClaim() noexcept {
      Shard& s = *shard_;
      const uint64_t tail = s.producer.tail.load(std::memory_order_relaxed);  // we wrote it
      if (tail - s.producer.head_cache >= s.capacity) {
        // Acquire; pairs with the release of head in Drain: the consumer is done with the slot.
        s.producer.head_cache = s.consumer.head.load(std::memory_order_acquire);
        if (tail - s.producer.head_cache >= s.capacity) return nullptr;
      }
      return &s.slots->Get(static_cast<int64_t>(tail));
    }

    // Publishes the slot returned by the last TryClaim. Requires: TryClaim returned a slot.
    void Commit() noexcept {
      Shard& s = *shard_;
      const uint64_t tail = s.producer.tail.load(std::memory_order_relaxed);
      RINGCAST_DCHECK(tail - s.producer.head_cache < s.capacity, "Commit without a claimed slot");
      // Release; pairs with the acquire of tail in Drain: the slot contents are visible.
      s.producer.tail.store(tail + 1, std::memory_order_release);
    }

    // Claims, fills with `fill(E&)` and commits; false (nothing written) when the shard is full.
    template <class F>
    [[nodiscard]] bool TryPublish(F&& fill) {
      E* slot = TryClaim();
      if (slot == nullptr) return false;
      fill(*slot);
      Commit();
      return true;
    }

    [[nodiscard]] std::size_t shard_index() const noexcept { return shard_->index; }

   private:
    friend class ShardedMpscChannel;
    explicit Producer(Shard* shard) : shard_(shard) {}
    void Close() noexcept {
      if (shard_ == nullptr) return;
      // Release; pairs with the acquire in Drain, which frees the shard once empty.
      shard_->state.store(kClosed, std::memory_order_release);
      shard_ = nullptr;
    }
    Shard* shard_;
  };

  // Up to `max_producers` producers at once, each with a shard of `shard_capacity` slots (a power
  // of two) built by `factory`. Memory is allocated here, once.
  template <class Factory = DefaultFactory>
  ShardedMpscChannel(std::size_t max_producers, int64_t shard_capacity,
                     Factory factory = Factory()) {
    RINGCAST_CHECK(max_producers >= 1, "need room for at least one producer");
    RINGCAST_CHECK(ValidateCapacity(shard_capacity).ok(), "shard capacity must be a power of two");
    shards_.reserve(max_producers);
    for (std::size_t i = 0; i < max_producers; ++i) {
      shards_.push_back(std::make_unique<Shard>(i, shard_capacity, factory));
    }
  }

  ShardedMpscChannel(const ShardedMpscChannel&) = delete;
  ShardedMpscChannel& operator=(const ShardedMpscChannel&) = delete;

  // A new producer handle on a free shard; RESOURCE_EXHAUSTED when all shards are in use.
  absl::StatusOr<Producer> RegisterProducer() {
    for (auto& shard : shards_) {
      int expected = kFree;
      // Acq_rel; the acquire pairs with the consumer's release when it freed the shard.
      if (shard->state.compare_exchange_strong(expected, kActive, std::memory_order_acq_rel)) {
        return Producer(shard.get());
      }
    }
    return absl::ResourceExhaustedError(
        absl::StrCat("all ", shards_.size(), " producer shards are in use"));
  }

  // Hands up to `max_batch_per_shard` events of each shard to `handler(E&)`, in per-producer
  // order, and returns how many it handed over. Consumer thread only. If the handler throws, the
  // events before the throwing one are consumed and the exception propagates.
  template <class F>
  std::size_t Drain(F&& handler, std::size_t max_batch_per_shard = 256) {
    std::size_t total = 0;
    for (auto& shard_ptr : shards_) {
      Shard& s = *shard_ptr;
      const int state = s.state.load(std::memory_order_acquire);  // pairs with Close / Register
      if (state == kFree) continue;
      total += DrainShard(s, handler, max_batch_per_shard);
      if (state == kClosed && s.consumer.head.load(std::memory_order_relaxed) ==
                                  s.producer.tail.load(std::memory_order_acquire)) {
        // Release; pairs with the acquire CAS in RegisterProducer.
        s.state.store(kFree, std::memory_order_release);
      }
    }
    return total;
  }

  // Committed events not yet drained. Exact on the consumer thread when producers are idle.
  [[nodiscard]] std::size_t SizeGuess() const noexcept {
    std::size_t size = 0;
    for (const auto& s : shards_) {
      size += s->producer.tail.load(std::memory_order_acquire) -
              s->consumer.head.load(std::memory_order_acquire);
    }
    return size;
  }

  [[nodiscard]] std::size_t max_producers() const noexcept { return shards_.size(); }

 private:
  enum : int { kFree, kActive, kClosed };

  struct Shard {
    template <class Factory>
    Shard(std::size_t i, int64_t capacity_in, Factory& factory)
        : index(i),
          capacity(static_cast<uint64_t>(capacity_in)),
          slots(std::make_unique<RingBuffer<E>>(capacity_in, factory)) {}

    // Written by the producer.
    struct alignas(kCacheLineSize) ProducerFields {
      std::atomic<uint64_t> tail{0};
      uint64_t head_cache = 0;  // consumer's head when last read; never ahead of it
    } producer;
    // Written by the consumer.
    struct alignas(kCacheLineSize) ConsumerFields {
      std::atomic<uint64_t> head{0};
      uint64_t tail_cache = 0;  // producer's tail when last read; never ahead of it
    } consumer;
    alignas(kCacheLineSize) std::atomic<int> state{kFree};
    const std::size_t index;
    const uint64_t capacity;
    std::unique_ptr<RingBuffer<E>> slots;
  };
  static_assert(sizeof(typename Shard::ProducerFields) == kCacheLineSize);
  static_assert(sizeof(typename Shard::ConsumerFields) == kCacheLineSize);

  template <class F>
  static std::size_t DrainShard(Shard& s, F& handler, std::size_t max_batch) {
    const uint64_t head = s.consumer.head.load(std::memory_order_relaxed);  // we wrote it
    if (s.consumer.tail_cache == head) {
      // Acquire; pairs with the release in Commit.
      s.consumer.tail_cache = s.producer.tail.load(std::memory_order_acquire);
      if (s.consumer.tail_cache == head) return 0;
    }
    uint64_t end = s.consumer.tail_cache;
    if (end - head > max_batch) end = head + max_batch;
    uint64_t next = head;
    struct Commit {  // frees the drained slots however the loop ends
      Shard& s;
      uint64_t& next;
      // Release; pairs with the acquire of head in TryClaim.
      ~Commit() { s.consumer.head.store(next, std::memory_order_release); }
    } commit{s, next};
    while (next < end) {
      handler(s.slots->Get(static_cast<int64_t>(next)));
      ++next;
    }
    return static_cast<std::size_t>(end - head);
  }

  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace ringcast

#endif  // RINGCAST_CORE_SHARDED_MPSC_CHANNEL_H_
