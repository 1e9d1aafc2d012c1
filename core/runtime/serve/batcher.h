// Dynamic batching for serving, as Triton's dynamic batcher does it: requests queue per model, and a
// batch leaves when it holds max_batch_requests rows, when one more row would make the padded batch
// (rows x the longest row) exceed max_batch_tokens, or when its oldest request has waited
// max_queue_delay_us. Inside a batch the rows are sorted by length, so a model that cuts a batch
// after its longest row computes little padding. The queue is bounded: a request beyond max_queued
// is refused at once (the server's 429), never queued without end. A request cancelled (its client
// left) or past its deadline while queued is answered without running. Torch-free: the model is
// the `run` function.
//
//   Batcher<Row, Scores> batcher(options, [](const Row& r) { return r.ids.size(); }, RunModel);
//   UER_ASSIGN_OR_RETURN(auto ticket, batcher.Submit(row, deadline));
//   absl::StatusOr<Scores> out = ticket->Wait();   // ticket->queue_us(), ticket->run_us()
#ifndef UER_CORE_RUNTIME_SERVE_BATCHER_H_
#define UER_CORE_RUNTIME_SERVE_BATCHER_H_

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace uer::runtime::serve {

using Clock = std::chrono::steady_clock;

struct BatcherOptions {
  int64_t max_batch_requests = 32;
  int64_t max_batch_tokens = 16384;  // rows x the longest row's length
  int64_t max_queue_delay_us = 1000;
  int64_t max_queued = 256;
  int workers = 1;  // threads running batches
};

// Checks the knobs; errors name the field.
absl::Status ValidateBatcherOptions(const BatcherOptions& options);

// What the batcher has done, for the metrics.
struct BatcherStats {
  int64_t queued = 0;    // waiting now
  int64_t running = 0;   // rows in batches running now
  int64_t batches = 0;   // run so far
  int64_t rows = 0;      // in those batches
  int64_t tokens = 0;    // their padded sizes, summed
  int64_t refused = 0;   // queue full
  int64_t cancelled = 0; // left the queue unrun: cancelled or past their deadline
};

template <typename Out>
class Ticket {
 public:
  // Blocks until the request is answered.
  absl::StatusOr<Out> Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return result_.has_value(); });
    return *result_;
  }
  // The client is gone: a request still queued is dropped before batching.
  void Cancel() {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
  }
  bool cancelled() const {
    std::lock_guard<std::mutex> lock(mu_);
    return cancelled_;
  }
  // Microseconds spent queued and in the model (0 until answered).
  int64_t queue_us() const { return queue_us_; }
  int64_t run_us() const { return run_us_; }

 private:
  template <typename, typename>
  friend class Batcher;
  void Answer(absl::StatusOr<Out> result, Clock::time_point started, Clock::time_point done) {
    std::function<void(Ticket&)> on_answer;
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_us_ = std::chrono::duration_cast<std::chrono::microseconds>(started - queued_at_).count();
      run_us_ = std::chrono::duration_cast<std::chrono::microseconds>(done - started).count();
      result_ = std::move(result);
      on_answer = std::move(on_answer_);
    }
    cv_.notify_all();
    if (on_answer) on_answer(*this);
  }
  std::function<void(Ticket&)> on_answer_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<absl::StatusOr<Out>> result_;
  bool cancelled_ = false;
  Clock::time_point queued_at_ = Clock::now();
  int64_t queue_us_ = 0, run_us_ = 0;
};

template <typename In, typename Out>
class Batcher {
 public:
  // One result per row, in the order of `rows` (sorted by length, shortest first). An exception
  // escaping `run` answers every row of the batch with Internal.
  using Run = std::function<std::vector<absl::StatusOr<Out>>(const std::vector<const In*>& rows)>;
  using Length = std::function<int64_t(const In&)>;

