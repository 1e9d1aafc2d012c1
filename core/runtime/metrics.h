// What a run records besides its report lines: scalars by step, as TensorBoard event files
// (--tensorboard_dir: TensorFlow's tfevents format, written natively) and as JSON lines
// (--metrics_path: one object a write, {"step": 100, "wall_time": ..., "train/loss": 6.1, ...}).
// Rank 0 writes them; the trainer feeds it (trainer.h).
//
//   MetricsOptions o;
//   o.tensorboard_dir = "runs/bert";
//   UER_ASSIGN_OR_RETURN(std::unique_ptr<MetricsWriter> m, MetricsWriter::Open(o));
//   m->Write(100, {{"train/loss", 6.1}, {"train/learning_rate", 1e-4}});
//
// Event files are named events.out.tfevents.TIME.HOST.PID.N as TensorFlow names them; a resumed run
// starts a new one (TensorBoard drops the stopped run's points past the resumed step itself). The
// JSON lines file of a resumed run keeps the lines up to the resumed step and goes on from there.
#ifndef UER_CORE_RUNTIME_METRICS_H_
#define UER_CORE_RUNTIME_METRICS_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace uer::runtime {

struct Scalar {
  std::string tag;  // "train/loss", "dev/acc", ...
  double value = 0;
};

struct MetricsOptions {
  std::string tensorboard_dir;  // "": no event file
  std::string metrics_path;     // "": no JSON lines
  // -1: a new run (the JSON lines file starts empty); >= 0: a run resumed after this step.
  int64_t resume_step = -1;
  bool enabled() const { return !tensorboard_dir.empty() || !metrics_path.empty(); }
};

class MetricsWriter {
 public:
  // Creates the directory and the files; errors name the flag and the path.
  static absl::StatusOr<std::unique_ptr<MetricsWriter>> Open(const MetricsOptions& options);
  ~MetricsWriter();
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;

  // One event holding every scalar, and one JSON line; both flushed. A failed write (a full disk) is
  // logged once and ends the recording; training goes on.
  void Write(int64_t step, const std::vector<Scalar>& scalars);
  const std::string& event_path() const { return event_path_; }

 private:
  MetricsWriter() = default;
  void Fail(const std::string& path);
  std::string event_path_, jsonl_path_;
  FILE* events_ = nullptr;
  FILE* jsonl_ = nullptr;
  bool failed_ = false;
};

// One TFRecord: the length (uint64, little-endian), its masked CRC-32C, the data, the data's masked
// CRC-32C.
std::string TfRecord(std::string_view data);

}  // namespace uer::runtime

#endif  // UER_CORE_RUNTIME_METRICS_H_
