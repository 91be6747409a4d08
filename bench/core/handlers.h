// Event handlers of the ringcast runs. Their work is next to nothing (a sum, a flag), yet every
// result is checked afterwards, so the compiler cannot optimise the consumers away.
//
// Each is aligned to its own cache lines: the fields it writes per event must share no line with
// the producer's or another stage's.
#ifndef RINGCAST_BENCH_CORE_HANDLERS_H_
#define RINGCAST_BENCH_CORE_HANDLERS_H_

#include <cstdint>

#include "absl/base/optimization.h"
#include "bench/core/run.h"
#include "ringcast/core/sequence.h"

namespace ringcast::bench {

// Sums event values and reports the run finished at sequence `last`.
struct alignas(kCacheLineSize) SumHandler {
  SumHandler(RunSync& s, int64_t last_sequence) : sync(&s), last(last_sequence) {}

  void OnStart() { sync->Arrive(); }
  void OnEvent(const ValueEvent& event, int64_t sequence, bool /*end_of_batch*/) {
    sum += event.value;
    ++count;
    if (ABSL_PREDICT_FALSE(sequence == last)) sync->Finish();
  }

  RunSync* sync;
  int64_t last;
  int64_t sum = 0;
  int64_t count = 0;
};

// A pipeline step: adds one to the value in place, for the next step to see.
struct alignas(kCacheLineSize) IncrementHandler {
  explicit IncrementHandler(RunSync& s) : sync(&s) {}

  void OnStart() { sync->Arrive(); }
  void OnEvent(ValueEvent& event, int64_t /*sequence*/, bool /*end_of_batch*/) { ++event.value; }

  RunSync* sync;
};

}  // namespace ringcast::bench

#endif  // RINGCAST_BENCH_CORE_HANDLERS_H_