  Batcher(BatcherOptions options, Length length, Run run)
      : options_(options), length_(std::move(length)), run_(std::move(run)) {
    for (int i = 0; i < std::max(1, options_.workers); ++i) workers_.emplace_back([this] { Work(); });
  }
  ~Batcher() { Drain(); }
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Queues `in`. ResourceExhausted at once when max_queued requests wait; Unavailable once Drain
  // has begun. `on_answer`, when given, runs once the ticket is answered (on the thread answering
  // it: a worker, or the one calling Submit or Drain), so that an event loop need not Wait.
  absl::StatusOr<std::shared_ptr<Ticket<Out>>> Submit(In in, Clock::time_point deadline = Clock::time_point::max(),
                                                       std::function<void(Ticket<Out>&)> on_answer = nullptr) {
    auto ticket = std::make_shared<Ticket<Out>>();
    ticket->on_answer_ = std::move(on_answer);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (draining_) return absl::UnavailableError("the server is shutting down");
      if (static_cast<int64_t>(queue_.size()) >= options_.max_queued) {
        ++stats_.refused;
        return absl::ResourceExhaustedError(
            absl::StrCat("the queue is full (", options_.max_queued, " requests waiting): retry later"));
      }
      const int64_t length = std::max<int64_t>(1, length_(in));
      queue_.push_back({std::move(in), length, deadline, ticket});
    }
    cv_.notify_all();
    return ticket;
  }

  // Takes no more requests, answers every queued and running one, and joins the workers.
  void Drain() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (draining_ && workers_.empty()) return;
      draining_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : workers_) t.join();
    workers_.clear();
  }

  BatcherStats stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    BatcherStats s = stats_;
    s.queued = static_cast<int64_t>(queue_.size());
    return s;
  }

 private:
  struct Item {
    In in;
    int64_t length;
    Clock::time_point deadline;
    std::shared_ptr<Ticket<Out>> ticket;
  };

  // Answers the queued requests that are cancelled or past their deadline (lock held).
  void DropDead(Clock::time_point now) {
    for (auto it = queue_.begin(); it != queue_.end();) {
      const bool cancelled = it->ticket->cancelled(), late = now >= it->deadline;
      if (!cancelled && !late) {
        ++it;
        continue;
      }
      it->ticket->Answer(cancelled ? absl::CancelledError("the client went away")
                                   : absl::DeadlineExceededError("the request's timeout passed while it was queued"),
                         now, now);
      ++stats_.cancelled;
      it = queue_.erase(it);
    }
  }

  // How many queued requests, from the front, fit one batch; whether the batch is full.
  std::pair<size_t, bool> Fit() const {
    int64_t longest = 0;
    size_t n = 0;
    for (const Item& item : queue_) {
      const int64_t l = std::max(longest, item.length);
      if (n > 0 && l * static_cast<int64_t>(n + 1) > options_.max_batch_tokens) return {n, true};
      longest = l;
      if (static_cast<int64_t>(++n) >= options_.max_batch_requests) return {n, true};
    }
    return {n, false};
  }

  // Waits for a batch (lock held on entry and exit); empty when draining with nothing queued.
  std::vector<Item> NextBatch(std::unique_lock<std::mutex>& lock) {
    while (true) {
      DropDead(Clock::now());
      if (queue_.empty()) {
        if (draining_) return {};
        cv_.wait(lock);
        continue;
      }
      auto [n, full] = Fit();
      const auto leave = queue_.front().ticket->queued_at_ + std::chrono::microseconds(options_.max_queue_delay_us);
      if (full || draining_ || Clock::now() >= leave) {
        std::vector<Item> batch;
        for (size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        return batch;
      }
      cv_.wait_until(lock, std::min(leave, queue_.front().deadline));
    }
  }

  void Work() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      std::vector<Item> batch = NextBatch(lock);
      if (batch.empty()) return;
      std::sort(batch.begin(), batch.end(), [](const Item& a, const Item& b) { return a.length < b.length; });
      const int64_t rows = static_cast<int64_t>(batch.size());
      ++stats_.batches;
      stats_.rows += rows;
      stats_.tokens += rows * batch.back().length;
      stats_.running += rows;
      lock.unlock();
      RunBatch(batch);
      lock.lock();
      stats_.running -= rows;
    }
  }

  void RunBatch(std::vector<Item>& batch) {
    std::vector<const In*> rows;
    for (const Item& item : batch) rows.push_back(&item.in);
    const Clock::time_point started = Clock::now();
    std::vector<absl::StatusOr<Out>> out;
    try {
      out = run_(rows);
      if (out.size() != rows.size()) {
        out.assign(rows.size(), absl::InternalError(absl::StrCat("the model answered ", out.size(), " of ",
                                                                 rows.size(), " rows")));
      }
    } catch (const std::exception& e) {
      const std::string what = e.what();
      out.assign(rows.size(), absl::InternalError(what.substr(0, what.find('\n'))));
    }
    const Clock::time_point done = Clock::now();
    for (size_t i = 0; i < batch.size(); ++i) batch[i].ticket->Answer(std::move(out[i]), started, done);
  }

  const BatcherOptions options_;
  const Length length_;
  const Run run_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool draining_ = false;
  BatcherStats stats_;
  std::vector<std::thread> workers_;
};

}  // namespace uer::runtime::serve

#endif  // UER_CORE_RUNTIME_SERVE_BATCHER_H_
