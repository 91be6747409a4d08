// The in-place PublishRequest reader against protobuf's own parser: on generated requests and on
// hundreds of thousands of mutated ones, both accept or both refuse, and what the reader accepts,
// encoded into slots, reads back (as a SubscribeResponse) as the very events protobuf parsed.
#include "rpc/event_codec.h"

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/stubs/logging.h"
#include "gtest/gtest.h"
#include "ringcast/v1/ringcast.pb.h"

namespace ringcast::server {
namespace {

// Protobuf logs every string that is not UTF-8 it refuses; thousands of mutated inputs would
// flood the test log.
class QuietProtobuf {
 public:
  QuietProtobuf() : previous_(google::protobuf::SetLogHandler(nullptr)) {}
  ~QuietProtobuf() { google::protobuf::SetLogHandler(previous_); }

 private:
  google::protobuf::LogHandler* previous_;
};

std::string RandomBytes(std::mt19937_64& rng, std::size_t max_size, bool utf8) {
  static const char* const kPieces[] = {
      "a", "Z", "0", ".", "-", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", " ", "\n"};
  std::string out;
  const std::size_t size = std::uniform_int_distribution<std::size_t>(0, max_size)(rng);
  while (out.size() < size) {
    if (utf8) {
      out += kPieces[std::uniform_int_distribution<int>(0, 9)(rng)];
    } else {
      out.push_back(static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng)));
    }
  }
  return out;
}

v1::PublishRequest RandomRequest(std::mt19937_64& rng) {
  v1::PublishRequest request;
  if (rng() % 8 != 0) request.set_topic(RandomBytes(rng, 20, /*utf8=*/true));
  if (rng() % 4 != 0) request.set_batch_id(rng() >> (rng() % 64));
  const int events = static_cast<int>(rng() % 6);
  for (int i = 0; i < events; ++i) {
    v1::EventInput* event = request.add_events();
    if (rng() % 2 == 0) event->set_key(RandomBytes(rng, 12, /*utf8=*/true));
    if (rng() % 4 != 0) event->set_payload(RandomBytes(rng, 40, /*utf8=*/false));
    const int headers = static_cast<int>(rng() % 3);
    for (int h = 0; h < headers; ++h) {
      (*event->mutable_headers())[RandomBytes(rng, 6, true)] = RandomBytes(rng, 10, true);
    }
  }
  return request;
}

std::string Varint(uint64_t value) {
  std::string out;
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
  return out;
}

// A random wire-format fragment: tags of every wire type and field number, lengths, groups.
std::string RandomFragment(std::mt19937_64& rng) {
  const uint32_t field = static_cast<uint32_t>(rng() % 6);
  const uint32_t wire_type = static_cast<uint32_t>(rng() % 8);
  std::string out = Varint((field << 3) | wire_type);
  switch (rng() % 4) {
    case 0:
      out += Varint(rng() >> (rng() % 64));
      break;
    case 1:
      out += std::string(rng() % 9, static_cast<char>(rng()));
      break;
    case 2: {
      const std::string body = RandomBytes(rng, 6, rng() % 2 == 0);
      out += Varint(body.size()) + body;
      break;
    }
    default:
      out += Varint((field << 3) | 4);  // a closing group tag, matching or not
      break;
  }
  return out;
}

std::string Mutate(std::string bytes, std::mt19937_64& rng) {
  const int mutations = 1 + static_cast<int>(rng() % 3);
  for (int m = 0; m < mutations; ++m) {
    const std::size_t at = bytes.empty() ? 0 : rng() % (bytes.size() + 1);
    switch (rng() % 5) {
      case 0:  // flip a byte
        if (at < bytes.size()) bytes[at] = static_cast<char>(rng());
        break;
      case 1:  // truncate
        bytes.resize(at);
        break;
      case 2:  // insert a fragment
        bytes.insert(at, RandomFragment(rng));
        break;
      case 3:  // drop a byte
        if (at < bytes.size()) bytes.erase(at, 1);
        break;
      default:  // insert raw bytes
        bytes.insert(at, RandomBytes(rng, 4, false));
        break;
    }
  }
  return bytes;
}

// The events `view` holds, encoded into slots and read back as protobuf Events.
v1::SubscribeResponse EncodeAndReadBack(const PublishRequestView& view) {
  std::string response;
  std::string slot;
  for (std::size_t i = 0; i < view.events.size(); ++i) {
    const EventView& event = view.events[i];
    EncodeFramedEvent(event, view.HeadersOf(event), 1000 + i, 1'700'000'000'000'000'000 + i, slot);
    response += slot;
  }
  v1::SubscribeResponse parsed;
  EXPECT_TRUE(parsed.ParseFromString(response));
  return parsed;
}

// Checks that `view` holds what protobuf parsed into `expected`.
void ExpectSameRequest(const v1::PublishRequest& expected, const PublishRequestView& view,
                       const std::string& input) {
  SCOPED_TRACE(testing::PrintToString(input));
  EXPECT_EQ(view.topic, expected.topic());
  EXPECT_EQ(view.batch_id, expected.batch_id());
  ASSERT_EQ(view.events.size(), static_cast<std::size_t>(expected.events_size()));
  const v1::SubscribeResponse read_back = EncodeAndReadBack(view);
  ASSERT_EQ(read_back.events_size(), expected.events_size());
  for (int i = 0; i < expected.events_size(); ++i) {
    const v1::EventInput& sent = expected.events(i);
    const v1::Event& got = read_back.events(i);
    EXPECT_EQ(got.sequence(), 1000u + static_cast<uint64_t>(i));
    EXPECT_EQ(got.key(), sent.key());
    EXPECT_EQ(got.payload(), sent.payload());
    using Headers = std::map<std::string, std::string>;
    EXPECT_EQ(Headers(got.headers().begin(), got.headers().end()),
              Headers(sent.headers().begin(), sent.headers().end()));
  }
}

TEST(EventCodecTest, ReadsWhatProtobufWritesAndEncodesItBack) {
  std::mt19937_64 rng(20261122);
  PublishRequestView view;
  for (int i = 0; i < 5000; ++i) {
    const v1::PublishRequest request = RandomRequest(rng);
    const std::string bytes = request.SerializeAsString();
    ASSERT_TRUE(ParsePublishRequest(bytes, view).ok());
    ExpectSameRequest(request, view, bytes);
    if (HasFailure()) return;
  }
}

TEST(EventCodecTest, AcceptsAndRefusesExactlyWhatProtobufDoesOnMutatedInput) {
  QuietProtobuf quiet;
  std::mt19937_64 rng(7);
  PublishRequestView view;
  int accepted = 0;
  constexpr int kInputs = 300'000;
  for (int i = 0; i < kInputs; ++i) {
    const std::string bytes = Mutate(RandomRequest(rng).SerializeAsString(), rng);
    v1::PublishRequest expected;
    const bool protobuf_ok = expected.ParseFromString(bytes);
    const bool ours_ok = ParsePublishRequest(bytes, view).ok();
    ASSERT_EQ(ours_ok, protobuf_ok) << testing::PrintToString(bytes);
    if (ours_ok) {
      ++accepted;
      ExpectSameRequest(expected, view, bytes);
      if (HasFailure()) return;
    } else {
      EXPECT_TRUE(view.events.empty() && view.topic.empty()) << "a refused request is cleared";
    }
  }
  // Both outcomes are well represented (about one in eleven is accepted), or the comparison
  // proves little.
  EXPECT_GT(accepted, kInputs / 20);
  EXPECT_LT(accepted, kInputs * 9 / 10);
}

TEST(EventCodecTest, SkipsUnknownFieldsOfEveryWireType) {
  const std::string unknown = absl::StrCat(  // all of field 15
      "\x78\x05",                            // varint
      "\x79", std::string(8, '\x01'),        // fixed64
      "\x7a\x02xy",                          // bytes
      "\x7b\x08\x01\x7b\x7c\x7c",            // a group holding a varint and an empty group
      "\x7d", std::string(4, '\x02'));       // fixed32
  const std::string event = absl::StrCat("\x0a\x01k", unknown, "\x12\x01p");
  const std::string bytes =
      absl::StrCat("\x0a\x01t", unknown, "\x12", Varint(event.size()), event, unknown, "\x18\x07");
  PublishRequestView view;
  ASSERT_TRUE(ParsePublishRequest(bytes, view).ok());
  EXPECT_EQ(view.topic, "t");
  EXPECT_EQ(view.batch_id, 7u);
  ASSERT_EQ(view.events.size(), 1u);
  EXPECT_EQ(view.events[0].key, "k");
  EXPECT_EQ(view.events[0].payload, "p");
}

TEST(EventCodecTest, TheLastOfARepeatedSingularFieldWins) {
  const std::string event = absl::StrCat("\x0a\x01", "a", "\x0a\x01", "b");  // key "a", key "b"
  const std::string bytes = absl::StrCat("\x0a\x01x\x0a\x01y",               // topic "x", "y"
                                         "\x18\x01\x18\x02",                 // batch_id 1, 2
                                         "\x12", Varint(event.size()), event);
  PublishRequestView view;
  ASSERT_TRUE(ParsePublishRequest(bytes, view).ok());
  EXPECT_EQ(view.topic, "y");
  EXPECT_EQ(view.batch_id, 2u);
  EXPECT_EQ(view.events.at(0).key, "b");
}

TEST(EventCodecTest, RefusalsSayWhatIsWrong) {
  struct Case {
    const char* what;
    std::string bytes;
    const char* message;
  };
  const Case cases[] = {
      {"topic not UTF-8", "\x0a\x02\xc3\x28", "the topic name is not UTF-8"},
      {"key not UTF-8", "\x12\x04\x0a\x02\xed\xa0", "event 0: its key is not UTF-8"},
      {"header name not UTF-8", "\x12\x06\x1a\x04\x0a\x02\xc0\xaf",
       "event 0: a header name is not UTF-8"},
      {"header value not UTF-8",
       std::string("\x12\x02\x12\x00\x12\x06\x1a\x04\x12\x02\xf5\x80", 12),
       "event 1: a header value is not UTF-8"},
      {"field number 0", std::string("\x00\x01", 2), "bad protobuf encoding"},
      {"wire type 7", "\x0f", "bad protobuf encoding"},
      {"a group never closed", "\x7b\x08\x01", "bad protobuf encoding"},
      {"a closing tag with no group", "\x7c", "bad protobuf encoding"},
      {"a length past the end",
       "\x0a\x05"
       "abc",
       "bad protobuf encoding"},
      {"a varint of 11 bytes", absl::StrCat("\x18", std::string(10, '\xff'), "\x01"),
       "bad protobuf encoding"},
  };
  for (const Case& c : cases) {
    PublishRequestView view;
    const absl::Status status = ParsePublishRequest(c.bytes, view);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.what;
    EXPECT_NE(status.message().find(c.message), absl::string_view::npos)
        << c.what << ": " << status.message();
    v1::PublishRequest protobuf;
    QuietProtobuf quiet;
    EXPECT_FALSE(protobuf.ParseFromString(c.bytes)) << c.what << ": protobuf accepts it";
  }
}

TEST(EventCodecTest, PayloadsAreBytesNotText) {
  const std::string payload("\xff\x00\xc3\x28", 4);
  const std::string event = absl::StrCat("\x12", Varint(payload.size()), payload);
  const std::string bytes = absl::StrCat("\x12", Varint(event.size()), event);
  PublishRequestView view;
  ASSERT_TRUE(ParsePublishRequest(bytes, view).ok());
  EXPECT_EQ(view.events.at(0).payload, payload);
  EXPECT_EQ(EventContentBytes(view.events[0], view.HeadersOf(view.events[0])), 4u);
}

}  // namespace
}  // namespace ringcast::server
