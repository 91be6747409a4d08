// The ring a topic is made of: its slot type and its sequencer.
#ifndef RINGCAST_SERVER_TOPIC_EVENT_SLOT_H_
#define RINGCAST_SERVER_TOPIC_EVENT_SLOT_H_

#include <cstdint>
#include <string>

#include "ringcast/core/multi_producer_sequencer.h"
#include "ringcast/core/ring_buffer.h"
#include "ringcast/core/wait_strategy.h"

namespace ringcast::server {

// One ring slot: an event already encoded as a framed SubscribeResponse `events` entry (see
// rpc/event_codec.h), so any run of slots concatenated is a valid response body.
struct EventSlot {
  std::string framed;
  int64_t accepted_nanos = 0;  // MonotonicNanos() when its batch was published
};

// Stages never wait on the sequencer itself (they run as agents and are woken through their
// runner's doorbell), so its wait strategy has nothing to signal.
using TopicSequencer = MultiProducerSequencer<BusySpin>;
using TopicRing = RingBuffer<EventSlot>;

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_TOPIC_EVENT_SLOT_H_
