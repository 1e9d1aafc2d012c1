#include "core/runtime/finetune.h"

#include <chrono>
#include <filesystem>
#include <cmath>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/log.h"
#include "core/plugin_api.h"
#include "core/python_random.h"
#include "core/runtime/checkpoint.h"
#include "core/runtime/dataset.h"
#include "core/runtime/device.h"
#include "core/runtime/model/loaded_model.h"
#include "core/runtime/progress.h"
#include "core/runtime/trainer.h"

namespace uer::runtime {
namespace {

using core::TaskDataset;

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}


// Whether batches may be cut after their longest row: nothing the task reads sits in the padding, and
// the encoder's outputs at the tokens do not see trailing padding (capabilities the plugins declare).
// Not with a subencoder: its input's width is the longest word of the whole batch, padding included,
// as UER-py's word2sub counts it. When they may, the encoder is also told to skip the padding inside
// the batch (Encoder::set_skip_padding: a recurrent encoder runs its rows in groups cut to their
// lengths, a transformer works on the tokens alone), as pre-training does.
bool TrimPadding(FinetuneModel* m) {
  const bool trim = !m->task->ReadsPadding() && m->encoder->TrailingPaddingInvisible() && !m->subencoder;
  m->encoder->set_skip_padding(trim);
  return trim;
}

// src and seg of rows [begin, begin + len), cut after the longest row when `trim`.
std::pair<torch::Tensor, torch::Tensor> BatchInputs(const TaskDataset& d, int64_t begin, int64_t len, bool trim) {
  torch::Tensor src = d.src.narrow(0, begin, len), seg = d.seg.narrow(0, begin, len);
  if (trim) {
    const int64_t longest = std::max<int64_t>(1, seg.gt(0).sum(1).max().item<int64_t>());
    src = src.narrow(1, 0, longest);
    seg = seg.narrow(1, 0, longest);
  }
  return {src, seg};
}

core::Evaluation Evaluate(FinetuneModel* model, torch::Device device, const core::TaskData& task, const TaskDataset& data,
                          int64_t bs, bool trim, bool full, Precision precision) {
  std::unique_ptr<core::Evaluator> e = task.NewEvaluator(data, full);
  Predictor(model, device, bs, precision).Run(data, [&](int64_t begin, const core::TargetOutput& out) { e->Add(begin, out); });
  return e->Finish();
}

// Fine-tuning as a TrainingJob: UER-py's loop (batches in order over the once-shuffled training set,
// a dev evaluation after each epoch, the best model saved), each global batch split over the ranks.
// An evaluation's values as "dev/acc", ... (its metric as PREFIX + "metric" where it names none).
std::vector<Scalar> EvaluationScalars(const std::string& prefix, const core::Evaluation& e) {
  std::vector<Scalar> out;
  for (const auto& [name, value] : e.scalars) out.push_back({prefix + name, value});
  if (out.empty()) out.push_back({prefix + "metric", e.metric});
  return out;
}

class FinetuneJob : public TrainingJob {
 public:
  FinetuneJob(const FinetuneOptions& o, FinetuneModel* model, torch::Device device, const core::TaskData& task,
              const TaskDataset& train, const TaskDataset& dev, bool trim, int rank, int world, FinetuneResult* result)
      : o_(o), model_(model), device_(device), task_(task), train_(train), dev_(dev), trim_(trim), rank_(rank),
        world_(world), result_(result) {
    global_batch_ = o.run.batch_size * world;
    batches_ = (train.size() + global_batch_ - 1) / global_batch_;
  }
  int64_t batches_per_epoch() const { return batches_; }
  Precision precision = Precision::kFp32;  // of the dev evaluations
  torch::nn::Module& model() override { return *model_; }
  absl::StatusOr<StepOutput> Forward(int64_t step) override {
    const int64_t i = (step - 1) % batches_, n = train_.size();
    const int64_t begin = i * global_batch_, len = std::min(global_batch_, n - begin);
    // This rank's slice of the global batch; its loss counts by its share of the rows, so that the
    // ranks' averaged gradients are the global batch's: exactly for a loss averaged over rows (the
    // classifier), closely for one averaged over tokens (ner: each rank divides by its own count).
    int64_t from = begin + len * rank_ / world_, to = begin + len * (rank_ + 1) / world_;
    // A last batch of fewer rows than ranks leaves a rank without rows: it runs one row with weight 0,
    // so that the collectives stay aligned and it adds nothing.
    const bool empty = to <= from;
    if (empty) from = begin, to = begin + 1;
    auto [src, seg] = BatchInputs(train_, from, to - from, trim_);
    core::TensorMap inputs;
    inputs["label"] = train_.inputs.at("label").narrow(0, from, to - from).to(device_);
    StepOutput s;
    s.out = model_->Forward(src.to(device_), seg.to(device_), inputs);
    s.tokens = empty ? 0 : src.numel();
    s.instances = empty ? 0 : to - from;
    s.weight = empty ? 0.0 : static_cast<double>((to - from) * world_) / static_cast<double>(len);
    result_->train_samples += s.instances;
    return s;
  }
  // Groups count from each epoch's start and end with it.
  std::pair<int64_t, int64_t> AccumulationGroup(int64_t step, int64_t acc) const override {
    const int64_t epoch_start = (step - 1) / batches_ * batches_;  // steps before this epoch
    const int64_t first = epoch_start + (step - epoch_start - 1) / acc * acc + 1;
    return {first, std::min(first + acc - 1, epoch_start + batches_)};
  }
  bool ReportAfter(int64_t step, int64_t report_steps) const override {
    return ((step - 1) % batches_ + 1) % report_steps == 0;
  }
  int64_t position() const override { return 0; }  // the batch follows from the step
  void Seek(int64_t) override {}
  std::string ReportLine(const ReportContext& c) const override {
    const int64_t epoch = (c.step - 1) / batches_ + 1, in_epoch = (c.step - 1) % batches_ + 1;
    return absl::StrFormat("Epoch id: %d, Training steps: %d/%d, Avg loss: %.3f, %.1f samples/s, elapsed %s, ETA %s",
                           epoch, in_epoch, batches_, c.sums.Mean("loss"),
                           c.elapsed_seconds > 0 ? static_cast<double>(result_->train_samples * world_) / c.elapsed_seconds : 0.0,
                           FormatDuration(c.elapsed_seconds), FormatDuration(c.eta_seconds));
  }
  std::vector<Scalar> ReportScalars(const ReportContext& c) const override {
    return {{"train/loss", c.sums.Mean("loss")},
            {"train/samples_per_second",
             c.elapsed_seconds > 0 ? static_cast<double>(result_->train_samples * world_) / c.elapsed_seconds : 0.0}};
  }
  absl::Status AfterStep(int64_t step, bool writer, MetricsWriter* metrics) override {
    if (step % batches_ != 0) return absl::OkStatus();
    const int64_t epoch = step / batches_;
    auto start = std::chrono::steady_clock::now();
    core::Evaluation e = Evaluate(model_, device_, task_, dev_, o_.run.batch_size, trim_, false, precision);
    model_->train();
    result_->eval_seconds += Seconds(start);
    result_->eval_samples += dev_.size();
    result_->dev_metric.push_back(e.metric);
    UER_LOG(INFO) << "dev: " << e.report;
    if (metrics) metrics->Write(step, EvaluationScalars("dev/", e));
    if (!saved_ || e.metric > best_) {
      best_ = e.metric;
      saved_ = true;
      if (writer) UER_RETURN_IF_ERROR(SaveStateDict(o_.run.trainer.output_model_path, ModelStateDict(*model_)));
      UER_LOG(INFO) << "epoch " << epoch << ": dev " << e.metric << ", the best so far: saved " << o_.run.trainer.output_model_path;
    } else {
      UER_LOG(INFO) << "epoch " << epoch << ": dev " << e.metric << " (best " << best_ << ")";
    }
    return absl::OkStatus();
  }
  core::StateDict JobState() const override {
    core::StateDict s;
    s.emplace_back("best_dev", torch::tensor(best_, torch::kDouble));
    s.emplace_back("batches_per_epoch", torch::tensor(batches_));
    s.emplace_back("global_batch", torch::tensor(global_batch_));
    s.emplace_back("saved", torch::tensor(saved_ ? 1 : 0));
    if (!result_->dev_metric.empty()) s.emplace_back("dev_metric", torch::tensor(result_->dev_metric, torch::kDouble));
    return s;
  }
  absl::Status LoadJobState(const core::StateDict& state) override {
    for (const auto& [k, v] : state) {
      // A resumed run must cut the data as the stopped one did.
      if ((k == "batches_per_epoch" && v.item<int64_t>() != batches_) ||
          (k == "global_batch" && v.item<int64_t>() != global_batch_)) {
        return absl::FailedPreconditionError(absl::StrCat(
            "--resume: the checkpoint was written with ", k, " ", v.item<int64_t>(), ", this run has ",
            k == "global_batch" ? global_batch_ : batches_,
            ": resume with the stopped run's training file, --batch_size and --world_size"));
      }
      if (k == "best_dev") best_ = v.item<double>();
      if (k == "saved") saved_ = v.item<int64_t>() != 0;
      if (k == "dev_metric") {
        torch::Tensor d = v.to(torch::kDouble).contiguous();
        result_->dev_metric.assign(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
      }
    }
    return absl::OkStatus();
  }
  double best() const { return best_; }

 private:
  const FinetuneOptions& o_;
  FinetuneModel* model_;
  torch::Device device_;
  const core::TaskData& task_;
  const TaskDataset& train_;
  const TaskDataset& dev_;
  bool trim_;
  int rank_, world_;
  FinetuneResult* result_;
  int64_t global_batch_ = 0, batches_ = 0;
  double best_ = 0;
  bool saved_ = false;
};

// Removes OUTPUT-STEP checkpoints and their .state files.
void RemoveCheckpoints(const std::string& output) {
  std::error_code ec;
  for (int64_t step : CheckpointSteps(output)) {
    std::filesystem::remove(CheckpointPath(output, step), ec);
    std::filesystem::remove(CheckpointPath(output, step) + ".state", ec);
  }
}

absl::Status CheckOptions(const FinetuneOptions& o) {
  if (o.run.trainer.output_model_path.empty()) return absl::InvalidArgumentError("--output_model_path is required");
  for (const auto& [name, value] : {std::pair<const char*, const std::string&>{"vocab_path", o.vocab_path},
                                    {"train_path", o.train_path}, {"dev_path", o.dev_path}}) {
    if (value.empty()) return absl::InvalidArgumentError(absl::StrCat("--", name, " is required"));
  }
  const TrainerOptions& t = o.run.trainer;
  if (o.run.batch_size < 1 || o.seq_length < 1 || o.epochs_num < 1 || t.report_steps < 1 || t.accumulation_steps < 1) {
    return absl::InvalidArgumentError(
        "--batch_size, --seq_length, --epochs_num, --report_steps and --accumulation_steps must be >= 1");
  }
  OptimizerOptions optimizer = t.optimizer;  // the hyper-parameters before any data is read
  optimizer.total_steps = 1;                 // follows from the epochs
  return ValidateOptimizerOptions(optimizer);
}

absl::StatusOr<FinetuneResult> Finetune(const FinetuneOptions& o) {
  UER_RETURN_IF_ERROR(CheckOptions(o));
  FlushSubnormals();
  UER_ASSIGN_OR_RETURN(Placement place, Place(o.run.launch, o.run.place, "fine-tuning on several GPUs needs --world_size"));
  const int rank = place.dist ? place.dist->rank() : 0, world = place.dist ? place.dist->world_size() : 1;
  const bool writer = rank == 0;
  UER_ASSIGN_OR_RETURN(const Precision precision, ParsePrecision(o.run.precision, place.device));
  UER_ASSIGN_OR_RETURN(TextSide text, LoadTextSide(o.config, o.vocab_path, o.sub_vocab_path));
  UER_ASSIGN_OR_RETURN(std::unique_ptr<core::TaskData> task, CreateTaskData(o.task, text, o.vocab_path, o.task_options));
  core::TaskReadOptions read;
  read.seq_length = o.seq_length;
  read.skip_bad_lines = o.skip_bad_lines;
  read.replace_invalid_utf8 = o.replace_invalid_utf8;
  core::v1::ModelConfig config = o.config;
  UER_RETURN_IF_ERROR(task->PrepareTraining(o.train_path, read, &config));
  UER_ASSIGN_OR_RETURN(TaskDataset train, task->Read(o.train_path, read));
  UER_ASSIGN_OR_RETURN(TaskDataset dev, task->Read(o.dev_path, read));
  std::optional<TaskDataset> test;
  if (!o.test_path.empty()) {
    UER_ASSIGN_OR_RETURN(test, task->Read(o.test_path, read));
  }
  FinetuneResult result;
  result.metric_name = task->metric_name();
  result.labels_num = config.labels_num();

  torch::manual_seed(o.run.seed);
  UER_ASSIGN_OR_RETURN(std::shared_ptr<FinetuneModel> model,
                       BuildFinetuneModel(config, o.task, {text.vocab->size(), 0}, text.subwords));
  UER_RETURN_IF_ERROR(CheckSeqLength(*model->embedding, o.seq_length));
  if (!o.pretrained_model_path.empty()) {
    LoadOptions lo;
    lo.allow_unexpected_target = true;
    for (const auto& p : model->task->named_parameters()) lo.missing_ok_prefixes.push_back(p.key());
    UER_ASSIGN_OR_RETURN(std::string gen, LoadModelWeights(model.get(), o.pretrained_model_path, lo));
    UER_LOG(INFO) << "loaded " << o.pretrained_model_path << " (" << gen << " keys); the " << o.task << " head starts anew";
  } else {
    InitWeights(model->embedding.get(), 0.02, o.run.seed);
    InitWeights(model->encoder.get(), 0.02, o.run.seed);
    UER_LOG(INFO) << "no --pretrained_model_path: training from scratch";
  }
  model->to(place.device);
  const bool trim = TrimPadding(model.get());

  // UER-py shuffles the training set once, with Python's random seeded by --seed (run_classifier).
  if (task->ShuffleTraining()) {
    std::vector<int64_t> order(train.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
    core::PythonRandom rng(o.run.seed);
    rng.Shuffle(order);
    torch::Tensor index = torch::tensor(order, torch::kLong);
    train.src = train.src.index_select(0, index);
    train.seg = train.seg.index_select(0, index);
    for (auto& [k, v] : train.inputs) v = v.index_select(0, index);
  }
  result.train_instances = train.size();
  if (writer) UER_RETURN_IF_ERROR(task->SaveBeside(o.run.trainer.output_model_path));

  FinetuneJob job(o, model.get(), place.device, *task, train, dev, trim, rank, world, &result);
  TrainerOptions t = o.run.trainer;
  t.total_steps = job.batches_per_epoch() * o.epochs_num;
  t.save_checkpoint_steps = 0;
  t.save_final_model = false;  // the best epoch is saved by the job
  // UER-py's run_classifier: int(instances * epochs / batch_size) + 1 optimizer steps.
  t.optimizer.total_steps =
      static_cast<int64_t>(static_cast<double>(train.size()) * o.epochs_num / (o.run.batch_size * world * o.run.trainer.accumulation_steps)) + 1;
  t.dist = place.dist.get();
  t.precision = precision;
  t.device = place.device;
  job.precision = precision;
  t.run_settings = {{"task", o.task},
                    {"train_path", o.train_path},
                    {"pretrained_model_path", o.pretrained_model_path},
                    {"batch_size", absl::StrCat(o.run.batch_size)},
                    {"world_size", absl::StrCat(world)},
                    {"seq_length", absl::StrCat(o.seq_length)},
                    {"epochs_num", absl::StrCat(o.epochs_num)},
                    {"learning_rate", absl::StrCat(o.run.trainer.optimizer.learning_rate)},
                    {"seed", absl::StrCat(o.run.seed)}};
  t.progress_name = o.task;
  UER_LOG(INFO) << "batch size " << o.run.batch_size << (world > 1 ? absl::StrCat(" x ", world, " ranks") : "") << ", "
                << train.size() << " training instances, " << job.batches_per_epoch() << " batches an epoch, "
                << o.epochs_num << " epochs" << (trim ? ", batches cut after their longest row" : "")
                << (precision == Precision::kFp32 ? "" : absl::StrCat(", ", PrecisionName(precision), " autocast"))
                << (precision == Precision::kFp16 ? ", dynamic loss scaling" : "");
  auto start = std::chrono::steady_clock::now();
  UER_ASSIGN_OR_RETURN(TrainResult r, Train(job, t));
  result.train_seconds = Seconds(start) - result.eval_seconds;
  result.best_dev = job.best();
  if (r.stopped_by_signal) {
    result.stopped_by_signal = r.stopped_by_signal;
    return result;
  }
  if (writer) RemoveCheckpoints(o.run.trainer.output_model_path);  // a finished run needs its signal saves no more
  if (test && writer) {
    UER_RETURN_IF_ERROR(LoadModelWeights(model.get(), o.run.trainer.output_model_path, {}).status());
    core::Evaluation e = Evaluate(model.get(), place.device, *task, *test, o.run.batch_size, trim, true, precision);
    result.test_metric = e.metric;
    if (r.metrics) r.metrics->Write(r.steps_done, EvaluationScalars("test/", e));
    result.test_report = absl::StrCat("Test set evaluation (", test->size(), " instances, the best model by dev):\n", e.report);
  }
  return result;
}

}  // namespace

Predictor::Predictor(FinetuneModel* model, torch::Device device, int64_t batch_size, Precision precision)
    : model_(model), device_(device), batch_size_(batch_size), trim_(TrimPadding(model)), precision_(precision) {}

void Predictor::Run(const TaskDataset& data, const std::function<void(int64_t, const core::TargetOutput&)>& use) const {
  torch::NoGradGuard no_grad;
  model_->eval();
  const int64_t n = data.size();
  Progress progress("predict", n, Progress::Unit::kItems, "rows");
  for (int64_t begin = 0; begin < n; begin += batch_size_) {
    if (n > batch_size_) progress.Update(begin);  // one batch (a served batch) has no progress to show
    const int64_t len = std::min(batch_size_, n - begin);
    auto [src, seg] = BatchInputs(data, begin, len, trim_);
    core::TargetOutput out;
    {
      AutocastGuard autocast(precision_, device_);
      out = model_->Forward(src.to(device_), seg.to(device_), {});
    }
    if (precision_ != Precision::kFp32) {  // what writers and metrics read is fp32
      if (out.loss.defined() && out.loss.is_floating_point()) out.loss = out.loss.to(torch::kFloat);
      for (auto& [name, t] : out.values) {
        if (t.defined() && t.is_floating_point()) t = t.to(torch::kFloat);
      }
    }
    use(begin, out);
  }
}

absl::StatusOr<FinetuneResult> RunFinetune(const FinetuneOptions& options) {
  absl::StatusOr<FinetuneResult> result = absl::InternalError("not run");
  UER_RETURN_IF_ERROR(CatchTorchErrors([&]() -> absl::Status {
    result = Finetune(options);
    return absl::OkStatus();
  }));
  return result;
}

absl::Status RunInfer(const InferOptions& o) {
  if (o.load_model_path.empty() || o.test_path.empty() || o.prediction_path.empty() || o.vocab_path.empty()) {
    return absl::InvalidArgumentError("--load_model_path, --vocab_path, --test_path and --prediction_path are required");
  }
  if (o.batch_size < 1 || o.seq_length < 1) return absl::InvalidArgumentError("--batch_size and --seq_length must be >= 1");
  return CatchTorchErrors([&]() -> absl::Status {
    ModelSource source{o.config, o.vocab_path, o.sub_vocab_path, o.load_model_path, o.precision};
    UER_ASSIGN_OR_RETURN(source.device, SingleProcessDevice(o.gpu_ranks, "inference runs on one GPU: give one rank in --gpu_ranks"));
    UER_ASSIGN_OR_RETURN(LoadedTaskModel m, LoadTaskModel(source, o.task, o.task_options));
    UER_RETURN_IF_ERROR(CheckSeqLength(*m.model->embedding, o.seq_length));
    core::TaskReadOptions read;
    read.seq_length = o.seq_length;
    read.with_labels = false;
    read.replace_invalid_utf8 = o.replace_invalid_utf8;
    UER_ASSIGN_OR_RETURN(TaskDataset data, m.task->Read(o.test_path, read));
    std::unique_ptr<core::PredictionWriter> writer = m.task->NewPredictionWriter(data);
    // A writer without a header line (one JSON object for the whole file) writes it all in Finish.
    std::string text = writer->Header();
    if (!text.empty()) text += "\n";
    Predictor(m.model.get(), m.device, o.batch_size, m.precision).Run(data, [&](int64_t begin, const core::TargetOutput& out) {
      writer->Add(begin, out, &text);
    });
    writer->Finish(&text);
    UER_RETURN_IF_ERROR(WriteFileAtomically(o.prediction_path, text));
    UER_LOG(INFO) << "wrote " << data.size() << " predictions to " << o.prediction_path;
    return absl::OkStatus();
  });
}

}  // namespace uer::runtime
