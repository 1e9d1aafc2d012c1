// A model behind the server: a fine-tuned task model (any task plugin that serves: TaskData::Serves)
// or a pre-trained encoder giving embeddings, loaded as the tools load it (LoadTaskModel,
// LoadModel), with its own dynamic batcher. Each input is read into its rows on the caller's thread
// (tokenizing, errors naming the field), batched with others, run by the Predictor that `infer`
// runs, and answered from its own rows alone.
//
//   UER_ASSIGN_OR_RETURN(auto specs, ReadModelRepository("models/", defaults));
//   UER_ASSIGN_OR_RETURN(auto model, ServedModel::Load(specs[0]));
//   UER_ASSIGN_OR_RETURN(ServedRow row, model->Read({"a text", ""}, /*truncate=*/true));
//   model->Submit(std::move(row), deadline, [](Ticket<Prediction>& t) { ... t.Wait() ... });
#ifndef UER_CORE_RUNTIME_SERVE_SERVED_MODEL_H_
#define UER_CORE_RUNTIME_SERVE_SERVED_MODEL_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config.h"
#include "core/plugin_api.h"
#include "core/runtime/serve/batcher.h"

namespace uer::runtime::serve {

// The task name of a pre-trained encoder served for its embeddings.
inline constexpr char kEmbeddingTask[] = "embedding";

// What to load and how to batch it (a model.pbtxt, or the tool's flags).
struct ModelSpec {
  std::string name = "default";
  std::string task;  // a task plugin, or kEmbeddingTask
  core::v1::ModelConfig config;
  std::string load_model_path, vocab_path, sub_vocab_path;
  std::map<std::string, std::string> task_options;
  int64_t seq_length = 128;
  bool text_pair = false;
  std::string pooling = "mean";
  std::string precision = "fp32";
  BatcherOptions batching;
  int workers = 1;
};

// A folder's model.pbtxt as a spec: paths made relative to the folder, the config file read, what
// it leaves unset taken from `defaults`. Errors name the file and the field.
absl::StatusOr<ModelSpec> ReadModelFolder(const std::string& folder, const ModelSpec& defaults);
// Every folder of `repository` that holds a model.pbtxt (by name); an error when none does or two
// share a name.
absl::StatusOr<std::vector<ModelSpec>> ReadModelRepository(const std::string& repository, const ModelSpec& defaults);

// What the protocols tell clients about a model.
struct ModelInfo {
  std::string name, task;
  core::ServedKind kind = core::ServedKind::kNone;  // kNone with `embedding`
  bool embedding = false;
  bool text_pair = false;
  std::vector<std::string> labels;
  int64_t hidden_size = 0;
  int64_t seq_length = 0;
  std::string pooling;
  BatcherOptions batching;
};

// One input read for the model: its rows (src, seg [rows, seq_length] and the task's inputs).
struct ServedRow {
  core::TextInput input;
  core::TaskDataset data;
  int64_t tokens = 0;  // the longest row's tokens (what batching counts)
};

// The answer to one input: a task's (ServedAnswer), or an embedding.
struct Prediction {
  core::ServedAnswer answer;
  std::vector<float> embedding;
  int64_t tokens = 0;
};

class ServedModel {
 public:
  static absl::StatusOr<std::unique_ptr<ServedModel>> Load(const ModelSpec& spec);
  virtual ~ServedModel();

  const ModelInfo& info() const { return info_; }
  // Tokenizes one input. `truncate` false: an input longer than seq_length is an error (TEI's
  // truncate), not cut. Errors (InvalidArgument) name the field.
  virtual absl::StatusOr<ServedRow> Read(const core::TextInput& input, bool truncate) const = 0;
  // The vocabulary's token for an id (TEI's /tokenize), and whether it is a special token.
  std::string Token(int64_t id) const;
  bool IsSpecial(int64_t id) const;
  // Queues a read input (the batcher's errors: ResourceExhausted when full, Unavailable draining).
  absl::StatusOr<std::shared_ptr<Ticket<Prediction>>> Submit(ServedRow row, Clock::time_point deadline,
                                                             std::function<void(Ticket<Prediction>&)> on_answer);
  // Runs inputs as one batch now, past the queue (warm-up, tests).
  std::vector<absl::StatusOr<Prediction>> RunNow(const std::vector<const ServedRow*>& rows);
  BatcherStats stats() const { return batcher_->stats(); }
  // Told of every batch run (its inputs and padded tokens), for the metrics; set before serving.
  void set_batch_observer(std::function<void(int64_t inputs, int64_t tokens)> observer) { observer_ = std::move(observer); }
  // Answers everything queued, then refuses.
  void Drain() { batcher_->Drain(); }

 protected:
  ServedModel() = default;
  // One forward pass over rows from several inputs, answered per input.
  virtual std::vector<absl::StatusOr<Prediction>> Run(const std::vector<const ServedRow*>& rows) = 0;
  void StartBatcher(const BatcherOptions& options);
  ModelInfo info_;

 private:
  std::shared_ptr<const core::Vocab> vocab_;
  std::function<void(int64_t, int64_t)> observer_;
  std::unique_ptr<Batcher<ServedRow, Prediction>> batcher_;
};

}  // namespace uer::runtime::serve

#endif  // UER_CORE_RUNTIME_SERVE_SERVED_MODEL_H_
