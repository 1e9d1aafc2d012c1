#include "core/runtime/model/loaded_model.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "core/log.h"
#include "core/registry.h"
#include "core/runtime/checkpoint.h"
#include "core/status_macros.h"

namespace uer::runtime {

absl::StatusOr<TextSide> LoadTextSide(const core::v1::ModelConfig& config, const std::string& vocab_path,
                                      const std::string& sub_vocab_path) {
  if (vocab_path.empty()) return absl::InvalidArgumentError("--vocab_path is required");
  TextSide text;
  UER_ASSIGN_OR_RETURN(core::Vocab vocab, core::Vocab::Load(vocab_path));
  text.vocab = std::make_shared<const core::Vocab>(std::move(vocab));
  core::TokenizerOptions options;
  options.vocab = text.vocab;
  UER_ASSIGN_OR_RETURN(text.tokenizer, core::CreateTokenizer(config.tokenizer(), options));
  UER_ASSIGN_OR_RETURN(text.subwords, LoadSubwordTable(config, *text.vocab, sub_vocab_path));
  return text;
}

absl::StatusOr<std::unique_ptr<core::TaskData>> CreateTaskData(const std::string& task, const TextSide& text,
                                                               const std::string& vocab_path,
                                                               const std::map<std::string, std::string>& options) {
  if (task.empty()) return absl::InvalidArgumentError("--task is required (a task plugin: classifier, ner, ...)");
  UER_ASSIGN_OR_RETURN(const core::TaskFactory* factory, core::FindFactory<core::TaskFactory>(task));
  core::TaskDataContext ctx;
  ctx.vocab = text.vocab;
  ctx.tokenizer = text.tokenizer.get();
  UER_ASSIGN_OR_RETURN(ctx.options, core::ResolveOptions(factory->Options(), options));
  UER_ASSIGN_OR_RETURN(std::unique_ptr<core::TaskData> data, factory->CreateData(ctx));
  std::vector<std::string> needed = data->NeededTokens();
  needed.insert(needed.begin(), "[PAD]");
  for (const std::string& token : needed) {
    if (text.vocab->Id(token) < 0) {
      return absl::InvalidArgumentError(absl::StrCat("vocabulary ", vocab_path, " has no ", token, " token (task ",
                                                     task, " needs it)"));
    }
  }
  return data;
}

absl::Status CheckSeqLength(const core::Embedding& embedding, int64_t seq_length) {
  if (const int64_t max = embedding.max_positions(); max > 0 && seq_length > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("--seq_length ", seq_length, " is more than the model's max_seq_length ", max));
  }
  return absl::OkStatus();
}

torch::Tensor LoadedModel::Encode(const torch::Tensor& src, const torch::Tensor& seg, bool trim) const {
  int64_t width = src.size(1);
  if (trim && model->encoder->TrailingPaddingInvisible()) {
    width = std::max<int64_t>(1, seg.gt(0).sum(1).max().item<int64_t>());
  }
  torch::Tensor s = src.slice(1, 0, width).to(device), g = seg.slice(1, 0, width).to(device);
  torch::Tensor hidden;
  {
    AutocastGuard autocast(precision, device);
    hidden = model->encoder->Forward(model->Embed(s, g), g);
  }
  hidden = hidden.to(torch::kFloat);
  if (width == src.size(1)) return hidden;
  return torch::constant_pad_nd(hidden, {0, 0, 0, src.size(1) - width});
}

absl::StatusOr<LoadedModel> LoadModel(const ModelSource& source, bool need_target) {
  if (source.load_model_path.empty()) return absl::InvalidArgumentError("--pretrained_model_path is required");
  LoadedModel m;
  m.device = source.device;
  UER_ASSIGN_OR_RETURN(m.precision, ParsePrecision(source.precision, source.device));
  UER_ASSIGN_OR_RETURN(m.text, LoadTextSide(source.config, source.vocab_path, source.sub_vocab_path));
  UER_ASSIGN_OR_RETURN(m.model, BuildModel(source.config, {m.text.vocab->size(), 0}, m.text.subwords));
  LoadOptions lo;
  lo.allow_missing_target = !need_target;
  lo.allow_unexpected_target = !need_target;
  UER_ASSIGN_OR_RETURN(std::string generation, LoadModelWeights(m.model.get(), source.load_model_path, lo));
  UER_LOG(INFO) << "loaded " << source.load_model_path << " (" << generation << " keys)";
  m.model->to(m.device);
  m.model->eval();
  return m;
}

