#include "rpc/event_codec.h"

#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace ringcast::server {
namespace {

// Protobuf wire types.
constexpr uint32_t kVarint = 0;
constexpr uint32_t kFixed64 = 1;
constexpr uint32_t kLengthDelimited = 2;
constexpr uint32_t kStartGroup = 3;
constexpr uint32_t kEndGroup = 4;
constexpr uint32_t kFixed32 = 5;

// PublishRequest field numbers (see ringcast.proto).
constexpr uint32_t kRequestTopic = 1;
constexpr uint32_t kRequestEvents = 2;
constexpr uint32_t kRequestBatchId = 3;
// EventInput field numbers.
constexpr uint32_t kInputKey = 1;
constexpr uint32_t kInputPayload = 2;
constexpr uint32_t kInputHeaders = 3;
// Event field numbers.
constexpr uint32_t kEventSequence = 1;
constexpr uint32_t kEventPublishTime = 2;
constexpr uint32_t kEventKey = 3;
constexpr uint32_t kEventPayload = 4;
constexpr uint32_t kEventHeaders = 5;
// SubscribeResponse field numbers.
constexpr uint32_t kResponseEvents = 1;
constexpr uint32_t kResponseSkipped = 2;
// Map entries: key = 1, value = 2.
constexpr uint32_t kMapKey = 1;
constexpr uint32_t kMapValue = 2;

// Protobuf's default recursion limit: how deeply groups may nest in skipped fields.
constexpr int kMaxDepth = 100;

constexpr uint8_t Tag(uint32_t field, uint32_t wire_type) {
  return static_cast<uint8_t>((field << 3) | wire_type);
}

// True if `s` is well-formed UTF-8 (Unicode 15, table 3-7: no overlong forms, no surrogates,
// nothing past U+10FFFF), as protobuf requires of proto3 strings.
bool IsUtf8(absl::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const unsigned char* const end = p + s.size();
  while (p != end) {
    // ASCII eight bytes at a time.
    if (end - p >= 8) {
      uint64_t word;
      std::memcpy(&word, p, sizeof(word));
      if ((word & 0x8080808080808080u) == 0) {
        p += 8;
        continue;
      }
    }
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    // The lead byte fixes the length and the range of the first continuation byte.
    int length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
      if (c == 0xE0) low = 0xA0;
      if (c == 0xED) high = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
      if (c == 0xF0) low = 0x90;
      if (c == 0xF4) high = 0x8F;
    } else {
      return false;
    }
    if (end - p < length || p[1] < low || p[1] > high) return false;
    for (int i = 2; i < length; ++i) {
      if (p[i] < 0x80 || p[i] > 0xBF) return false;
    }
    p += length;
  }
  return true;
}

// Reads protobuf wire format from a byte range, with protobuf's own limits on varints, tags and
// lengths. Every Read returns false on malformed or truncated input.
class WireReader {
 public:
  explicit WireReader(absl::string_view bytes)
      : p_(reinterpret_cast<const uint8_t*>(bytes.data())), end_(p_ + bytes.size()) {}

  [[nodiscard]] bool done() const noexcept { return p_ == end_; }

  // At most 10 bytes; bits past the 64th are dropped, as protobuf does.
  [[nodiscard]] bool ReadVarint(uint64_t& value) noexcept {
    value = 0;
    for (int i = 0; i < 10 && p_ != end_; ++i) {
      const uint8_t byte = *p_++;
      value |= static_cast<uint64_t>(byte & 0x7F) << (7 * i);
      if (byte < 0x80) return true;
    }
    return false;
  }

  // A tag is a varint of at most 5 bytes, truncated to 32 bits; field 0 is never valid.
  [[nodiscard]] bool ReadTag(uint32_t& field, uint32_t& wire_type) noexcept {
    uint32_t tag = 0;
    for (int i = 0; i < 5 && p_ != end_; ++i) {
      const uint8_t byte = *p_++;
      tag |= static_cast<uint32_t>(byte & 0x7F) << (7 * i);
      if (byte < 0x80) {
        field = tag >> 3;
        wire_type = tag & 7;
        return field != 0;
      }
    }
    return false;
  }

  // A length of at most 5 bytes, below 2 GiB, and within the input.
  [[nodiscard]] bool ReadLengthDelimited(absl::string_view& bytes) noexcept {
    uint64_t length = 0;
    for (int i = 0;; ++i) {
      if (i == 5 || p_ == end_) return false;
      const uint8_t byte = *p_++;
      if (i == 4 && byte >= 8) return false;
      length |= static_cast<uint64_t>(byte & 0x7F) << (7 * i);
      if (byte < 0x80) break;
    }
    if (length > static_cast<uint64_t>(end_ - p_)) return false;
    bytes = absl::string_view(reinterpret_cast<const char*>(p_), length);
    p_ += length;
    return true;
  }

