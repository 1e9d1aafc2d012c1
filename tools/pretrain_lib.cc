#include "tools/pretrain_lib.h"

#include <chrono>
#include <csignal>
#include <cmath>
#include <filesystem>

#include <ATen/core/Generator.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/cuda.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/dataset.h"
#include "core/log.h"
#include "core/model.h"
#include "core/optimizer.h"
#include "core/python_random.h"
#include "tools/device.h"
#include "tools/distributed.h"
#include "tools/inspect_dataset_lib.h"
#include "tools/tool_common.h"

namespace uer::tools {
namespace {

namespace fs = std::filesystem;

// UER-py's DataLoader: fill a buffer of up to instances_buffer_size instances (wrapping to the start
// at the end of the file), shuffle it with Python's random (seeded with --seed), cut it into
// batches; for mlm and bert, batches without a masked token are skipped. Deterministic, so that a
// resumed run replays the positions without building the batches.
class DataLoader {
 public:
  // With world_size > 1 every rank runs the same loader over global batches of batch_size *
  // world_size instances and reads only its own slice of each: the ranks together see exactly
  // the batches one process with the global batch size sees.
  DataLoader(const core::Dataset& ds, int64_t batch_size, int64_t buffer_size, int seed, int rank = 0,
             int world_size = 1)
      : ds_(ds), batch_size_(batch_size * world_size), buffer_size_(buffer_size), rng_(seed),
        rank_(rank), world_size_(world_size) {}

  // Indices of this rank's part of the next batch.
  std::vector<uint64_t> NextIndices() {
    while (true) {
      while (start_ >= buffer_.size()) Fill();
      size_t end = std::min(buffer_.size(), start_ + batch_size_);
      std::vector<uint64_t> idx(buffer_.begin() + start_, buffer_.begin() + end);
      start_ += batch_size_;
      ++batches_;
      if (NeedsMask() && !AnyMasked(idx)) continue;
      if (static_cast<int64_t>(idx.size()) < world_size_) continue;  // the same decision on every rank
      if (world_size_ == 1) return idx;
      const size_t n = idx.size(), from = n * rank_ / world_size_, to = n * (rank_ + 1) / world_size_;
      return std::vector<uint64_t>(idx.begin() + from, idx.begin() + to);
    }
  }
  int64_t batches() const { return batches_; }
  void Skip(int64_t n) {
    while (batches_ < n) {
      while (start_ >= buffer_.size()) Fill();
      start_ += batch_size_;
      ++batches_;
    }
  }

 private:
  bool NeedsMask() const {
    return ds_.target() == core::DatasetTarget::kBert || ds_.target() == core::DatasetTarget::kMlm;
  }
  bool AnyMasked(const std::vector<uint64_t>& idx) const {
    for (uint64_t i : idx) {
      if (ds_.Instance(i).data[1] > 0) return true;  // n_masked is the second word for bert and mlm
    }
    return false;
  }
  void Fill() {
    buffer_.clear();
    while (true) {
      if (pos_ == ds_.size()) {  // end of file: back to the start, with what was read
        pos_ = 0;
        break;
      }
      buffer_.push_back(pos_++);
      if (static_cast<int64_t>(buffer_.size()) >= buffer_size_) break;
    }
    rng_.Shuffle(buffer_);
    start_ = 0;
  }

