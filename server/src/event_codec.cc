#include "event_codec.h"

#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace ringcast::server {
namespace {

// Protobuf wire types.
constexpr uint32_t kVarint = 0;
constexpr uint32_t kLengthDelimited = 2;

constexpr uint8_t Tag(uint32_t field, uint32_t wire_type) {
  return static_cast<uint8_t>((field << 3) | wire_type);
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

// Event field numbers (see ringcast.proto).
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

std::size_t HeaderEntrySize(const std::string& name, const std::string& value) {
  return BytesFieldSize(name.size()) + BytesFieldSize(value.size());
}

}  // namespace

absl::Status ValidateTopicName(absl::string_view name) {
  constexpr std::size_t kMaxTopicNameBytes = 249;
  if (name.empty()) return absl::InvalidArgumentError("topic name is empty");
  if (name.size() > kMaxTopicNameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("topic name is ", name.size(), " bytes long; the limit is 249"));
  }
  for (const char c : name) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!allowed) {
      return absl::InvalidArgumentError(absl::StrCat("topic name \"", absl::CHexEscape(name),
                                                     "\" has a character outside [A-Za-z0-9._-]"));
    }
  }
  return absl::OkStatus();
}

std::size_t EventContentBytes(const v1::EventInput& event) {
  std::size_t bytes = event.key().size() + event.payload().size();
  for (const auto& [name, value] : event.headers()) bytes += name.size() + value.size();
  return bytes;
}

void EncodeFramedEvent(const v1::EventInput& event, uint64_t sequence,
                       int64_t publish_time_unix_nanos, std::string& slot) {
  // Zero scalars and empty strings are omitted, as protobuf's own encoder does.
  std::size_t body = 0;
  if (sequence != 0) body += 1 + VarintSize(sequence);
  if (publish_time_unix_nanos != 0) {
    body += 1 + VarintSize(static_cast<uint64_t>(publish_time_unix_nanos));
  }
  if (!event.key().empty()) body += BytesFieldSize(event.key().size());
  if (!event.payload().empty()) body += BytesFieldSize(event.payload().size());
  for (const auto& [name, value] : event.headers()) {
    body += BytesFieldSize(HeaderEntrySize(name, value));
  }
  const std::size_t total = BytesFieldSize(body);

  slot.resize(total);  // keeps the capacity the slot already has
  char* out = slot.data();
  *out++ = static_cast<char>(Tag(kResponseEvents, kLengthDelimited));
  out = WriteVarint(body, out);
  if (sequence != 0) {
    *out++ = static_cast<char>(Tag(kEventSequence, kVarint));
    out = WriteVarint(sequence, out);
  }
  if (publish_time_unix_nanos != 0) {
    *out++ = static_cast<char>(Tag(kEventPublishTime, kVarint));
    out = WriteVarint(static_cast<uint64_t>(publish_time_unix_nanos), out);
  }
  if (!event.key().empty()) out = WriteBytesField(kEventKey, event.key(), out);
  if (!event.payload().empty()) out = WriteBytesField(kEventPayload, event.payload(), out);
  for (const auto& [name, value] : event.headers()) {
    *out++ = static_cast<char>(Tag(kEventHeaders, kLengthDelimited));
    out = WriteVarint(HeaderEntrySize(name, value), out);
    out = WriteBytesField(kMapKey, name, out);
    out = WriteBytesField(kMapValue, value, out);
  }
}

void AppendSkippedField(uint64_t skipped, std::string& out) {
  out.push_back(static_cast<char>(Tag(kResponseSkipped, kVarint)));
  const std::size_t at = out.size();
  out.resize(at + VarintSize(skipped));
  WriteVarint(skipped, out.data() + at);
}

}  // namespace ringcast::server
