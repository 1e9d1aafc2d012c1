// The dynamic batcher with a stand-in model: batch limits by rows and by padded tokens, rows sorted
// by length and answered to their own requests, the bounded queue, cancellation and deadlines
// before batching, errors of the model, and draining.
#include "core/runtime/serve/batcher.h"

#include <algorithm>
#include <atomic>
#include <string>

#include "testing/test_util.h"

namespace uer::runtime::serve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::uer::testing::StatusIs;

// A stand-in model: a row is a string, its length the string's; the answer is the string twice.
// It records each batch and can be held shut until Open().
class Model {
 public:
  std::vector<absl::StatusOr<std::string>> Run(const std::vector<const std::string*>& rows) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return open_; });
    std::vector<std::string> batch;
    std::vector<absl::StatusOr<std::string>> out;
    for (const std::string* r : rows) {
      batch.push_back(*r);
      if (*r == "bad") {
        out.push_back(absl::InvalidArgumentError("bad row"));
      } else {
        out.push_back(*r + *r);
      }
    }
    batches_.push_back(batch);
    return out;
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  std::vector<std::vector<std::string>> batches() {
    std::lock_guard<std::mutex> lock(mu_);
    return batches_;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  std::vector<std::vector<std::string>> batches_;
};

using StringBatcher = Batcher<std::string, std::string>;

std::unique_ptr<StringBatcher> Make(Model* model, BatcherOptions o) {
  return std::make_unique<StringBatcher>(
      o, [](const std::string& s) { return static_cast<int64_t>(s.size()); },
      [model](const std::vector<const std::string*>& rows) { return model->Run(rows); });
}

std::vector<std::shared_ptr<Ticket<std::string>>> SubmitAll(StringBatcher& b, const std::vector<std::string>& rows) {
  std::vector<std::shared_ptr<Ticket<std::string>>> tickets;
  for (const std::string& r : rows) {
    absl::StatusOr<std::shared_ptr<Ticket<std::string>>> t = b.Submit(r);
    EXPECT_OK(t);
    tickets.push_back(*t);
  }
  return tickets;
}

// The worker is held in the first batch ("first") while the others queue; then they leave in
// batches of at most three rows, each sorted by length, each row answered with its own result.
TEST(BatcherTest, BatchesHoldAtMostMaxBatchRequestsSortedByLength) {
  Model model;
  model.open_ = false;
  auto b = Make(&model, {.max_batch_requests = 3, .max_batch_tokens = 1000, .max_queue_delay_us = 0});
  auto first = SubmitAll(*b, {"first"});
  while (b->stats().queued > 0) std::this_thread::yield();  // "first" is in the (shut) model
  auto tickets = SubmitAll(*b, {"cccc", "a", "bb", "dddddd", "e"});
  model.Open();
  EXPECT_EQ(*first[0]->Wait(), "firstfirst");
  const std::vector<std::string> rows = {"cccc", "a", "bb", "dddddd", "e"};
  for (size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(*tickets[i]->Wait(), rows[i] + rows[i]);
  EXPECT_THAT(model.batches(), ElementsAre(ElementsAre("first"), ElementsAre("a", "bb", "cccc"),
                                           ElementsAre("e", "dddddd")));
  BatcherStats s = b->stats();
  EXPECT_EQ(s.batches, 3);
  EXPECT_EQ(s.rows, 6);
  EXPECT_EQ(s.tokens, 5 + 3 * 4 + 2 * 6);  // each batch's rows x its longest
}

// A batch stops before the padded size (rows x longest) passes max_batch_tokens; a row longer than
// that on its own still runs, alone.
TEST(BatcherTest, BatchesStayWithinMaxBatchTokens) {
  Model model;
  model.open_ = false;
  auto b = Make(&model, {.max_batch_requests = 10, .max_batch_tokens = 12, .max_queue_delay_us = 0});
  auto first = SubmitAll(*b, {"x"});
  while (b->stats().queued > 0) std::this_thread::yield();
  auto tickets = SubmitAll(*b, {"aaaa", "bbbb", "cccc", "dddddddddddddddd", "ee"});
  model.Open();
  for (auto& t : tickets) ASSERT_OK(t->Wait());
  EXPECT_THAT(model.batches(), ElementsAre(ElementsAre("x"), ElementsAre("aaaa", "bbbb", "cccc"),
                                           ElementsAre("dddddddddddddddd"), ElementsAre("ee")));
}

// A lone request does not wait for company longer than max_queue_delay_us.
TEST(BatcherTest, ALoneRequestLeavesAfterTheDelay) {
  Model model;
  auto b = Make(&model, {.max_batch_requests = 8, .max_queue_delay_us = 2000});
  auto t = SubmitAll(*b, {"solo"});
  EXPECT_EQ(*t[0]->Wait(), "solosolo");
  EXPECT_GE(t[0]->queue_us(), 0);
}

// An event loop is told through the callback, once, with the answer already in the ticket.
TEST(BatcherTest, TheCallbackRunsOnceWithTheAnswer) {
  Model model;
  auto b = Make(&model, {.max_batch_requests = 2, .max_queue_delay_us = 100});
  std::mutex mu;
  std::vector<std::string> seen;
  for (const char* row : {"a", "bad"}) {
    ASSERT_OK(b->Submit(row, Clock::time_point::max(), [&](Ticket<std::string>& t) {
      absl::StatusOr<std::string> r = t.Wait();  // answered already: does not block
      std::lock_guard<std::mutex> lock(mu);
      seen.push_back(r.ok() ? *r : std::string(r.status().message()));
    }).status());
  }
  b->Drain();
  std::sort(seen.begin(), seen.end());
  EXPECT_THAT(seen, ElementsAre("aa", "bad row"));
}

TEST(BatcherTest, AFullQueueRefusesAtOnce) {
  Model model;
  model.open_ = false;
  auto b = Make(&model, {.max_batch_requests = 1, .max_queue_delay_us = 0, .max_queued = 2});
  auto running = SubmitAll(*b, {"r"});
  while (b->stats().queued > 0) std::this_thread::yield();
  auto queued = SubmitAll(*b, {"q1", "q2"});
  EXPECT_THAT(b->Submit("q3").status(), StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("queue is full")));
  EXPECT_EQ(b->stats().refused, 1);
  model.Open();
  for (auto& t : queued) EXPECT_OK(t->Wait());
}

