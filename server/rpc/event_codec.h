// Reading publish requests in place, and encoding their events into ring slots.
//
// A PublishRequest is read without a protobuf message: ParsePublishRequest walks the wire bytes
// once and leaves views of the topic, keys, payloads and headers in a PublishRequestView, so an
// event's bytes are copied once, straight into its slot. It accepts exactly what protobuf's own
// parser accepts for ringcast.v1.PublishRequest (unknown fields skipped, the last of a repeated
// singular field wins, strings must be UTF-8); a test checks the two against each other on
// generated and mutated inputs.
//
// A slot holds an event already encoded as one `events` entry of a SubscribeResponse (field 1,
// length-delimited, wrapping an Event). The concatenation of any run of slots is therefore a
// valid SubscribeResponse, so the fan-out stage builds a response by copying bytes, once per run,
// whatever the number of subscribers.
#ifndef RINGCAST_SERVER_RPC_EVENT_CODEC_H_
#define RINGCAST_SERVER_RPC_EVENT_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace ringcast::server {

// One header of an event: a map entry of EventInput.headers, as sent.
struct HeaderView {
  absl::string_view name;
  absl::string_view value;
};

// One EventInput of a request. Its headers are the request's headers[first_header, +header_count),
// in the order sent (a name sent twice appears twice; readers keep the last, as protobuf does).
struct EventView {
  absl::string_view key;
  absl::string_view payload;
  uint32_t first_header = 0;
  uint32_t header_count = 0;
};

// A PublishRequest read in place: every view points into the bytes it was parsed from, which must
// outlive it. Reused from request to request, so its vectors stop allocating once grown.
struct PublishRequestView {
  absl::string_view topic;
  uint64_t batch_id = 0;
  std::vector<EventView> events;
  std::vector<HeaderView> headers;

  [[nodiscard]] absl::Span<const HeaderView> HeadersOf(const EventView& event) const {
    return absl::MakeConstSpan(headers).subspan(event.first_header, event.header_count);
  }
  void Clear() {
    topic = {};
    batch_id = 0;
    events.clear();
    headers.clear();
  }
};

// Reads serialized ringcast.v1.PublishRequest `bytes` into `request`. INVALID_ARGUMENT saying what
// is wrong (bad wire format, or a string field that is not UTF-8) if protobuf would refuse it;
// `request` is then cleared.
absl::Status ParsePublishRequest(absl::string_view bytes, PublishRequestView& request);

// The bytes of an event that count towards --max_event_bytes: key, payload, header names and
// values (every header as sent).
std::size_t EventContentBytes(const EventView& event, absl::Span<const HeaderView> headers);

// The bytes of `event` (whose headers are `headers`) encoded as a framed Event carrying
// `sequence` and `publish_time_unix_nanos`.
std::size_t FramedEventSize(const EventView& event, absl::Span<const HeaderView> headers,
                            uint64_t sequence, int64_t publish_time_unix_nanos);
// The most FramedEventSize can be for `event`, whatever its sequence and time: what a publisher
// reserves before it knows them.
std::size_t MaxFramedEventSize(const EventView& event, absl::Span<const HeaderView> headers);
// Writes the framed Event (exactly FramedEventSize bytes) to `out`.
void WriteFramedEvent(const EventView& event, absl::Span<const HeaderView> headers,
                      uint64_t sequence, int64_t publish_time_unix_nanos, char* out);
// Overwrites `out` with the framed Event: FramedEventSize, then WriteFramedEvent.
void EncodeFramedEvent(const EventView& event, absl::Span<const HeaderView> headers,
                       uint64_t sequence, int64_t publish_time_unix_nanos, std::string& out);

// Appends SubscribeResponse.skipped = `skipped` (field 2) to `out`.
void AppendSkippedField(uint64_t skipped, std::string& out);

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_RPC_EVENT_CODEC_H_
