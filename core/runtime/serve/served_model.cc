#include "core/runtime/serve/served_model.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>
#include <torch/torch.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/runtime/finetune.h"
#include "core/runtime/hf_config.h"
#include "core/runtime/model/loaded_model.h"
#include "core/runtime/trainer.h"
#include "core/runtime/serve/model_config.pb.h"
#include "core/status_macros.h"

namespace uer::runtime::serve {
namespace {

namespace fs = std::filesystem;

class FirstError : public google::protobuf::io::ErrorCollector {
 public:
  explicit FirstError(std::string name) : name_(std::move(name)) {}
  void AddError(int line, int column, const std::string& message) override {
    if (first_.empty()) first_ = absl::StrCat(name_, ":", line + 1, ":", column + 1, ": ", message);
  }
  const std::string& first() const { return first_; }

 private:
  std::string name_, first_;
};

absl::StatusOr<uer::serve::v1::ServedModelConfig> ParseModelPbtxt(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::stringstream text;
  text << in.rdbuf();
  google::protobuf::TextFormat::Parser parser;
  FirstError errors(path);
  parser.RecordErrorsTo(&errors);
  uer::serve::v1::ServedModelConfig c;
  if (!parser.ParseFromString(text.str(), &c)) {
    return absl::InvalidArgumentError(errors.first().empty() ? absl::StrCat(path, ": malformed") : errors.first());
  }
  return c;
}

// A path of the folder's file: as given when absolute, else under the folder; "" stays "".
std::string InFolder(const std::string& folder, const std::string& path) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  return (fs::path(folder) / path).string();
}

// The rows' longest length in tokens (seg > 0).
int64_t LongestRow(const torch::Tensor& seg) { return seg.gt(0).sum(1).max().item<int64_t>(); }

// Rows [begin, begin + n) of every value with a row per input row; the rest (scalars) left out.
core::TargetOutput SliceRows(const core::TargetOutput& out, int64_t rows, int64_t begin, int64_t n) {
  core::TargetOutput slice;
  for (const auto& [name, t] : out.values) {
    if (t.defined() && t.dim() > 0 && t.size(0) == rows) slice.values.emplace_back(name, t.narrow(0, begin, n));
  }
  return slice;
}

core::TaskDataset Concatenate(const std::vector<const ServedRow*>& rows) {
  std::vector<torch::Tensor> src, seg;
  std::map<std::string, std::vector<torch::Tensor>> inputs;
  for (const ServedRow* r : rows) {
    src.push_back(r->data.src);
    seg.push_back(r->data.seg);
    for (const auto& [name, t] : r->data.inputs) inputs[name].push_back(t);
  }
  core::TaskDataset all;
  all.src = torch::cat(src, 0);
  all.seg = torch::cat(seg, 0);
  for (auto& [name, ts] : inputs) all.inputs[name] = torch::cat(ts, 0);
  return all;
}

// Without truncate, an input beyond seq_length tokens is refused (TEI's rule), not cut.
absl::Status CheckLength(int64_t tokens, int64_t seq_length, bool truncate) {
  if (!truncate && tokens > seq_length) {
    return absl::InvalidArgumentError(absl::StrCat("more than ", seq_length,
                                                   " tokens (the model's seq_length): send truncate: true to cut it"));
  }
  return absl::OkStatus();
}

class TaskModel : public ServedModel {
 public:
  explicit TaskModel(LoadedTaskModel m) : m_(std::move(m)) {}
  ~TaskModel() override { Drain(); }

  absl::Status Init(const ModelSpec& spec) {
    if (m_.task->Serves() == core::ServedKind::kNone) {
      return absl::InvalidArgumentError(absl::StrCat("model \"", spec.name, "\": task \"", spec.task,
                                                     "\" does not serve (its data side reads no request text)"));
    }
    UER_RETURN_IF_ERROR(CheckSeqLength(*m_.model->embedding, spec.seq_length));
    info_.kind = m_.task->Serves();
    info_.labels = m_.task->LabelNames();
    info_.text_pair = spec.text_pair || info_.kind == core::ServedKind::kSpan;  // a question and its context
    return absl::OkStatus();
  }

