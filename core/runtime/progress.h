// The progress of a long tool on a terminal: one line redrawn in place (core/status_line.h) with
// what is done of the total, the rate and the ETA, e.g.
//
//   pretrain: step 1200/10000 (12.0%) | 9.81 steps/s | loss 6.12 | ETA 0:14:57
//
// Drawn only when standard error is a terminal (and UER_PROGRESS is not 0); in a pipe or a log
// file nothing is written and the tool's plain report lines stand alone.
//
//   Progress p("preprocess", file_size, Progress::Unit::kBytes);
//   p.Update(bytes_read);          // cheap: redraws at most a few times a second
//   p.Done();                      // clears the line
#ifndef UER_CORE_RUNTIME_PROGRESS_H_
#define UER_CORE_RUNTIME_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <string>

namespace uer::runtime {

class Progress {
 public:
  enum class Unit { kItems, kBytes };
  // `noun` names the items ("steps", "rows", "tensors"); kBytes shows MB and MB/s. `first`: where
  // the count starts (a resumed run's step), for the rate.
  Progress(std::string what, int64_t total, Unit unit = Unit::kItems, std::string noun = "", int64_t first = 0);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // `done` of the total so far; `detail` is shown after the rate ("loss 6.12").
  void Update(int64_t done, const std::string& detail = "");
  void Done();
  bool enabled() const { return enabled_; }
  // The line as drawn (for tests): what, done/total, percent, rate, detail, ETA.
  std::string Line(int64_t done, double seconds, const std::string& detail) const;

 private:
  std::string what_, noun_;
  int64_t total_;
  Unit unit_;
  int64_t first_;
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace uer::runtime

#endif  // UER_CORE_RUNTIME_PROGRESS_H_
