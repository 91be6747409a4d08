// Stress: lossy readers racing producers that lap them constantly.
//
// Every slot carries a value only its sequence produces (Mix). A reader that were handed a slot a
// producer is rewriting, or has rewritten, would see the wrong value, and ThreadSanitizer would
// see the unordered plain writes and reads of the slot. Each reader also checks that the sequences
// it sees only go up and that what it read plus what it was told it missed accounts for every
// event up to its position. Producers use TryNext and must never be refused for long: only a
// reader's batch in hand may hold them.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ringcast/core/lossy_reader.h"
#include "ringcast/core/multi_producer_sequencer.h"
#include "ringcast/core/single_producer_sequencer.h"
#include "stress_scale.h"
#include "stress_support.h"

namespace ringcast {
namespace {

using stress::FailureLog;
using stress::Mix;
using stress::Random;
using stress::Scaled;
using stress::Watchdog;
using Clock = std::chrono::steady_clock;

struct Slot {
  int64_t sequence = -1;
  uint64_t check = 0;
};

template <class S>
void RunLossy(int producers, int readers, int64_t capacity, int64_t events_per_producer) {
  Watchdog watchdog;
  RingBuffer<Slot> ring(capacity);
  S sequencer(capacity);
  FailureLog failures;
  std::atomic<int> producing{producers};
  std::vector<std::unique_ptr<LossyReader<Slot, S>>> lossy;
  for (int r = 0; r < readers; ++r) {
    lossy.push_back(std::make_unique<LossyReader<Slot, S>>(ring, sequencer));
  }

  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      Random random(static_cast<uint64_t>(p) + 11);
      int64_t refused_in_a_row = 0;
      for (int64_t i = 0; i < events_per_producer && failures.count() == 0;) {
        const int64_t n = std::min<int64_t>(1 + random.Below(4), events_per_producer - i);
        const ClaimResult claim = sequencer.TryNext(n);
        if (!claim.ok()) {
          // Only a reader's batch in hand may refuse a claim; it cannot last.
          if (++refused_in_a_row > 10'000'000) {
            failures.Record("a producer was refused for ten million tries in a row");
            break;
          }
          std::this_thread::yield();
          continue;
        }
        refused_in_a_row = 0;
        for (int64_t s = claim.sequence - n + 1; s <= claim.sequence; ++s) {
          Slot& slot = ring.Get(s);
          slot.sequence = s;
          slot.check = Mix(s);
        }
        sequencer.Publish(claim.sequence - n + 1, claim.sequence);
        i += n;
      }
      producing.fetch_sub(1, std::memory_order_release);  // pairs with the readers' acquire
    });
  }
  for (int r = 0; r < readers; ++r) {
    threads.emplace_back([&, r] {
      LossyReader<Slot, S>& reader = *lossy[static_cast<std::size_t>(r)];
      Random random(static_cast<uint64_t>(r) + 101);
      int64_t last_seen = -1;
      int64_t read = 0;
      int64_t missed = 0;
      auto handle = [&](Slot& slot, int64_t s, bool) {
        if (slot.sequence != s || slot.check != Mix(s)) {
          failures.Record(absl::StrCat("reader ", r, " read slot ", s, " holding ", slot.sequence));
        }
        if (s <= last_seen) failures.Record(absl::StrCat("reader ", r, " went back to ", s));
        last_seen = s;
        ++read;
      };
      for (;;) {
        const bool done = producing.load(std::memory_order_acquire) == 0;
        const LossyPoll result = reader.Poll(handle, 1 + random.Below(64));
        missed += result.missed;
        if (done && result.handled == 0) break;
        if (random.Below(8) == 0) std::this_thread::yield();  // fall behind now and then
      }
      if (read + missed != reader.position() + 1) {
        failures.Record(absl::StrCat("reader ", r, ": read ", read, " + missed ", missed,
                                     " != position + 1 = ", reader.position() + 1));
      }
      if (reader.MissedTotal() != missed) failures.Record("MissedTotal disagrees");
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(sequencer.Cursor() + 1, producers * events_per_producer);
  for (auto& reader : lossy) EXPECT_EQ(reader->position(), sequencer.Cursor());
  EXPECT_EQ(failures.count(), 0) << failures.Summary();
}

TEST(LossyReaderStress, OneProducerLapsTwoReadersWithoutTearingASlot) {
  RunLossy<SingleProducerSequencer<BusySpin>>(1, 2, 16, Scaled(2'000'000, 50'000));
}

TEST(LossyReaderStress, ThreeProducersLapTwoReadersWithoutTearingASlot) {
  RunLossy<MultiProducerSequencer<BusySpin>>(3, 2, 16, Scaled(500'000, 20'000));
}

TEST(LossyReaderStress, TinyRingsWrapEveryClaim) {
  RunLossy<MultiProducerSequencer<BusySpin>>(2, 1, 4, Scaled(300'000, 10'000));
}

}  // namespace
}  // namespace ringcast