  absl::StatusOr<ServedRow> Read(const core::TextInput& input, bool truncate) const override {
    const int64_t seq = info_.seq_length;
    core::TaskReadOptions o;
    o.seq_length = truncate ? seq : seq + 1;  // one more: what is longer shows
    o.with_labels = false;
    ServedRow row;
    UER_ASSIGN_OR_RETURN(row.data, m_.task->ReadText(input, o));
    if (row.data.size() == 0) return absl::InvalidArgumentError("text_a: the input gave no row");
    UER_RETURN_IF_ERROR(CheckLength(LongestRow(row.data.seg), seq, truncate));
    if (!truncate) {  // back to seq_length columns: what the reader gives at seq_length
      row.data.src = row.data.src.narrow(1, 0, seq).contiguous();
      row.data.seg = row.data.seg.narrow(1, 0, seq).contiguous();
      for (auto& [name, t] : row.data.inputs) {
        if (t.dim() == 2 && t.size(1) == seq + 1) t = t.narrow(1, 0, seq).contiguous();
      }
    }
    row.tokens = LongestRow(row.data.seg);
    row.input = input;
    return row;
  }

 protected:
  std::vector<absl::StatusOr<Prediction>> Run(const std::vector<const ServedRow*>& rows) override {
    core::TaskDataset all = Concatenate(rows);
    core::TargetOutput out;
    Predictor(m_.model.get(), m_.device, all.size(), m_.precision).Run(all, [&](int64_t, const core::TargetOutput& o) {
      out = o;
    });
    std::vector<absl::StatusOr<Prediction>> answers;
    int64_t begin = 0;
    for (const ServedRow* r : rows) {
      const int64_t n = r->data.size();
      absl::StatusOr<core::ServedAnswer> a = m_.task->Answer(r->input, r->data, SliceRows(out, all.size(), begin, n));
      begin += n;
      if (!a.ok()) {
        answers.push_back(a.status());
        continue;
      }
      answers.push_back(Prediction{*std::move(a), {}, r->tokens});
    }
    return answers;
  }

 private:
  LoadedTaskModel m_;
};

class EmbeddingModel : public ServedModel {
 public:
  explicit EmbeddingModel(LoadedModel m) : m_(std::move(m)) {}
  ~EmbeddingModel() override { Drain(); }

  absl::Status Init(const ModelSpec& spec) {
    UER_RETURN_IF_ERROR(CheckPooling(spec.pooling, /*allow_none=*/false, "pooling"));
    UER_RETURN_IF_ERROR(CheckSeqLength(*m_.model->embedding, spec.seq_length));
    info_.embedding = true;
    return absl::OkStatus();
  }

  absl::StatusOr<ServedRow> Read(const core::TextInput& input, bool truncate) const override {
    if (!input.text_b.empty()) return absl::InvalidArgumentError("text_b: an embedding model embeds one text, not a pair");
    std::vector<int64_t> ids = m_.ClsAndTokens(input.text_a);
    if (ids.empty()) return absl::InvalidArgumentError("text_a has no token");
    ServedRow row;
    UER_RETURN_IF_ERROR(CheckLength(static_cast<int64_t>(ids.size()), info_.seq_length, truncate));
    row.tokens = std::min<int64_t>(static_cast<int64_t>(ids.size()), info_.seq_length);
    std::tie(row.data.src, row.data.seg) = PadRows({ids}, info_.seq_length, m_.text.vocab->pad_id());
    row.input = input;
    return row;
  }

 protected:
  std::vector<absl::StatusOr<Prediction>> Run(const std::vector<const ServedRow*>& rows) override {
    core::TaskDataset all = Concatenate(rows);
    torch::NoGradGuard no_grad;
    torch::Tensor pooled;
    {
      AutocastGuard autocast(m_.precision, m_.device);
      pooled = PoolHidden(m_.Encode(all.src, all.seg, /*trim=*/true), all.seg, info_.pooling);
    }
    pooled = pooled.to(torch::kCPU, torch::kFloat).contiguous();
    std::vector<absl::StatusOr<Prediction>> answers;
    for (size_t i = 0; i < rows.size(); ++i) {
      const float* p = pooled[static_cast<int64_t>(i)].data_ptr<float>();
      Prediction pred;
      pred.embedding.assign(p, p + pooled.size(1));
      pred.tokens = rows[i]->tokens;
      answers.push_back(std::move(pred));
    }
    return answers;
  }

