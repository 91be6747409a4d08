#include "topic/topic_registry.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <bit>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "observability/log.h"

namespace ringcast::server {

absl::Status ValidateTopicName(absl::string_view name) {
  constexpr std::size_t kMaxTopicNameBytes = 249;
  if (name.empty()) return absl::InvalidArgumentError("topic name is empty");
  if (name.size() > kMaxTopicNameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("topic name is ", name.size(), " bytes long; the limit is 249"));
  }
  for (const char c : name) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!allowed) {
      return absl::InvalidArgumentError(absl::StrCat("topic name \"", absl::CHexEscape(name),
                                                     "\" has a character outside [A-Za-z0-9._-]"));
    }
  }
  return absl::OkStatus();
}

namespace {

// How long Delete waits for a durable topic's journal stage to stop writing (one step: at worst
// an fdatasync) before it removes the directory anyway.
constexpr absl::Duration kJournalGiveUpWait = absl::Seconds(10);

// A run charged to `budget` until its last reference goes.
class ChargedRun {
 public:
  ChargedRun(std::shared_ptr<EventRun> run, MemoryBudget& budget)
      : run_(std::move(run)), budget_(budget), bytes_(run_->size()) {
    budget_.Charge(bytes_);
  }
  ChargedRun(const ChargedRun&) = delete;
  ChargedRun& operator=(const ChargedRun&) = delete;
  ~ChargedRun() { budget_.Release(bytes_); }

  [[nodiscard]] EventRun* get() const noexcept { return run_.get(); }

 private:
  const std::shared_ptr<EventRun> run_;
  MemoryBudget& budget_;
  const std::size_t bytes_;
};

EventRunFactory ChargeRunsTo(MemoryBudget& budget, EventRunFactory make) {
  return [&budget, make = std::move(make)](std::size_t bytes) -> std::shared_ptr<EventRun> {
    auto charged = std::make_shared<ChargedRun>(make(bytes), budget);
    EventRun* run = charged->get();
    return std::shared_ptr<EventRun>(std::move(charged), run);  // shares the charge's lifetime
  };
}

}  // namespace

TopicRegistry::TopicRegistry(const ServerOptions& options, EventRunFactory run_factory)
    : options_(options),
      memory_(options.EventMemoryBytes()),
      run_factory_(ChargeRunsTo(memory_, std::move(run_factory))),
      trimmer_(absl::Seconds(1), uint64_t{16} << 20),
      stages_("rc-stage", options.fanout_threads, options.wait_strategy),
      journals_("rc-journal", options.data_dir.empty() ? 0 : options.journal_threads,
                FanoutWaitStrategy::kBlocking),
      replays_("rc-replay", options.data_dir.empty() ? 0 : 1, FanoutWaitStrategy::kBlocking) {}

TopicRegistry::~TopicRegistry() { StopStages(); }

void TopicRegistry::StopStages() {
  replays_.Stop();
  stages_.Stop();
  journals_.Stop();
}

absl::StatusOr<int64_t> TopicRegistry::Subscribe(const std::shared_ptr<Topic>& topic,
                                                 std::shared_ptr<OutboundQueue> queue,
                                                 const SubscriberSettings& settings,
                                                 StartPosition start, uint32_t max_subscribers) {
  const JournalStage* stage = topic->journal_stage();
  if (stage == nullptr || start.kind == StartPosition::Kind::kLatest) {
    return topic->Register(std::move(queue), settings, start, max_subscribers);
  }
  const storage::Journal& journal = stage->journal();
  int64_t first = 0;
  switch (start.kind) {
    case StartPosition::Kind::kEarliest:
      first = journal.first_sequence();
      break;
    case StartPosition::Kind::kTime: {
      absl::StatusOr<int64_t> at = journal.SequenceAtTime(start.time_nanos);
      if (!at.ok()) return at.status();
      first = *at;
      break;
    }
    default:
      first = static_cast<int64_t>(start.sequence);
      break;
  }
  // What the ring holds, and anything not journaled yet, is the ring's to serve (or refuse).
  if (first >= topic->RingOldestSequence() || first > topic->JournaledSequence()) {
    return topic->Register(std::move(queue), settings,
                           StartPosition{.kind = StartPosition::Kind::kSequence,
                                         .sequence = static_cast<uint64_t>(first)},
                           max_subscribers);
  }
  absl::StatusOr<std::unique_ptr<storage::JournalReader>> reader = journal.NewReader(first);
  if (!reader.ok()) {
    if (!absl::IsOutOfRange(reader.status())) return reader.status();
    return absl::OutOfRangeError(absl::StrCat(
        "from_sequence ", first, " is outside what topic \"", topic->name(),
        "\" can replay: its journal retains sequences [", journal.first_sequence(), ", ",
        topic->NextSequence(), ") and the next to be published is ", topic->NextSequence()));
  }
  if (!topic->TryAddDiskReader(max_subscribers)) {
    return absl::ResourceExhaustedError(absl::StrCat("topic \"", topic->name(), "\" already has ",
                                                     max_subscribers,
                                                     " subscribers (--max_subscribers_per_topic)"));
  }
  const std::size_t runner = replays_.LeastLoaded();
  replays_.Add(runner,
               std::make_shared<DiskReplay>(topic, std::move(queue), settings, max_subscribers,
                                            *std::move(reader), replays_.doorbell(runner)));
  return first;
}

