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

class StagePool::Runner {
 public:
  virtual ~Runner() = default;
  virtual Doorbell& doorbell() = 0;
  virtual void Add(std::shared_ptr<Topic> topic) = 0;
  [[nodiscard]] virtual std::size_t size() const = 0;
  virtual void Close() = 0;
};

namespace {

template <WaitStrategy W>
class RunnerOf final : public StagePool::Runner {
 public:
  RunnerOf(W strategy, int index)
      : group_(absl::StrCat("rc-stage-", index), LogStageException),
        runner_(group_, std::move(strategy),
                AgentRunnerOptions{.name = absl::StrCat("rc-stage-", index),
                                   .max_park = kMaxPark,
                                   .report_exception = LogStageException}) {
    runner_.Start();
  }
  ~RunnerOf() override { runner_.Close(); }

  Doorbell& doorbell() override { return runner_.doorbell(); }
  void Add(std::shared_ptr<Topic> topic) override {
    group_.Add(std::move(topic));
    runner_.doorbell().Ring();
  }
  std::size_t size() const override { return group_.size(); }
  void Close() override { runner_.Close(); }

 private:
  AgentGroup<Topic> group_;
  AgentRunner<AgentGroup<Topic>, W> runner_;
};

std::unique_ptr<StagePool::Runner> MakeRunner(FanoutWaitStrategy strategy, int index) {
  switch (strategy) {
    case FanoutWaitStrategy::kBlocking:
      return std::make_unique<RunnerOf<TimeoutBlocking>>(TimeoutBlocking(kMaxPark), index);
    case FanoutWaitStrategy::kPhased:
      return std::make_unique<RunnerOf<PhasedBackoff<TimeoutBlocking>>>(
          PhasedBackoff<TimeoutBlocking>(std::chrono::microseconds(20),
                                         std::chrono::microseconds(100), TimeoutBlocking(kMaxPark)),
          index);
    case FanoutWaitStrategy::kYielding:
      return std::make_unique<RunnerOf<Yielding>>(Yielding(), index);
    case FanoutWaitStrategy::kBusySpin:
      return std::make_unique<RunnerOf<BusySpin>>(BusySpin(), index);
  }
  return nullptr;
}

}  // namespace

StagePool::StagePool(int threads, FanoutWaitStrategy strategy) {
  for (int i = 0; i < threads; ++i) runners_.push_back(MakeRunner(strategy, i));
}

StagePool::~StagePool() { Stop(); }

std::shared_ptr<Topic> StagePool::Adopt(
    const std::function<std::shared_ptr<Topic>(Doorbell&)>& make) {
  Runner& runner =
      **std::min_element(runners_.begin(), runners_.end(),
                         [](const auto& a, const auto& b) { return a->size() < b->size(); });
  std::shared_ptr<Topic> topic = make(runner.doorbell());
  runner.Add(topic);
  return topic;
}

std::vector<std::size_t> StagePool::Load() const {
  std::vector<std::size_t> load;
  for (const auto& runner : runners_) load.push_back(runner->size());
  return load;
}

void StagePool::Stop() {
  for (auto& runner : runners_) runner->Close();
}

}  // namespace ringcast::server
