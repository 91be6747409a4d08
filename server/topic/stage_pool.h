// StagePool: the small fixed pool of threads that runs every topic's pipeline. Each thread is an
// AgentRunner over an AgentGroup of topics, idling with the wait strategy chosen once at start-up
// (--wait_strategy); a topic belongs to one thread for its whole life, so its stages never run on
// two threads at once.
//
// Thread safety: every method from any thread.
#ifndef RINGCAST_SERVER_TOPIC_STAGE_POOL_H_
#define RINGCAST_SERVER_TOPIC_STAGE_POOL_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "ringcast/core/doorbell.h"
#include "ringcast/server/options.h"

namespace ringcast::server {

class Topic;

class StagePool {
 public:
  // Starts `threads` runners idling with `strategy`.
  StagePool(int threads, FanoutWaitStrategy strategy);
  StagePool(const StagePool&) = delete;
  StagePool& operator=(const StagePool&) = delete;
  ~StagePool();

  // Creates a topic with `make` on the least loaded runner (handing it that runner's doorbell)
  // and starts running its pipeline there. The runner keeps the topic until its pipeline is
  // Finished (deleted and its streams ended).
  std::shared_ptr<Topic> Adopt(const std::function<std::shared_ptr<Topic>(Doorbell&)>& make);

  // Topics each runner holds, by runner.
  [[nodiscard]] std::vector<std::size_t> Load() const;

  // Stops and joins every runner. Idempotent.
  void Stop();

  class Runner;

 private:
  std::vector<std::unique_ptr<Runner>> runners_;
};

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_TOPIC_STAGE_POOL_H_