  // Skips the value of an unknown field (a whole group, for a start-group tag).
  [[nodiscard]] bool Skip(uint32_t field, uint32_t wire_type, int depth) noexcept {
    switch (wire_type) {
      case kVarint: {
        uint64_t ignored;
        return ReadVarint(ignored);
      }
      case kFixed64:
        return Advance(8);
      case kLengthDelimited: {
        absl::string_view ignored;
        return ReadLengthDelimited(ignored);
      }
      case kFixed32:
        return Advance(4);
      case kStartGroup: {
        if (depth >= kMaxDepth) return false;
        uint32_t inner_field = 0;
        uint32_t inner_type = 0;
        while (ReadTag(inner_field, inner_type)) {
          if (inner_type == kEndGroup) return inner_field == field;
          if (!Skip(inner_field, inner_type, depth + 1)) return false;
        }
        return false;
      }
      default:  // an end-group tag with no group open, or wire types 6 and 7
        return false;
    }
  }

 private:
  [[nodiscard]] bool Advance(std::size_t n) noexcept {
    if (static_cast<std::size_t>(end_ - p_) < n) return false;
    p_ += n;
    return true;
  }

  const uint8_t* p_;
  const uint8_t* const end_;
};

// Reads one map entry of EventInput.headers.
bool ParseHeader(absl::string_view bytes, HeaderView& header, std::string& error) {
  WireReader in(bytes);
  uint32_t field = 0;
  uint32_t wire_type = 0;
  while (!in.done()) {
    if (!in.ReadTag(field, wire_type)) return false;
    if ((field == kMapKey || field == kMapValue) && wire_type == kLengthDelimited) {
      absl::string_view& target = field == kMapKey ? header.name : header.value;
      if (!in.ReadLengthDelimited(target)) return false;
      if (!IsUtf8(target)) {
        error = field == kMapKey ? "a header name is not UTF-8" : "a header value is not UTF-8";
        return false;
      }
    } else if (!in.Skip(field, wire_type, 2)) {
      return false;
    }
  }
  return true;
}

// Reads one EventInput, appending its headers to request.headers.
bool ParseEvent(absl::string_view bytes, PublishRequestView& request, EventView& event,
                std::string& error) {
  WireReader in(bytes);
  event.first_header = static_cast<uint32_t>(request.headers.size());
  uint32_t field = 0;
  uint32_t wire_type = 0;
  while (!in.done()) {
    if (!in.ReadTag(field, wire_type)) return false;
    if (wire_type != kLengthDelimited || field < kInputKey || field > kInputHeaders) {
      if (!in.Skip(field, wire_type, 1)) return false;
      continue;
    }
    absl::string_view value;
    if (!in.ReadLengthDelimited(value)) return false;
    if (field == kInputKey) {
      if (!IsUtf8(value)) {
        error = "its key is not UTF-8";
        return false;
      }
      event.key = value;
    } else if (field == kInputPayload) {
      event.payload = value;
    } else {
      HeaderView header;
      if (!ParseHeader(value, header, error)) return false;
      request.headers.push_back(header);
    }
  }
  event.header_count = static_cast<uint32_t>(request.headers.size()) - event.first_header;
  return true;
}

std::size_t VarintSize(uint64_t value) {
  std::size_t size = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++size;
  }
  return size;
}

// Writes a varint at `out` and returns the position after it.
char* WriteVarint(uint64_t value, char* out) {
  while (value >= 0x80) {
    *out++ = static_cast<char>(static_cast<uint8_t>(value) | 0x80);
    value >>= 7;
  }
  *out++ = static_cast<char>(value);
  return out;
}

// Size of a length-delimited field (tag, length, bytes) with a one-byte tag.
std::size_t BytesFieldSize(std::size_t length) { return 1 + VarintSize(length) + length; }

char* WriteBytesField(uint32_t field, absl::string_view bytes, char* out) {
  *out++ = static_cast<char>(Tag(field, kLengthDelimited));
  out = WriteVarint(bytes.size(), out);
  std::memcpy(out, bytes.data(), bytes.size());
  return out + bytes.size();
}

// The encoded size of a header's map entry, with fields left out when empty (as protobuf does).
std::size_t HeaderEntrySize(const HeaderView& header) {
  return (header.name.empty() ? 0 : BytesFieldSize(header.name.size())) +
         (header.value.empty() ? 0 : BytesFieldSize(header.value.size()));
}

}  // namespace

