#include "topic_registry.h"

#include <algorithm>
#include <bit>
#include <utility>

#include "absl/strings/str_cat.h"
#include "event_codec.h"
#include "log.h"

namespace ringcast::server {

TopicRegistry::TopicRegistry(const ServerOptions& options) : options_(options) {
  const FanoutSettings settings{.slow_subscriber_timeout = options.slow_subscriber_timeout};
  for (int i = 0; i < options.fanout_threads; ++i) {
    workers_.push_back(FanoutWorker::Create(options.wait_strategy, settings, i));
  }
}

TopicRegistry::~TopicRegistry() { StopFanout(); }

void TopicRegistry::StopFanout() {
  for (auto& worker : workers_) worker->Stop();
}

absl::StatusOr<std::shared_ptr<Topic>> TopicRegistry::Create(absl::string_view name,
                                                             uint32_t capacity) {
  if (absl::Status s = ValidateTopicName(name); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  if (topics_.contains(name)) {
    return absl::AlreadyExistsError(absl::StrCat("topic \"", name, "\" already exists"));
  }
  return CreateLocked(name, capacity);
}

absl::StatusOr<std::shared_ptr<Topic>> TopicRegistry::CreateLocked(absl::string_view name,
                                                                   uint32_t capacity) {
  if (draining_) return absl::UnavailableError("server is shutting down");
  if (capacity == 0) capacity = options_.default_ring_capacity;
  if (!std::has_single_bit(capacity)) {
    return absl::InvalidArgumentError(
        absl::StrCat("capacity ", capacity, " is not a power of two"));
  }
  if (capacity > options_.max_ring_capacity) {
    return absl::InvalidArgumentError(
        absl::StrCat("capacity ", capacity, " is above this server's limit of ",
                     options_.max_ring_capacity, " (--max_ring_capacity)"));
  }
  if (topics_.size() >= options_.max_topics) {
    return absl::ResourceExhaustedError(absl::StrCat("the server already has ", topics_.size(),
                                                     " topics (--max_topics); delete one first"));
  }
  // The least loaded fan-out thread gets the topic.
  FanoutWorker& worker = **std::min_element(
      workers_.begin(), workers_.end(),
      [](const auto& a, const auto& b) { return a->TopicCount() < b->TopicCount(); });
  auto topic = std::make_shared<Topic>(std::string(name), capacity, worker.doorbell(),
                                       !options_.metrics_listen.empty());
  worker.AddTopic(topic);
  topics_.emplace(std::string(name), topic);
  Log(LogLevel::kInfo, "topic created", {{"topic", name}, {"capacity", capacity}});
  return topic;
}

absl::StatusOr<std::shared_ptr<Topic>> TopicRegistry::Get(absl::string_view name) const {
  if (absl::Status s = ValidateTopicName(name); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = topics_.find(name);
  if (it == topics_.end()) {
    return absl::NotFoundError(absl::StrCat("topic \"", name, "\" does not exist"));
  }
  return it->second;
}

absl::StatusOr<std::shared_ptr<Topic>> TopicRegistry::GetOrCreate(absl::string_view name) {
  if (absl::Status s = ValidateTopicName(name); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = topics_.find(name);
  if (it != topics_.end()) return it->second;
  if (!options_.auto_create_topics) {
    return absl::NotFoundError(absl::StrCat("topic \"", name,
                                            "\" does not exist and this server does not create "
                                            "topics on first use (--auto_create_topics=false)"));
  }
  return CreateLocked(name, 0);
}

absl::Status TopicRegistry::Delete(absl::string_view name) {
  if (absl::Status s = ValidateTopicName(name); !s.ok()) return s;
  std::shared_ptr<Topic> topic;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = topics_.find(name);
    if (it == topics_.end()) {
      return absl::NotFoundError(absl::StrCat("topic \"", name, "\" does not exist"));
    }
    topic = std::move(it->second);
    topics_.erase(it);
  }
  topic->MarkDeleted();
  Log(LogLevel::kInfo, "topic deleted", {{"topic", name}});
  return absl::OkStatus();
}

std::vector<std::shared_ptr<Topic>> TopicRegistry::List() const {
  std::vector<std::shared_ptr<Topic>> topics;
  {
    std::lock_guard<std::mutex> lock(mu_);
    topics.reserve(topics_.size());
    for (const auto& [name, topic] : topics_) topics.push_back(topic);
  }
  std::sort(topics.begin(), topics.end(),
            [](const auto& a, const auto& b) { return a->name() < b->name(); });
  return topics;
}

void TopicRegistry::BeginDrainAll() {
  std::lock_guard<std::mutex> lock(mu_);
  draining_ = true;
  for (const auto& [name, topic] : topics_) topic->BeginDrain();
}

}  // namespace ringcast::server
