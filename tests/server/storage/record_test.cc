// The record format and its checksum: CRC32C by the standard test vector, the byte layout of a
// header, what CheckRecord finds, and the .idx file format.
#include <gtest/gtest.h>

#include <string>

#include "storage/crc32c.h"
#include "storage/little_endian.h"
#include "storage/record.h"
#include "storage/segment.h"
#include "storage/segment_index.h"

namespace ringcast::server::storage {
namespace {

TEST(Crc32cTest, MatchesTheStandardTestVector) { EXPECT_EQ(Crc32c("123456789"), 0xE3069283u); }

TEST(Crc32cTest, OfNothingIsZeroAndContinuesAcrossPieces) {
  EXPECT_EQ(Crc32c(""), 0u);
  const std::string text = "the quick brown fox jumps over the lazy dog";
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    EXPECT_EQ(Crc32c(text.substr(cut), Crc32c(text.substr(0, cut))), Crc32c(text)) << cut;
  }
}

TEST(RecordTest, HeaderIsLittleEndianWithTheChecksumOverSequenceTimeAndBody) {
  std::string record;
  AppendRecord(0x0102030405060708, -2, "body", record);
  ASSERT_EQ(record.size(), kRecordHeaderBytes + 4);
  EXPECT_EQ(record.substr(0, 4), std::string("\x04\x00\x00\x00", 4));
  EXPECT_EQ(record.substr(8, 8), std::string("\x08\x07\x06\x05\x04\x03\x02\x01", 8));
  EXPECT_EQ(record.substr(16, 8), std::string("\xfe\xff\xff\xff\xff\xff\xff\xff", 8));
  EXPECT_EQ(record.substr(24), "body");
  EXPECT_EQ(LoadLittle32(record.data() + 4), Crc32c(absl::string_view(record).substr(8)));

  const RecordHeader header = DecodeRecordHeader(record.data());
  EXPECT_EQ(header.length, 4u);
  EXPECT_EQ(header.sequence, 0x0102030405060708);
  EXPECT_EQ(header.time_nanos, -2);
  EXPECT_EQ(LoadLittle32(record.data() + 4), RecordCrc(header.sequence, header.time_nanos, "body"));
  EXPECT_EQ(CheckRecord(header, record, 0x0102030405060708), RecordDefect::kNone);
}

TEST(RecordTest, CheckFindsAChangedBodyTimeOrSequence) {
  std::string record;
  AppendRecord(7, 1000, "payload", record);
  const RecordHeader header = DecodeRecordHeader(record.data());
  std::string changed_body = record;
  changed_body.back() = 'D';
  EXPECT_EQ(CheckRecord(header, changed_body, 7), RecordDefect::kChecksumMismatch);
  std::string changed_time = record;
  changed_time[16] ^= 1;
  EXPECT_EQ(CheckRecord(DecodeRecordHeader(changed_time.data()), changed_time, 7),
            RecordDefect::kChecksumMismatch);
  std::string changed_sequence = record;
  changed_sequence[8] ^= 1;
  EXPECT_EQ(CheckRecord(DecodeRecordHeader(changed_sequence.data()), changed_sequence, 6),
            RecordDefect::kChecksumMismatch);
  EXPECT_EQ(CheckRecord(header, record, 8), RecordDefect::kUnexpectedSequence);
  EXPECT_EQ(DescribeRecordDefect(RecordDefect::kChecksumMismatch), "checksum mismatch");
}

TEST(SegmentFileNameTest, PadsToTwentyDigitsAndParsesBack) {
  EXPECT_EQ(SegmentFileName(42), "00000000000000000042.log");
  EXPECT_EQ(IndexFileName(42), "00000000000000000042.idx");
  EXPECT_EQ(ParseSegmentFileName("00000000000000000042.log"), 42);
  EXPECT_EQ(ParseSegmentFileName("09223372036854775807.log"), INT64_MAX);
  EXPECT_EQ(ParseSegmentFileName("00000000000000000042.idx"), std::nullopt);
  EXPECT_EQ(ParseSegmentFileName("42.log"), std::nullopt);
  EXPECT_EQ(ParseSegmentFileName("-0000000000000000042.log"), std::nullopt);
  EXPECT_EQ(ParseSegmentFileName("99999999999999999999.log"), std::nullopt);
}

SegmentIndex SampleIndex() {
  return SegmentIndex{.entries = {{.sequence = 100, .position = 0, .time_nanos = 5},
                                  {.sequence = 110, .position = 4100, .time_nanos = 9},
                                  {.sequence = 125, .position = 8300, .time_nanos = 9}},
                      .end = 9000,
                      .last_sequence = 130,
                      .last_time_nanos = 12};
}

TEST(IndexFileFormatTest, RoundTrips) {
  const std::string data = EncodeIndexFile(100, SampleIndex());
  const std::optional<SegmentIndex> decoded = DecodeIndexFile(data, 100);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->entries, SampleIndex().entries);
  EXPECT_EQ(decoded->end, 9000u);
  EXPECT_EQ(decoded->last_sequence, 130);
  EXPECT_EQ(decoded->last_time_nanos, 12);
}

TEST(IndexFileFormatTest, RefusesShortGarbageForeignOrInconsistentFiles) {
  const std::string data = EncodeIndexFile(100, SampleIndex());
  EXPECT_FALSE(DecodeIndexFile(data.substr(0, data.size() - 1), 100));
  EXPECT_FALSE(DecodeIndexFile("garbage", 100));
  EXPECT_FALSE(DecodeIndexFile(data, 101));  // another segment's
  std::string flipped = data;
  flipped[60] ^= 1;
  EXPECT_FALSE(DecodeIndexFile(flipped, 100));
  SegmentIndex backwards = SampleIndex();
  backwards.entries[2].time_nanos = 8;  // times never decrease
  EXPECT_FALSE(DecodeIndexFile(EncodeIndexFile(100, backwards), 100));
  SegmentIndex past_end = SampleIndex();
  past_end.end = 8300;  // the last entry's record would not fit
  EXPECT_FALSE(DecodeIndexFile(EncodeIndexFile(100, past_end), 100));
}

}  // namespace
}  // namespace ringcast::server::storage
