#include "core/runtime/pretrain.h"

#include <chrono>
#include <csignal>
#include <cmath>
#include <filesystem>

#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/runtime/data_loader.h"
#include "core/runtime/dataset.h"
#include "core/runtime/trainer.h"
#include "core/log.h"
#include "core/runtime/model/model.h"
#include "core/runtime/device.h"
#include "core/runtime/distributed.h"
#include "core/runtime/launch.h"

namespace uer::runtime {
namespace {


// Pre-training as a TrainingJob: batches from the dataset's loader, the model's forward pass, and
// the report line with the target's own part (its data side's ReportLine).
class PretrainJob : public TrainingJob {
 public:
  // `flops_per_token` and `peak_flops` (one process's) make the report's MFU; peak 0: none.
  PretrainJob(Model* model, const Dataset& dataset, DataLoader* loader, torch::Device device, bool skipping,
              double flops_per_token, double peak_flops)
      : model_(model), dataset_(dataset), loader_(loader), device_(device), skipping_(skipping),
        flops_per_token_(flops_per_token), peak_flops_(peak_flops) {}
  torch::nn::Module& model() override { return *model_; }
  absl::StatusOr<StepOutput> Forward(int64_t) override {
    UER_ASSIGN_OR_RETURN(Batch batch, loader_->Next(device_));
    StepOutput s;
    s.out = model_->Forward(batch.src, batch.seg, batch.tgt);
    s.tokens = batch.tokens;
    if (skipping_ && peak_flops_ > 0) s.computed_tokens = (batch.src > 0).sum().item<int64_t>();
    s.instances = batch.instances;
    return s;
  }
  int64_t position() const override { return loader_->batches(); }
  void Seek(int64_t position) override { loader_->Skip(position); }
  double Mfu(const ReportContext& c) const {
    return flops_per_token_ * c.computed_tokens_per_second / (peak_flops_ * c.world_size);
  }
  std::string ReportLine(const ReportContext& c) const override {
    return absl::StrCat(absl::StrFormat("| %8d/%8d steps| %8.2f tokens/s| loss %7.2f", c.step, c.total_steps,
                                        c.tokens_per_second, c.sums.Mean("loss")),
                        dataset_.data().ReportLine(c.sums),
                        peak_flops_ > 0 ? absl::StrFormat("| MFU %.1f%%", 100.0 * Mfu(c)) : "",
                        absl::StrFormat("| elapsed %s| ETA %s", FormatDuration(c.elapsed_seconds),
                                        FormatDuration(c.eta_seconds)));
  }

 private:
  std::vector<Scalar> ReportScalars(const ReportContext& c) const override {
    std::vector<Scalar> out = {{"train/loss", c.sums.Mean("loss")}};
    for (const auto& [name, value] : dataset_.data().ReportScalars(c.sums)) out.push_back({"train/" + name, value});
    out.push_back({"train/tokens_per_second", c.tokens_per_second});
    if (peak_flops_ > 0) out.push_back({"train/mfu", Mfu(c)});
    return out;
  }

