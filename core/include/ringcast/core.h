// The ringcast disruptor core in one include. See docs/core.md.
#ifndef RINGCAST_CORE_H_
#define RINGCAST_CORE_H_

#include "ringcast/core/agent_group.h"
#include "ringcast/core/agent_runner.h"
#include "ringcast/core/batch_event_processor.h"
#include "ringcast/core/consumer_stage.h"
#include "ringcast/core/disruptor.h"
#include "ringcast/core/doorbell.h"
#include "ringcast/core/event_handler.h"
#include "ringcast/core/event_poller.h"
#include "ringcast/core/gating_sequences.h"
#include "ringcast/core/multi_producer_sequencer.h"
#include "ringcast/core/producer_wait.h"
#include "ringcast/core/ring_buffer.h"
#include "ringcast/core/sequence.h"
#include "ringcast/core/sequence_barrier.h"
#include "ringcast/core/sequencer.h"
#include "ringcast/core/sharded_mpsc_channel.h"
#include "ringcast/core/single_producer_sequencer.h"
#include "ringcast/core/thread.h"
#include "ringcast/core/wait_strategy.h"

// The Rust-parity additions: lossy readers, pressure signals, pull-consumer waits.
#include "ringcast/core/lossy_reader.h"
#include "ringcast/core/poll_wait.h"
#include "ringcast/core/pressure.h"

#endif  // RINGCAST_CORE_H_
