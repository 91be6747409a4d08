// The ring a topic is made of: its slot type and its sequencer.
#ifndef RINGCAST_SERVER_TOPIC_EVENT_SLOT_H_
#define RINGCAST_SERVER_TOPIC_EVENT_SLOT_H_

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "absl/strings/string_view.h"
#include "ringcast/core/multi_producer_sequencer.h"
#include "ringcast/core/ring_buffer.h"
#include "ringcast/core/wait_strategy.h"

namespace ringcast::server {

// One ring slot: an event already encoded as a framed SubscribeResponse `events` entry (see
// rpc/event_codec.h), so any run of slots concatenated is a valid response body.
//
// Trivial, and empty when all zero: the topic's ring is zero-filled, so slots cost memory only
// once written (an idle topic holds none). The slot owns its buffer (`capacity` bytes from
// malloc); it keeps it from event to event, growing it when an event needs more, until the topic
// releases it (see Topic: the fan-out stage gives back the buffers of slots that leave the
// retention window, and ~Topic the rest).
struct EventSlot {
  char* data;  // null when the slot has no buffer
  uint32_t size;
  uint32_t capacity;
  int64_t accepted_nanos;  // MonotonicNanos() when its batch was published

  [[nodiscard]] absl::string_view framed() const noexcept { return {data, size}; }

  // Makes the slot `bytes` long and returns where its bytes go (their contents are unspecified).
  // Grows the buffer only when it is too small, to `bytes` rounded up to kBufferAlign; adds the
  // bytes allocated to `grown`. Throws std::bad_alloc if malloc fails.
  char* Resize(std::size_t bytes, uint64_t& grown);
  // Frees the buffer; returns its capacity.
  uint64_t Release() noexcept;

  // Buffers are sized in these steps, so events of similar sizes reuse each other's slots.
  static constexpr std::size_t kBufferAlign = 64;
  [[nodiscard]] static constexpr uint64_t BufferBytes(std::size_t bytes) noexcept {
    return (bytes + kBufferAlign - 1) / kBufferAlign * kBufferAlign;
  }
};
static_assert(std::is_trivial_v<EventSlot>, "the topic's ring is zero-filled, never built");

// Stages never wait on the sequencer itself (they run as agents and are woken through their
// runner's doorbell), so its wait strategy has nothing to signal.
using TopicSequencer = MultiProducerSequencer<BusySpin>;
using TopicRing = RingBuffer<EventSlot>;

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_TOPIC_EVENT_SLOT_H_
