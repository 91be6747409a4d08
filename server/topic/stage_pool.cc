#include "topic/stage_pool.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "observability/log.h"
#include "ringcast/core/agent_group.h"
#include "ringcast/core/agent_runner.h"
#include "ringcast/core/wait_strategy.h"
#include "topic/disk_replay.h"
#include "topic/journal_stage.h"
#include "topic/topic.h"

namespace ringcast::server {
namespace {

// Longest park without a ring: slow-subscriber timeouts and lazily released ingest are looked
// at least this often.
constexpr std::chrono::milliseconds kMaxPark{50};

void LogStageException(const std::string& where, int64_t, std::exception_ptr error) {
  Log(LogLevel::kError, "stage thread caught an exception",
      {{"where", where}, {"error", DescribeException(error)}});
}

}  // namespace

template <class M>
class AgentPool<M>::Runner {
 public:
  virtual ~Runner() = default;
  virtual Doorbell& doorbell() = 0;
  virtual void Add(std::shared_ptr<M> member) = 0;
  [[nodiscard]] virtual std::size_t size() const = 0;
  virtual void Close() = 0;
};

namespace {

template <class M, WaitStrategy W>
class RunnerOf final : public AgentPool<M>::Runner {
 public:
  RunnerOf(W strategy, const std::string& name)
      : group_(name, LogStageException),
        runner_(group_, std::move(strategy),
                AgentRunnerOptions{
                    .name = name, .max_park = kMaxPark, .report_exception = LogStageException}) {
    runner_.Start();
  }
  ~RunnerOf() override { runner_.Close(); }

  Doorbell& doorbell() override { return runner_.doorbell(); }
  void Add(std::shared_ptr<M> member) override {
    group_.Add(std::move(member));
    runner_.doorbell().Ring();
  }
  std::size_t size() const override { return group_.size(); }
  void Close() override { runner_.Close(); }

 private:
  AgentGroup<M> group_;
  AgentRunner<AgentGroup<M>, W> runner_;
};

template <class M>
std::unique_ptr<typename AgentPool<M>::Runner> MakeRunner(FanoutWaitStrategy strategy,
                                                          const std::string& name) {
  switch (strategy) {
    case FanoutWaitStrategy::kBlocking:
      return std::make_unique<RunnerOf<M, TimeoutBlocking>>(TimeoutBlocking(kMaxPark), name);
    case FanoutWaitStrategy::kPhased:
      return std::make_unique<RunnerOf<M, PhasedBackoff<TimeoutBlocking>>>(
          PhasedBackoff<TimeoutBlocking>(std::chrono::microseconds(20),
                                         std::chrono::microseconds(100), TimeoutBlocking(kMaxPark)),
          name);
    case FanoutWaitStrategy::kYielding:
      return std::make_unique<RunnerOf<M, Yielding>>(Yielding(), name);
    case FanoutWaitStrategy::kBusySpin:
      return std::make_unique<RunnerOf<M, BusySpin>>(BusySpin(), name);
  }
  return nullptr;
}

}  // namespace

template <class M>
AgentPool<M>::AgentPool(std::string name, int threads, FanoutWaitStrategy strategy) {
  for (int i = 0; i < threads; ++i) {
    runners_.push_back(MakeRunner<M>(strategy, absl::StrCat(name, "-", i)));
  }
}

template <class M>
AgentPool<M>::~AgentPool() {
  Stop();
}

template <class M>
std::size_t AgentPool<M>::LeastLoaded() const {
  const auto least =
      std::min_element(runners_.begin(), runners_.end(),
                       [](const auto& a, const auto& b) { return a->size() < b->size(); });
  return static_cast<std::size_t>(least - runners_.begin());
}

template <class M>
Doorbell& AgentPool<M>::doorbell(std::size_t runner) const {
  return runners_[runner]->doorbell();
}

template <class M>
void AgentPool<M>::Add(std::size_t runner, std::shared_ptr<M> member) {
  runners_[runner]->Add(std::move(member));
}

template <class M>
std::vector<std::size_t> AgentPool<M>::Load() const {
  std::vector<std::size_t> load;
  for (const auto& runner : runners_) load.push_back(runner->size());
  return load;
}

template <class M>
void AgentPool<M>::Stop() {
  for (auto& runner : runners_) runner->Close();
}

template class AgentPool<Topic>;
template class AgentPool<JournalStage>;
template class AgentPool<DiskReplay>;

}  // namespace ringcast::server