  const core::Dataset& ds_;
  int64_t batch_size_, buffer_size_;
  core::PythonRandom rng_;
  int rank_, world_size_;
  std::vector<uint64_t> buffer_;
  size_t start_ = 0;
  uint64_t pos_ = 0;
  int64_t batches_ = 0;
};

struct Batch {
  torch::Tensor src, seg;
  core::TensorMap tgt;
  int64_t tokens = 0;
};

absl::StatusOr<Batch> MakeBatch(const core::Dataset& ds, const std::vector<uint64_t>& idx, torch::Device device) {
  const int64_t n = static_cast<int64_t>(idx.size()), seq = ds.header().seq_length;
  std::vector<int64_t> src, seg, tgt, tgt2, label;
  src.reserve(n * seq);
  seg.reserve(n * seq);
  for (uint64_t i : idx) {
    UER_ASSIGN_OR_RETURN(DecodedInstance d, DecodeInstance(ds, i));
    src.insert(src.end(), d.src.begin(), d.src.end());
    seg.insert(seg.end(), d.seg.begin(), d.seg.end());
    tgt.insert(tgt.end(), d.tgt.begin(), d.tgt.end());
    tgt2.insert(tgt2.end(), d.tgt_backward.begin(), d.tgt_backward.end());
    label.push_back(d.label);
  }
  auto t2 = [&](std::vector<int64_t>& v) { return torch::tensor(v, torch::kLong).view({n, seq}).to(device); };
  Batch b;
  b.src = t2(src);
  b.seg = t2(seg);
  b.tokens = n * seq;
  switch (ds.target()) {
    case core::DatasetTarget::kBert:
      b.tgt["tgt_mlm"] = t2(tgt);
      b.tgt["tgt_nsp"] = torch::tensor(label, torch::kLong).to(device);
      break;
    case core::DatasetTarget::kMlm:
      b.tgt["tgt_mlm"] = t2(tgt);
      break;
    case core::DatasetTarget::kLm:
      b.tgt["tgt"] = t2(tgt);
      break;
    case core::DatasetTarget::kBilm:
      b.tgt["tgt_forward"] = t2(tgt);
      b.tgt["tgt_backward"] = t2(tgt2);
      break;
    case core::DatasetTarget::kCls:
      b.tgt["tgt"] = torch::tensor(label, torch::kLong).to(device);
      break;
  }
  return b;
}

std::string Checkpoint(const std::string& output, int64_t step) { return absl::StrCat(output, "-", step); }

absl::Status SaveCheckpoint(const core::Model& model, const core::BertAdam& optimizer, const DataLoader& loader,
                            const std::string& path, int64_t step) {
  // The training state first: a checkpoint is only used for --resume when its state exists.
  core::StateDict state = optimizer.State();
  state.emplace_back("uer.step", torch::tensor(step));
  state.emplace_back("uer.loader_batches", torch::tensor(loader.batches()));
  state.emplace_back("uer.cpu_rng_state", at::detail::getDefaultCPUGenerator().get_state());
  UER_RETURN_IF_ERROR(core::SaveStateDict(path + ".state.tmp", state));
  UER_RETURN_IF_ERROR(core::SaveStateDict(path, core::ModelStateDict(model)));
  std::error_code ec;
  fs::rename(path + ".state.tmp", path + ".state", ec);
  if (ec) return absl::DataLossError(absl::StrCat("cannot write ", path, ".state: ", ec.message()));
  return absl::OkStatus();
}

// The newest OUTPUT-STEP with a training state beside it, or 0.
int64_t LatestCheckpoint(const std::string& output) {
  fs::path p(output);
  fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  const std::string prefix = p.filename().string() + "-";
  int64_t best = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string rest = name.substr(prefix.size());
    if (rest.empty() || rest.find_first_not_of("0123456789") != std::string::npos) continue;
    if (!fs::exists(it->path().string() + ".state")) continue;
    best = std::max<int64_t>(best, std::stoll(rest));
  }
  return best;
}

}  // namespace