 private:
  LoadedModel m_;
};

}  // namespace

absl::StatusOr<ModelSpec> ReadModelFolder(const std::string& folder, const ModelSpec& defaults) {
  const std::string path = (fs::path(folder) / "model.pbtxt").string();
  UER_ASSIGN_OR_RETURN(uer::serve::v1::ServedModelConfig c, ParseModelPbtxt(path));
  ModelSpec s = defaults;
  s.name = c.name().empty() ? fs::path(folder).filename().string() : c.name();
  if (s.name.empty() || s.name.find_first_of("/?# ") != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": name \"", s.name, "\": a URL path segment (no /, ?, #, space)"));
  }
  s.task = c.task();
  if (s.task.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": task is missing (a task plugin or \"embedding\")"));
  for (const auto& [field, value] : {std::pair{"load_model_path", c.load_model_path()}, {"vocab_path", c.vocab_path()},
                                     {"config_path", c.config_path()}}) {
    if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", field, " is missing"));
  }
  s.load_model_path = InFolder(folder, c.load_model_path());
  s.vocab_path = InFolder(folder, c.vocab_path());
  s.sub_vocab_path = InFolder(folder, c.sub_vocab_path());
  auto config = ReadModelConfigFile(InFolder(folder, c.config_path()));
  if (!config.ok()) return absl::Status(config.status().code(), absl::StrCat(path, ": config_path: ", config.status().message()));
  s.config = *config;
  for (const auto& [k, v] : c.task_options()) s.task_options[k] = v;
  if (s.task_options.count("label2id_path")) s.task_options["label2id_path"] = InFolder(folder, s.task_options["label2id_path"]);
  if (c.seq_length() < 0) return absl::InvalidArgumentError(absl::StrCat(path, ": seq_length must be > 0"));
  if (c.seq_length() > 0) s.seq_length = c.seq_length();
  s.text_pair = c.text_pair();
  if (!c.pooling().empty()) s.pooling = c.pooling();
  if (!c.precision().empty()) s.precision = c.precision();
  const auto& b = c.dynamic_batching();
  if (b.max_batch_requests()) s.batching.max_batch_requests = b.max_batch_requests();
  if (b.max_batch_tokens()) s.batching.max_batch_tokens = b.max_batch_tokens();
  if (b.max_queue_delay_us()) s.batching.max_queue_delay_us = b.max_queue_delay_us();
  if (b.max_queued()) s.batching.max_queued = b.max_queued();
  absl::Status st = ValidateBatcherOptions(s.batching);
  if (!st.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": dynamic_batching: ", st.message()));
  return s;
}

absl::StatusOr<std::vector<ModelSpec>> ReadModelRepository(const std::string& repository, const ModelSpec& defaults) {
  std::error_code ec;
  if (!fs::is_directory(repository, ec)) {
    return absl::NotFoundError(absl::StrCat("--model_repository ", repository, ": not a folder"));
  }
  std::vector<std::string> folders;
  for (const auto& entry : fs::directory_iterator(repository, ec)) {
    if (entry.is_directory() && fs::exists(entry.path() / "model.pbtxt")) folders.push_back(entry.path().string());
  }
  std::sort(folders.begin(), folders.end());
  if (folders.empty()) {
    return absl::NotFoundError(absl::StrCat("--model_repository ", repository, ": no folder in it holds a model.pbtxt"));
  }
  std::vector<ModelSpec> specs;
  std::map<std::string, std::string> seen;
  for (const std::string& f : folders) {
    UER_ASSIGN_OR_RETURN(ModelSpec s, ReadModelFolder(f, defaults));
    if (!seen.emplace(s.name, f).second) {
      return absl::InvalidArgumentError(absl::StrCat("two models are named \"", s.name, "\": ", seen[s.name], " and ", f));
    }
    specs.push_back(std::move(s));
  }
  return specs;
}

