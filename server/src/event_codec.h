// Encoding of events into ring slots, and validation of what publishers send.
//
// A slot holds an event already encoded as one `events` entry of a SubscribeResponse (field 1,
// length-delimited, wrapping an Event). The concatenation of any run of slots is therefore a
// valid SubscribeResponse, so the fan-out stage builds a response by copying bytes, once per run,
// whatever the number of subscribers.
#ifndef RINGCAST_SERVER_SRC_EVENT_CODEC_H_
#define RINGCAST_SERVER_SRC_EVENT_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "ringcast/v1/ringcast.pb.h"

namespace ringcast::server {

// OK if `name` matches [A-Za-z0-9._-]{1,249}; INVALID_ARGUMENT saying why otherwise.
absl::Status ValidateTopicName(absl::string_view name);

// The bytes of an event that count towards --max_event_bytes: key, payload, header names and
// values.
std::size_t EventContentBytes(const v1::EventInput& event);

// Overwrites `slot` with `event` encoded as a framed Event carrying `sequence` and
// `publish_time_unix_nanos`. Reuses the string's capacity: no allocation once slots have grown.
void EncodeFramedEvent(const v1::EventInput& event, uint64_t sequence,
                       int64_t publish_time_unix_nanos, std::string& slot);

// Appends SubscribeResponse.skipped = `skipped` (field 2) to `out`.
void AppendSkippedField(uint64_t skipped, std::string& out);

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_SRC_EVENT_CODEC_H_