uint64_t TopicRegistry::DiskFreeBytes() const {
  if (options_.data_dir.empty()) return 0;
  struct statvfs disk {};
  if (statvfs(options_.data_dir.c_str(), &disk) != 0) return 0;
  return static_cast<uint64_t>(disk.f_bavail) * disk.f_frsize;
}

double TopicRegistry::recovery_seconds() const {
  std::lock_guard<std::mutex> lock(mu_);
  return recovery_seconds_;
}

uint64_t TopicRegistry::journal_truncated_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return journal_truncated_bytes_;
}

absl::Status TopicRegistry::OpenDataDirectory() {
  if (options_.data_dir.empty()) return absl::OkStatus();
  const absl::Time started = absl::Now();
  absl::StatusOr<std::unique_ptr<DataDirectory>> data = DataDirectory::Open(options_.data_dir);
  if (!data.ok()) return data.status();
  std::lock_guard<std::mutex> lock(mu_);
  data_ = *std::move(data);
  for (const std::string& note : data_->discarded()) {
    Log(LogLevel::kError, "topic directory not served", {{"note", note}});
  }
  for (const TopicDefinition& definition : data_->recovered()) {
    absl::StatusOr<std::shared_ptr<Topic>> topic = CreateLocked(definition, /*recovering=*/true);
    if (!topic.ok()) {
      Log(LogLevel::kError, "topic not recovered",
          {{"topic", definition.name}, {"error", topic.status().ToString()}});
    }
  }
  recovery_seconds_ = absl::ToDoubleSeconds(absl::Now() - started);
  Log(LogLevel::kInfo, "data directory opened",
      {{"data_dir", options_.data_dir},
       {"topics", static_cast<int64_t>(topics_.size())},
       {"recovery_seconds", recovery_seconds_}});
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<Topic>> TopicRegistry::Create(absl::string_view name,
                                                             uint32_t capacity, uint64_t max_bytes,
                                                             uint64_t retention_bytes,
                                                             absl::Duration retention_age) {
  if (absl::Status s = ValidateTopicName(name); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  if (topics_.contains(name)) {
    return absl::AlreadyExistsError(absl::StrCat("topic \"", name, "\" already exists"));
  }
  return CreateLocked(TopicDefinition{.name = std::string(name),
                                      .capacity = capacity,
                                      .max_bytes = max_bytes,
                                      .retention_bytes = retention_bytes,
                                      .retention_age = retention_age,
                                      .created_unix_nanos = absl::GetCurrentTimeNanos()},
                      /*recovering=*/false);
}

absl::StatusOr<std::unique_ptr<storage::Journal>> TopicRegistry::OpenJournal(
    const TopicDefinition& definition, bool recovering) {
  if (!recovering) {
    if (absl::Status s = data_->Define(definition); !s.ok()) return s;
  }
  const storage::JournalOptions journal_options{
      .segment_bytes = options_.segment_bytes,
      .segment_age = options_.segment_age,
      .retention_bytes =
          definition.retention_bytes != 0 ? definition.retention_bytes : options_.retention_bytes,
      .retention_age = definition.retention_age != absl::ZeroDuration() ? definition.retention_age
                                                                        : options_.retention_age,
      // Bodies are encoded events: their framing never doubles them (see rpc/event_codec.h).
      .max_body_bytes = 2 * options_.max_event_bytes + (64 << 10)};
  storage::RecoveryReport report;
  absl::StatusOr<std::unique_ptr<storage::Journal>> journal =
      storage::Journal::Open(data_->TopicPath(definition.name), journal_options, &report);
  if (!journal.ok()) {
    if (!recovering) static_cast<void>(data_->Remove(definition.name));
    return journal.status();
  }
  if (recovering) {
    Log(report.truncated_bytes != 0 ? LogLevel::kWarning : LogLevel::kInfo, "topic recovered",
        {{"topic", definition.name},
         {"first_sequence", report.first_sequence},
         {"next_sequence", report.next_sequence},
         {"segments", report.segments},
         {"bytes", report.bytes},
         {"truncated_bytes", report.truncated_bytes},
         {"truncation", report.truncation},
         {"indexes_rebuilt", report.indexes_rebuilt},
         {"seconds", absl::ToDoubleSeconds(report.took)}});
    journal_truncated_bytes_ += static_cast<uint64_t>(report.truncated_bytes);
  }
  return journal;
}

absl::StatusOr<std::shared_ptr<Topic>> TopicRegistry::CreateLocked(TopicDefinition definition,
                                                                   bool recovering) {
  const absl::string_view name = definition.name;
  uint32_t& capacity = definition.capacity;
  const uint64_t max_bytes = definition.max_bytes;
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
  // A batch may take half the budget, and one event of --max_event_bytes must fit in a batch.
  const uint64_t min_bytes = 2 * EventSlot::BufferBytes(options_.max_event_bytes + (1 << 10));
  if (max_bytes != 0 && max_bytes < min_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_bytes ", max_bytes,
                     " cannot hold two of the largest events this server "
                     "accepts (--max_event_bytes=",
                     options_.max_event_bytes, "); the least is ", min_bytes));
  }
  if (topics_.size() >= options_.max_topics) {
    return absl::ResourceExhaustedError(absl::StrCat("the server already has ", topics_.size(),
                                                     " topics (--max_topics); delete one first"));
  }
  // While the budget is nearly spent the topics there are keep the room that is left.
  if (memory_.nearly_spent()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the server's memory budget is nearly spent (", memory_.used(), " of ", memory_.limit(),
        " bytes for events in use; --max_memory_bytes=", options_.MemoryBudgetBytes(),
        "): no new topics until more than an eighth is free"));
  }
  TopicSettings settings{.capacity = capacity,
                         .fanout = {.slow_subscriber_timeout = options_.slow_subscriber_timeout},
                         .latency_metrics = !options_.metrics_listen.empty(),
                         .inline_fanout = options_.inline_fanout,
                         .run_factory = run_factory_,
                         .max_bytes = options_.TopicMemoryBytes(max_bytes),
                         .server_budget = &memory_};
  const uint64_t topic_bytes = settings.max_bytes;
  std::size_t journal_runner = 0;
  if (data_ != nullptr) {
    absl::StatusOr<std::unique_ptr<storage::Journal>> journal = OpenJournal(definition, recovering);
    if (!journal.ok()) return journal.status();
    journal_runner = journals_.LeastLoaded();
    settings.journal = *std::move(journal);
    settings.journal_settings = {.sync = options_.journal_sync,
                                 .sync_interval = options_.journal_sync_interval,
                                 .min_free_bytes = options_.min_free_bytes,
                                 .sync_latency = &journal_sync_latency_};
    settings.journal_doorbell = &journals_.doorbell(journal_runner);
  }
  std::shared_ptr<Topic> topic = stages_.Adopt([&](Doorbell& doorbell) {
    return std::make_shared<Topic>(std::string(name), std::move(settings), doorbell);
  });
  if (JournalStage* journal = topic->journal_stage(); journal != nullptr) {
    // The stage lives inside the topic: the pool's reference keeps the topic alive.
    journals_.Add(journal_runner, std::shared_ptr<JournalStage>(topic, journal));
  }
  topics_.emplace(std::string(name), topic);
  if (!recovering) {
    Log(LogLevel::kInfo, "topic created",
        {{"topic", name},
         {"capacity", capacity},
         {"max_bytes", topic_bytes},
         {"durable", data_ != nullptr}});
  }
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
  return CreateLocked(
      TopicDefinition{.name = std::string(name), .created_unix_nanos = absl::GetCurrentTimeNanos()},
      /*recovering=*/false);
}