ServedModel::~ServedModel() = default;

absl::StatusOr<std::unique_ptr<ServedModel>> ServedModel::Load(const ModelSpec& spec) {
  UER_RETURN_IF_ERROR(ValidateBatcherOptions(spec.batching));
  if (spec.seq_length < 2) return absl::InvalidArgumentError(absl::StrCat("model \"", spec.name, "\": seq_length must be >= 2"));
  ModelSource source{spec.config, spec.vocab_path, spec.sub_vocab_path, spec.load_model_path, spec.precision};
  std::unique_ptr<ServedModel> model;
  absl::Status st = CatchTorchErrors([&]() -> absl::Status {
    if (spec.task == kEmbeddingTask) {
      UER_ASSIGN_OR_RETURN(LoadedModel m, LoadModel(source, /*need_target=*/false));
      std::shared_ptr<const core::Vocab> vocab = m.text.vocab;
      auto e = std::make_unique<EmbeddingModel>(std::move(m));
      e->vocab_ = std::move(vocab);
      e->info_.pooling = spec.pooling;
      e->info_.seq_length = spec.seq_length;
      UER_RETURN_IF_ERROR(e->Init(spec));
      model = std::move(e);
    } else {
      UER_ASSIGN_OR_RETURN(LoadedTaskModel m, LoadTaskModel(source, spec.task, spec.task_options));
      std::shared_ptr<const core::Vocab> vocab = m.text.vocab;
      auto t = std::make_unique<TaskModel>(std::move(m));
      t->vocab_ = std::move(vocab);
      t->info_.seq_length = spec.seq_length;
      UER_RETURN_IF_ERROR(t->Init(spec));
      model = std::move(t);
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return absl::Status(st.code(), absl::StrCat("model \"", spec.name, "\": ", st.message()));
  ModelInfo& info = model->info_;
  info.name = spec.name;
  info.task = spec.task;
  info.hidden_size = spec.config.hidden_size();
  info.batching = spec.batching;
  BatcherOptions batching = spec.batching;
  batching.workers = spec.workers;
  model->StartBatcher(batching);
  return model;
}

std::string ServedModel::Token(int64_t id) const {
  return id >= 0 && id < vocab_->size() ? vocab_->Token(id) : std::string("[UNK]");
}

bool ServedModel::IsSpecial(int64_t id) const {
  return id == vocab_->cls_id() || id == vocab_->sep_id() || id == vocab_->pad_id();
}

void ServedModel::StartBatcher(const BatcherOptions& options) {
  batcher_ = std::make_unique<Batcher<ServedRow, Prediction>>(
      options, [](const ServedRow& r) { return r.tokens * std::max<int64_t>(1, r.data.size()); },
      [this](const std::vector<const ServedRow*>& rows) { return RunNow(rows); });
}

absl::StatusOr<std::shared_ptr<Ticket<Prediction>>> ServedModel::Submit(
    ServedRow row, Clock::time_point deadline, std::function<void(Ticket<Prediction>&)> on_answer) {
  return batcher_->Submit(std::move(row), deadline, std::move(on_answer));
}

std::vector<absl::StatusOr<Prediction>> ServedModel::RunNow(const std::vector<const ServedRow*>& rows) {
  std::vector<absl::StatusOr<Prediction>> out;
  absl::Status st = CatchTorchErrors([&]() -> absl::Status {
    out = Run(rows);
    return absl::OkStatus();
  });
  if (!st.ok()) out.assign(rows.size(), st);
  if (observer_) {
    int64_t longest = 0;
    for (const ServedRow* r : rows) longest = std::max(longest, r->tokens);
    observer_(static_cast<int64_t>(rows.size()), longest * static_cast<int64_t>(rows.size()));
  }
  return out;
}

}  // namespace uer::runtime::serve