absl::Status ParsePublishRequest(absl::string_view bytes, PublishRequestView& request) {
  request.Clear();
  WireReader in(bytes);
  std::string error;
  uint32_t field = 0;
  uint32_t wire_type = 0;
  bool ok = true;
  while (ok && !in.done()) {
    if (!in.ReadTag(field, wire_type)) {
      ok = false;
    } else if (field == kRequestTopic && wire_type == kLengthDelimited) {
      ok = in.ReadLengthDelimited(request.topic);
      if (ok && !IsUtf8(request.topic)) {
        error = "the topic name is not UTF-8";
        ok = false;
      }
    } else if (field == kRequestEvents && wire_type == kLengthDelimited) {
      absl::string_view event_bytes;
      EventView event;
      ok = in.ReadLengthDelimited(event_bytes) && ParseEvent(event_bytes, request, event, error);
      if (ok) {
        request.events.push_back(event);
      } else if (!error.empty()) {
        error = absl::StrCat("event ", request.events.size(), ": ", error);
      }
    } else if (field == kRequestBatchId && wire_type == kVarint) {
      ok = in.ReadVarint(request.batch_id);
    } else {
      ok = in.Skip(field, wire_type, 0);
    }
  }
  if (ok) return absl::OkStatus();
  request.Clear();
  return absl::InvalidArgumentError(
      absl::StrCat("malformed request: not a ringcast.v1.PublishRequest (",
                   error.empty() ? "bad protobuf encoding" : error, "); nothing was published"));
}

std::size_t EventContentBytes(const EventView& event, absl::Span<const HeaderView> headers) {
  std::size_t bytes = event.key.size() + event.payload.size();
  for (const HeaderView& header : headers) bytes += header.name.size() + header.value.size();
  return bytes;
}

namespace {

// The size of the Event message (without its `events` framing) for these fields.
std::size_t EventBodySize(const EventView& event, absl::Span<const HeaderView> headers,
                          uint64_t sequence, int64_t publish_time_unix_nanos) {
  // Zero scalars and empty strings are omitted, as protobuf's own encoder does.
  std::size_t body = 0;
  if (sequence != 0) body += 1 + VarintSize(sequence);
  if (publish_time_unix_nanos != 0) {
    body += 1 + VarintSize(static_cast<uint64_t>(publish_time_unix_nanos));
  }
  if (!event.key.empty()) body += BytesFieldSize(event.key.size());
  if (!event.payload.empty()) body += BytesFieldSize(event.payload.size());
  for (const HeaderView& header : headers) body += BytesFieldSize(HeaderEntrySize(header));
  return body;
}

}  // namespace

std::size_t MaxFramedEventSize(const EventView& event, absl::Span<const HeaderView> headers) {
  // The largest sequence and time: ten-byte varints.
  return BytesFieldSize(EventBodySize(event, headers, UINT64_MAX, INT64_MIN));
}

std::size_t FramedEventSize(const EventView& event, absl::Span<const HeaderView> headers,
                            uint64_t sequence, int64_t publish_time_unix_nanos) {
  return BytesFieldSize(EventBodySize(event, headers, sequence, publish_time_unix_nanos));
}

void WriteFramedEvent(const EventView& event, absl::Span<const HeaderView> headers,
                      uint64_t sequence, int64_t publish_time_unix_nanos, char* out) {
  *out++ = static_cast<char>(Tag(kResponseEvents, kLengthDelimited));
  out = WriteVarint(EventBodySize(event, headers, sequence, publish_time_unix_nanos), out);
  if (sequence != 0) {
    *out++ = static_cast<char>(Tag(kEventSequence, kVarint));
    out = WriteVarint(sequence, out);
  }
  if (publish_time_unix_nanos != 0) {
    *out++ = static_cast<char>(Tag(kEventPublishTime, kVarint));
    out = WriteVarint(static_cast<uint64_t>(publish_time_unix_nanos), out);
  }
  if (!event.key.empty()) out = WriteBytesField(kEventKey, event.key, out);
  if (!event.payload.empty()) out = WriteBytesField(kEventPayload, event.payload, out);
  for (const HeaderView& header : headers) {
    *out++ = static_cast<char>(Tag(kEventHeaders, kLengthDelimited));
    out = WriteVarint(HeaderEntrySize(header), out);
    if (!header.name.empty()) out = WriteBytesField(kMapKey, header.name, out);
    if (!header.value.empty()) out = WriteBytesField(kMapValue, header.value, out);
  }
}

void EncodeFramedEvent(const EventView& event, absl::Span<const HeaderView> headers,
                       uint64_t sequence, int64_t publish_time_unix_nanos, std::string& out) {
  out.resize(FramedEventSize(event, headers, sequence, publish_time_unix_nanos));
  WriteFramedEvent(event, headers, sequence, publish_time_unix_nanos, out.data());
}

void AppendSkippedField(uint64_t skipped, std::string& out) {
  out.push_back(static_cast<char>(Tag(kResponseSkipped, kVarint)));
  const std::size_t at = out.size();
  out.resize(at + VarintSize(skipped));
  WriteVarint(skipped, out.data() + at);
}

}  // namespace ringcast::server
