// HeapTrimmer: gives memory the allocator holds free back to the system, on a thread of its own.
//
// glibc's malloc keeps freed memory in its heaps for reuse; after a burst (a topic's large events
// replaced by small ones, gRPC's buffers for large messages) the process would stay at its peak
// size although the memory is free. Every `period` the trimmer asks the allocator how much it holds
// free and, above `min_free_bytes`, returns it (malloc_trim). The cost is one arena walk per
// period, and a trim only after such a burst.
//
// Thread safety: construction and destruction from one thread; the work runs on its own.
#ifndef RINGCAST_SERVER_TOPIC_HEAP_TRIMMER_H_
#define RINGCAST_SERVER_TOPIC_HEAP_TRIMMER_H_

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "absl/time/time.h"

namespace ringcast::server {

class HeapTrimmer {
 public:
  HeapTrimmer(absl::Duration period, uint64_t min_free_bytes);
  HeapTrimmer(const HeapTrimmer&) = delete;
  HeapTrimmer& operator=(const HeapTrimmer&) = delete;
  // Stops the thread (at once, not at the end of a period).
  ~HeapTrimmer();

  // Bytes returned to the system so far (approximate: what the allocator held free).
  [[nodiscard]] uint64_t returned_bytes() const;

 private:
  void Run();

  const absl::Duration period_;
  const uint64_t min_free_bytes_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  uint64_t returned_ = 0;  // guarded by mu_
  std::thread thread_;     // last: started once the members above exist
};

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_TOPIC_HEAP_TRIMMER_H_