  Model* model_;
  const Dataset& dataset_;
  DataLoader* loader_;
  torch::Device device_;
  bool skipping_;
  double flops_per_token_, peak_flops_;
};

}  // namespace

absl::StatusOr<PretrainResult> RunPretrain(const PretrainOptions& o) {
  TrainerOptions t = o.run.trainer;
  t.optimizer.total_steps = t.total_steps;
  UER_RETURN_IF_ERROR(ValidateOptimizerOptions(t.optimizer));  // the hyper-parameters before any data is read
  FlushSubnormals();
  LaunchOptions lo = o.run.launch;
  if (lo.stop_signal == nullptr) lo.stop_signal = o.run.trainer.stop_signal;
  UER_ASSIGN_OR_RETURN(Placement place,
                       Place(lo, o.run.place, "--gpu_ranks with more than one GPU needs --world_size"));
  const torch::Device device = place.device;
  UER_ASSIGN_OR_RETURN(const Precision precision, ParsePrecision(o.run.precision, device));
  std::unique_ptr<Distributed> dist = std::move(place.dist);
  if (t.output_model_path.empty()) return absl::InvalidArgumentError("--output_model_path is required");
  if (t.total_steps < 1 || o.run.batch_size < 1 || t.accumulation_steps < 1 || t.report_steps < 1 ||
      t.save_checkpoint_steps < 1 || o.instances_buffer_size < 1) {
    return absl::InvalidArgumentError("--total_steps, --batch_size, --accumulation_steps, --report_steps, "
                                      "--save_checkpoint_steps and --instances_buffer_size must be >= 1");
  }
  UER_ASSIGN_OR_RETURN(core::Vocab vocab, core::Vocab::Load(o.vocab_path));
  UER_ASSIGN_OR_RETURN(auto dataset, Dataset::Open(o.dataset_path));
  UER_RETURN_IF_ERROR(dataset->CheckCompatible(vocab, o.config.target()));

  torch::manual_seed(o.run.seed);
  UER_ASSIGN_OR_RETURN(SubwordTable subwords, LoadSubwordTable(o.config, vocab, o.sub_vocab_path));
  UER_ASSIGN_OR_RETURN(auto model, BuildModel(o.config, {vocab.size(), 0}, subwords));
  const int64_t max_positions = model->embedding->max_positions();
  if (max_positions > 0 && static_cast<int64_t>(dataset->header().seq_length) > max_positions) {
    return absl::FailedPreconditionError(absl::StrCat(o.dataset_path, " has seq_length ", dataset->header().seq_length,
                                                      ", more than the model's max_seq_length ", max_positions));
  }
  InitWeights(model.get(), 0.02, o.run.seed);
  if (!o.pretrained_model_path.empty()) {
    LoadOptions lo;
    lo.allow_missing_target = true;
    lo.allow_unexpected_target = true;
    UER_ASSIGN_OR_RETURN(std::string gen, LoadModelWeights(model.get(), o.pretrained_model_path, lo));
    UER_LOG(INFO) << "loaded " << o.pretrained_model_path << " (" << gen << " keys)";
  }
  model->to(device);
  DataLoaderOptions lopt;
  lopt.batch_size = o.run.batch_size;
  lopt.buffer_size = o.instances_buffer_size;
  lopt.seed = o.run.seed;
  lopt.rank = dist ? dist->rank() : 0;
  lopt.world_size = dist ? dist->world_size() : 1;
  DataLoader loader(*dataset, lopt);
  int64_t params = 0;
  for (const auto& p : model->parameters()) params += p.numel();
  const bool skipping = model->SkipPadding(o.skip_padding);
  UER_LOG(INFO) << "pre-training " << o.config.embedding() << "/" << o.config.encoder() << "/" << o.config.target()
                << " (" << params << " parameters) on " << dataset->size() << " instances, " << device
                << (skipping ? ", skipping padding" : "")
                << (precision == Precision::kFp32 ? "" : absl::StrCat(", ", PrecisionName(precision), " autocast"))
                << (precision == Precision::kFp16 ? ", dynamic loss scaling" : "");

  t.dist = dist.get();
  t.precision = precision;
  t.device = device;
  t.run_settings = {{"dataset_path", o.dataset_path},
                    {"vocab_path", o.vocab_path},
                    {"model", absl::StrCat(o.config.embedding(), "/", o.config.encoder(), "/", o.config.target(), " ",
                                           o.config.layers_num(), "x", o.config.hidden_size())},
                    {"batch_size", absl::StrCat(o.run.batch_size)},
                    {"world_size", absl::StrCat(dist ? dist->world_size() : 1)},
                    {"accumulation_steps", absl::StrCat(t.accumulation_steps)},
                    {"total_steps", absl::StrCat(t.total_steps)},
                    {"learning_rate", absl::StrCat(t.optimizer.learning_rate)},
                    {"seed", absl::StrCat(o.run.seed)}};
  t.progress_name = "pretrain";
  double peak = o.peak_flops;
  const double flops_per_token = ModelFlopsPerToken(model->named_parameters().pairs(), dataset->header().seq_length);
  if (peak == 0) {
    peak = MeasureGemmPeak(precision == Precision::kBf16   ? torch::kBFloat16
                          : precision == Precision::kFp16 ? torch::kHalf
                                                          : torch::kFloat,
                          device);
    UER_LOG(INFO) << "MFU: " << absl::StrFormat("%.3g", flops_per_token) << " model FLOPs per token (forward and backward) "
                  << "against a measured " << PrecisionName(precision) << " GEMM peak of " << absl::StrFormat("%.1f", peak / 1e9) << " GFLOP/s ("
                  << (device.is_cuda() ? std::string("GPU") : absl::StrCat(at::get_num_threads(), " threads")) << ")";
  }
  PretrainJob job(model.get(), *dataset, &loader, device, skipping, flops_per_token, peak);
  UER_ASSIGN_OR_RETURN(TrainResult r, Train(job, t));
  PretrainResult result;
  result.steps_done = r.steps_done;
  result.losses = std::move(r.losses);
  result.last_checkpoint = r.last_checkpoint;
  result.stopped_by_signal = r.stopped_by_signal;
  return result;
}

}  // namespace uer::runtime