// A cancelled request (its client left) and one past its deadline are answered without running.
TEST(BatcherTest, CancelledAndLateRequestsNeverRun) {
  Model model;
  model.open_ = false;
  auto b = Make(&model, {.max_batch_requests = 4, .max_queue_delay_us = 0});
  auto running = SubmitAll(*b, {"r"});
  while (b->stats().queued > 0) std::this_thread::yield();
  auto gone = SubmitAll(*b, {"gone"});
  gone[0]->Cancel();
  absl::StatusOr<std::shared_ptr<Ticket<std::string>>> late = b->Submit("late", Clock::now());
  ASSERT_OK(late);
  auto kept = SubmitAll(*b, {"kept"});
  model.Open();
  EXPECT_EQ(*kept[0]->Wait(), "keptkept");
  EXPECT_THAT(gone[0]->Wait().status(), StatusIs(absl::StatusCode::kCancelled, HasSubstr("client")));
  EXPECT_THAT((*late)->Wait().status(), StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("timeout")));
  for (const auto& batch : model.batches()) {
    for (const std::string& row : batch) EXPECT_TRUE(row == "r" || row == "kept") << row;
  }
  EXPECT_EQ(b->stats().cancelled, 2);
}

// A row's error stays its own; an exception from the model answers its whole batch.
TEST(BatcherTest, ErrorsReachTheirRequests) {
  Model model;
  auto b = Make(&model, {.max_batch_requests = 1});
  auto t = SubmitAll(*b, {"bad", "good"});
  EXPECT_THAT(t[0]->Wait().status(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad row")));
  EXPECT_EQ(*t[1]->Wait(), "goodgood");

  StringBatcher throwing({}, [](const std::string& s) { return static_cast<int64_t>(s.size()); },
                         [](const std::vector<const std::string*>&) -> std::vector<absl::StatusOr<std::string>> {
                           throw std::runtime_error("shape mismatch\nbacktrace...");
                         });
  absl::StatusOr<std::shared_ptr<Ticket<std::string>>> r = throwing.Submit("x");
  ASSERT_OK(r);
  EXPECT_THAT((*r)->Wait().status(), StatusIs(absl::StatusCode::kInternal, ::testing::Eq("shape mismatch")));
}

// Drain answers what was queued, then refuses.
TEST(BatcherTest, DrainFinishesTheQueueThenRefuses) {
  Model model;
  model.open_ = false;
  auto b = Make(&model, {.max_batch_requests = 2, .max_queue_delay_us = 1000000, .workers = 2});
  auto tickets = SubmitAll(*b, {"a", "b", "c"});
  std::thread drain([&] { b->Drain(); });
  model.Open();
  drain.join();
  for (auto& t : tickets) EXPECT_OK(t->Wait());
  EXPECT_THAT(b->Submit("late").status(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("shutting down")));
}

TEST(BatcherTest, KnobsAreChecked) {
  EXPECT_OK(ValidateBatcherOptions({}));
  EXPECT_THAT(ValidateBatcherOptions({.max_batch_tokens = 0}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_batch_tokens")));
  EXPECT_THAT(ValidateBatcherOptions({.max_queue_delay_us = -1}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_queue_delay_us")));
}

}  // namespace
}  // namespace uer::runtime::serve
