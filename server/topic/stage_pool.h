// AgentPool: a small fixed pool of threads that runs a changing set of agents (a topic's pipeline
// of stages, a topic's journal). Each thread is an AgentRunner over an AgentGroup, idling with the
// wait strategy chosen once at start-up (--wait_strategy); an agent belongs to one thread for its
// whole life, so it never runs on two threads at once.
//
// StagePool runs topics (their fan-out stage); JournalPool runs their journal stages, on threads
// of their own so that a write or an fdatasync never holds up another topic's fan-out.
//
// Thread safety: every method from any thread.
#ifndef RINGCAST_SERVER_TOPIC_STAGE_POOL_H_
#define RINGCAST_SERVER_TOPIC_STAGE_POOL_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ringcast/core/doorbell.h"
#include "ringcast/server/options.h"

namespace ringcast::server {

class Topic;
class JournalStage;
class DiskReplay;

// M: a GroupMember of the core (DoWork, Finished). Instantiated for Topic and JournalStage.
template <class M>
class AgentPool {
 public:
  // Starts `threads` runners, named `name`-0, `name`-1, ..., idling with `strategy`.
  AgentPool(std::string name, int threads, FanoutWaitStrategy strategy);
  AgentPool(const AgentPool&) = delete;
  AgentPool& operator=(const AgentPool&) = delete;
  ~AgentPool();

  // The least loaded runner, for Add; and its doorbell, which wakes it.
  [[nodiscard]] std::size_t LeastLoaded() const;
  [[nodiscard]] Doorbell& doorbell(std::size_t runner) const;
  // Starts running `member` on `runner`, which keeps it until it is Finished.
  void Add(std::size_t runner, std::shared_ptr<M> member);

  // Creates a member with `make` on the least loaded runner (handing it that runner's doorbell)
  // and starts running it there.
  std::shared_ptr<M> Adopt(const std::function<std::shared_ptr<M>(Doorbell&)>& make) {
    const std::size_t runner = LeastLoaded();
    std::shared_ptr<M> member = make(doorbell(runner));
    Add(runner, member);
    return member;
  }

  // Members each runner holds, by runner.
  [[nodiscard]] std::vector<std::size_t> Load() const;

  // Stops and joins every runner. Idempotent.
  void Stop();

  class Runner;

 private:
  std::vector<std::unique_ptr<Runner>> runners_;
};

using StagePool = AgentPool<Topic>;
using JournalPool = AgentPool<JournalStage>;
using ReplayPool = AgentPool<DiskReplay>;

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_TOPIC_STAGE_POOL_H_