absl::StatusOr<LoadedTaskModel> LoadTaskModel(const ModelSource& source, const std::string& task,
                                              const std::map<std::string, std::string>& task_options) {
  if (source.load_model_path.empty()) return absl::InvalidArgumentError("--load_model_path is required");
  LoadedTaskModel m;
  m.device = source.device;
  m.config = source.config;
  UER_ASSIGN_OR_RETURN(m.precision, ParsePrecision(source.precision, source.device));
  UER_ASSIGN_OR_RETURN(m.text, LoadTextSide(source.config, source.vocab_path, source.sub_vocab_path));
  UER_ASSIGN_OR_RETURN(m.task, CreateTaskData(task, m.text, source.vocab_path, task_options));
  UER_ASSIGN_OR_RETURN(core::StateDict state, LoadStateDict(source.load_model_path));
  UER_RETURN_IF_ERROR(m.task->PrepareInference(source.load_model_path, state, &m.config));
  UER_ASSIGN_OR_RETURN(m.model, BuildFinetuneModel(m.config, task, {m.text.vocab->size(), 0}, m.text.subwords));
  LoadOptions lo;
  lo.allow_unexpected_target = true;  // UER-py's NER models keep their pseudo target
  UER_ASSIGN_OR_RETURN(std::string generation, LoadModelWeights(m.model.get(), state, source.load_model_path, lo));
  UER_LOG(INFO) << "loaded " << source.load_model_path << " (" << generation << " keys, task " << task << ")";
  m.model->to(m.device);
  m.model->eval();
  return m;
}

std::vector<int64_t> LoadedModel::ClsAndTokens(std::string_view text) const {
  std::vector<int64_t> ids = this->text.tokenizer->TokenizeToIds(text);
  if (ids.empty()) return ids;
  ids.insert(ids.begin(), this->text.vocab->cls_id());
  return ids;
}

absl::Status CheckPooling(const std::string& pooling, bool allow_none, const std::string& field) {
  if (pooling == "first" || pooling == "last" || pooling == "mean" || pooling == "max" ||
      (allow_none && pooling == "none")) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(field, " ", pooling, ": expected ", allow_none ? "none, " : "",
                                                 "first, last, mean or max"));
}

torch::Tensor PoolHidden(const torch::Tensor& hidden, const torch::Tensor& seg, const std::string& pooling) {
  torch::Tensor g = seg.to(hidden.device());
  torch::Tensor real = g.gt(0).unsqueeze(-1).to(hidden.scalar_type());  // [b, L, 1]
  if (pooling == "first") return hidden.select(1, 0);
  if (pooling == "last") {
    torch::Tensor last = g.gt(0).sum(1) - 1;  // [b]
    return hidden.gather(1, last.view({-1, 1, 1}).expand({-1, 1, hidden.size(2)})).squeeze(1);
  }
  if (pooling == "mean") return (hidden * real).sum(1) / real.sum(1);
  if (pooling == "max") return hidden.masked_fill(real.eq(0), -std::numeric_limits<float>::infinity()).amax(1);
  return hidden;
}

std::pair<torch::Tensor, torch::Tensor> PadRows(const std::vector<std::vector<int64_t>>& rows, int64_t length, int64_t pad) {
  torch::Tensor src = torch::full({static_cast<int64_t>(rows.size()), length}, pad, torch::kLong);
  torch::Tensor seg = torch::zeros({static_cast<int64_t>(rows.size()), length}, torch::kLong);
  auto s = src.accessor<int64_t, 2>();
  auto g = seg.accessor<int64_t, 2>();
  for (size_t r = 0; r < rows.size(); ++r) {
    for (int64_t i = 0; i < length && i < static_cast<int64_t>(rows[r].size()); ++i) {
      s[r][i] = rows[r][i];
      g[r][i] = 1;
    }
  }
  return {src, seg};
}

}  // namespace uer::runtime