absl::Status TopicRegistry::Delete(absl::string_view name) {
  if (absl::Status s = ValidateTopicName(name); !s.ok()) return s;
  std::shared_ptr<Topic> topic;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = topics_.find(name);
    if (it == topics_.end() || it->second->deleted()) {
      return absl::NotFoundError(absl::StrCat("topic \"", name, "\" does not exist"));
    }
    topic = it->second;
  }
  // Publishers, subscribers and the stages learn it now; the topic keeps its name until its
  // journal has given its directory up, so that a topic created again under this name meanwhile
  // (ALREADY_EXISTS until then) never shares the directory with the old one's last writes.
  topic->MarkDeleted();
  if (JournalStage* journal = topic->journal_stage(); journal != nullptr) {
    if (!journal->AwaitFinished(kJournalGiveUpWait)) {
      Log(LogLevel::kWarning, "deleted topic's journal did not stop in time",
          {{"topic", name}, {"waited", absl::FormatDuration(kJournalGiveUpWait)}});
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = topics_.find(name);
    if (it == topics_.end() || it->second != topic) {  // a concurrent Delete of it finished first
      return absl::NotFoundError(absl::StrCat("topic \"", name, "\" does not exist"));
    }
    topics_.erase(it);
    if (data_ != nullptr) {
      if (absl::Status s = data_->Remove(name); !s.ok()) {
        Log(LogLevel::kError, "deleted topic's files not removed",
            {{"topic", name}, {"error", s.ToString()}});
      }
    }
  }
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