absl::StatusOr<PretrainResult> RunPretrain(const PretrainOptions& o) {
  FlushSubnormals();
  torch::Device device(torch::kCPU);
  std::unique_ptr<Distributed> dist;
  if (o.world_size > 1) {
    DistributedOptions dopt;
    dopt.world_size = o.world_size;
    dopt.rank = o.rank;
    dopt.backend = o.backend;
    dopt.timeout = std::chrono::seconds(o.dist_timeout_s);
    UER_RETURN_IF_ERROR(ParseMasterIp(o.master_ip, &dopt.master_host, &dopt.master_port));
    if (o.backend == "nccl") {
      if (!torch::cuda::is_available()) {
        return absl::FailedPreconditionError("--backend nccl needs GPUs and a CUDA build (--config=cuda); use "
                                             "--backend gloo to train on CPUs");
      }
      device = torch::Device(torch::kCUDA, o.local_rank);
    }
    UER_ASSIGN_OR_RETURN(dist, Distributed::Connect(dopt));
  } else {
    UER_ASSIGN_OR_RETURN(device, SingleProcessDevice(o.gpu_ranks, "--gpu_ranks with more than one GPU needs --world_size"));
  }
  if (o.output_model_path.empty()) return absl::InvalidArgumentError("--output_model_path is required");
  if (o.total_steps < 1 || o.batch_size < 1 || o.accumulation_steps < 1 || o.report_steps < 1 ||
      o.save_checkpoint_steps < 1 || o.instances_buffer_size < 1) {
    return absl::InvalidArgumentError("--total_steps, --batch_size, --accumulation_steps, --report_steps, "
                                      "--save_checkpoint_steps and --instances_buffer_size must be >= 1");
  }
  UER_ASSIGN_OR_RETURN(core::Vocab vocab, core::Vocab::Load(o.vocab_path));
  UER_ASSIGN_OR_RETURN(auto dataset, core::Dataset::Open(o.dataset_path));
  UER_ASSIGN_OR_RETURN(core::DatasetTarget target, core::ParseDatasetTarget(o.config.target()));
  UER_RETURN_IF_ERROR(dataset->CheckCompatible(vocab, target, dataset->header().seq_length));
  if (static_cast<int64_t>(dataset->header().seq_length) > o.config.max_seq_length()) {
    return absl::FailedPreconditionError(absl::StrCat(o.dataset_path, " has seq_length ", dataset->header().seq_length,
                                                      ", more than the model's max_seq_length ", o.config.max_seq_length()));
  }

  torch::manual_seed(o.seed);
  UER_ASSIGN_OR_RETURN(auto model, core::BuildModel(o.config, {vocab.size(), 0}));
  core::InitWeights(model.get(), 0.02, o.seed);
  if (!o.pretrained_model_path.empty()) {
    core::LoadOptions lo;
    lo.allow_missing_target = true;
    lo.allow_unexpected_target = true;
    UER_ASSIGN_OR_RETURN(std::string gen, core::LoadModelWeights(model.get(), o.pretrained_model_path, lo));
    UER_LOG(INFO) << "loaded " << o.pretrained_model_path << " (" << gen << " keys)";
  }
  model->to(device);
  core::OptimizerOptions oo;
  oo.kind = o.optimizer;
  oo.learning_rate = o.learning_rate;
  oo.warmup = o.warmup;
  oo.total_steps = o.total_steps;
  oo.schedule = o.schedule;
  core::BertAdam optimizer(model->named_parameters(), oo);
  DataLoader loader(*dataset, o.batch_size, o.instances_buffer_size, o.seed, dist ? dist->rank() : 0,
                    dist ? dist->world_size() : 1);
  std::vector<torch::Tensor> param_list;
  for (const auto& p : model->parameters()) param_list.push_back(p);
  const bool writer = !dist || dist->rank() == 0;  // checkpoints and reports

  int64_t step = 1;
  if (o.resume) {
    const int64_t last = LatestCheckpoint(o.output_model_path);
    if (last == 0) {
      UER_LOG(WARNING) << "--resume: no checkpoint " << o.output_model_path << "-STEP with a .state file; starting anew";
    } else {
      const std::string ck = Checkpoint(o.output_model_path, last);
      UER_RETURN_IF_ERROR(core::LoadModelWeights(model.get(), ck, {}).status());
      UER_ASSIGN_OR_RETURN(core::StateDict state, core::LoadStateDict(ck + ".state"));
      UER_RETURN_IF_ERROR(optimizer.LoadState(state));
      for (const auto& [k, v] : state) {
        if (k == "uer.loader_batches") loader.Skip(v.item<int64_t>());
        if (k == "uer.cpu_rng_state") {
          at::Generator gen = at::detail::getDefaultCPUGenerator();
          gen.set_state(v);
        }
      }
      step = last + 1;
      UER_LOG(INFO) << "resumed from " << ck << " at step " << step;
    }
  }

  if (dist) UER_RETURN_IF_ERROR(dist->Broadcast(param_list));  // rank 0's weights everywhere
  int64_t params = 0;
  for (const auto& p : model->parameters()) params += p.numel();
  const bool skipping = model->SkipPadding(o.skip_padding);
  UER_LOG(INFO) << "pre-training " << o.config.embedding() << "/" << o.config.encoder() << "/" << o.config.target()
                << " (" << params << " parameters) on " << dataset->size() << " instances, " << device
                << (skipping ? ", skipping padding" : "");

  PretrainResult result;
  model->train();
  auto start = std::chrono::steady_clock::now();
  int64_t done_tokens = 0, first_step = step;
  double total_loss = 0;
  std::map<std::string, double> sums;
  std::string last_good;
  const int world = dist ? dist->world_size() : 1;
  int64_t bad_loss_step = 0;
  for (; step <= o.total_steps; ++step) {
    if (!dist && o.stop_signal && o.stop_signal->load()) {
      const std::string ck = Checkpoint(o.output_model_path, step - 1);
      UER_RETURN_IF_ERROR(SaveCheckpoint(*model, optimizer, loader, ck, step - 1));
      UER_LOG(WARNING) << "stopped by signal " << o.stop_signal->load() << " after step " << step - 1 << "; saved " << ck;
      result.stopped_by_signal = o.stop_signal->load();
      result.last_checkpoint = ck;
      return result;
    }
    UER_ASSIGN_OR_RETURN(Batch batch, MakeBatch(*dataset, loader.NextIndices(), device));
    core::TargetOutput out = model->Forward(batch.src, batch.seg, batch.tgt);
    const double loss = out.loss.item<double>();
    if (dist && !std::isfinite(loss) && bad_loss_step == 0) bad_loss_step = step;  // decided with the others below
    if (!dist && !std::isfinite(loss)) {
      return absl::InternalError(absl::StrCat("the loss is ", loss, " at step ", step, "; stopped without saving (",
                                              last_good.empty() ? "no checkpoint was written yet" : "the last good checkpoint is " + last_good,
                                              "). Lower --learning_rate or check the data"));
    }
    result.losses.push_back(loss);
    total_loss += loss;
    for (const auto& [name, t] : out.values) sums[name] += t.item<double>();
    done_tokens += batch.tokens;
    (out.loss / static_cast<double>(o.accumulation_steps)).backward();
    if (step % o.accumulation_steps == 0) {
      if (dist) {
        // Gradients and two flags in one collective, so that every rank decides the same: stop on
        // a signal (any rank's) or on a non-finite loss (any rank's).
        const bool stop = o.stop_signal && o.stop_signal->load();
        std::vector<double> flags = {stop ? 1.0 : 0.0, bad_loss_step ? 1.0 : 0.0};
        UER_RETURN_IF_ERROR(dist->AllReduceGradients(param_list, &flags));
        if (flags[1] > 0) {
          return absl::InternalError(absl::StrCat(
              "rank ", dist->rank(), ": a non-finite loss on ", bad_loss_step ? "this rank at step " + std::to_string(bad_loss_step) : "another rank",
              " (by step ", step, "); stopped without saving (",
              last_good.empty() ? "no checkpoint was written yet" : "the last good checkpoint is " + last_good,
              "). Lower --learning_rate or check the data"));
        }
        optimizer.Step();
        model->zero_grad();
        if (flags[0] > 0) {
          const std::string ck = Checkpoint(o.output_model_path, step);
          if (writer) UER_RETURN_IF_ERROR(SaveCheckpoint(*model, optimizer, loader, ck, step));
          UER_RETURN_IF_ERROR(dist->Barrier());
          result.stopped_by_signal = o.stop_signal && o.stop_signal->load() ? o.stop_signal->load() : SIGTERM;
          UER_LOG(WARNING) << "rank " << dist->rank() << " stopped by a signal after step " << step
                           << (writer ? "; saved " + ck : "");
          result.last_checkpoint = ck;
          return result;
        }
      } else {
        optimizer.Step();
        model->zero_grad();
      }
    }
    if (writer && step % o.report_steps == 0) {
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::string line = absl::StrFormat("| %8d/%8d steps| %8.2f tokens/s| loss %7.2f", step, o.total_steps,
                                         done_tokens * world / elapsed, total_loss / o.report_steps);
      auto acc = [&](const char* correct, const char* denominator) {
        return sums.count(correct) && sums[denominator] > 0 ? sums[correct] / sums[denominator] : 0.0;
      };
      if (o.config.target() == "bert") {
        line += absl::StrFormat("| loss_mlm: %3.3f| loss_nsp: %3.3f| acc_mlm: %3.3f| acc_nsp: %3.3f",
                                sums["loss_mlm"] / o.report_steps, sums["loss_nsp"] / o.report_steps,
                                acc("correct_mlm", "denominator"),
                                sums["correct_nsp"] / static_cast<double>(o.report_steps * o.batch_size));
      } else if (o.config.target() == "bilm") {
        line += absl::StrFormat("| acc_forward: %3.3f| acc_backward: %3.3f", acc("correct_forward", "denominator"),
                                acc("correct_backward", "denominator"));
      } else if (o.config.target() == "cls") {
        line += absl::StrFormat("| acc: %3.3f", sums["correct"] / static_cast<double>(o.report_steps * o.batch_size));
      } else {
        line += absl::StrFormat("| acc: %3.3f", acc("correct", "denominator"));
      }
      const double per_step = elapsed / static_cast<double>(step - first_step + 1);
      line += absl::StrFormat("| elapsed %s| ETA %s", FormatDuration(elapsed), FormatDuration(per_step * (o.total_steps - step)));
      UER_LOG(INFO) << line;
      total_loss = 0;
      sums.clear();
      done_tokens = 0;
      start = std::chrono::steady_clock::now();
      first_step = step + 1;
    }
    if (step % o.save_checkpoint_steps == 0) {
      const std::string ck = Checkpoint(o.output_model_path, step);
      if (writer) UER_RETURN_IF_ERROR(SaveCheckpoint(*model, optimizer, loader, ck, step));
      last_good = ck;
      result.last_checkpoint = ck;
    }
  }
  result.steps_done = o.total_steps;
  if (dist) UER_RETURN_IF_ERROR(dist->Barrier());
  if (!writer) return result;
  UER_RETURN_IF_ERROR(core::SaveStateDict(o.output_model_path, core::ModelStateDict(*model)));
  UER_LOG(INFO) << "saved " << o.output_model_path;
  return result;
}

}  // namespace uer::tools
