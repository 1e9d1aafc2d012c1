#include "tools/check_model_lib.h"

#include "absl/strings/str_cat.h"
#include "core/runtime/interop.h"
#include "core/runtime/model.h"
#include "core/runtime/trainer.h"

namespace uer::tools {

absl::Status RunCheckModel(const CheckModelOptions& o, std::ostream& out) {
  UER_ASSIGN_OR_RETURN(core::StateDict state, runtime::LoadStateDict(o.load_model_path));
  int64_t file_params = 0;
  for (const auto& [k, t] : state) file_params += t.numel();
  const std::string generation = runtime::KeyGeneration(state);
  out << "checkpoint: " << o.load_model_path << "\n"
      << "key generation: " << generation << "\n"
      << "tensors: " << state.size() << ", parameters: " << file_params << "\n";
  UER_ASSIGN_OR_RETURN(core::Vocab vocab, core::Vocab::Load(o.vocab_path));
  UER_ASSIGN_OR_RETURN(runtime::SubwordTable subwords, runtime::LoadSubwordTable(o.config, vocab, o.sub_vocab_path));
  UER_ASSIGN_OR_RETURN(auto model, runtime::BuildModel(o.config, {vocab.size(), 0}, subwords));
  runtime::LoadOptions lo;
  // A headless checkpoint (HuggingFace's BertModel, an encoder alone): no target to load or run.
  bool has_target = false;
  for (const auto& [k, t] : state) has_target = has_target || k.rfind("target.", 0) == 0;
  const bool headless = generation == "huggingface" ? runtime::BertHeadsIn(state) == "none" : !has_target;
  if (headless) out << "headless: no target in the checkpoint; embedding and encoder only\n";
  lo.allow_missing_target = o.allow_missing_target || headless;
  absl::StatusOr<std::string> loaded = runtime::LoadModelWeights(model.get(), state, o.load_model_path, lo);
  if (!loaded.ok()) {
    out << "keys: PROBLEMS\n" << loaded.status().message() << "\n";
    return loaded.status();
  }
  int64_t model_params = 0;
  for (const auto& p : model->parameters()) model_params += p.numel();
  out << "keys: OK (model " << o.config.embedding() << "/" << o.config.encoder() << "/" << o.config.target()
      << ", " << model_params << " parameters)\n";
  if (!o.save_model_path.empty()) {
    UER_RETURN_IF_ERROR(runtime::SaveStateDict(o.save_model_path, runtime::ModelStateDict(*model)));
    out << "saved with seed keys: " << o.save_model_path << "\n";
  }
  if (o.inputs_path.empty()) return absl::OkStatus();
  if (o.output_path.empty()) return absl::InvalidArgumentError("--inputs_path needs --output_path");
  UER_ASSIGN_OR_RETURN(runtime::PyValue in, runtime::LoadTorchFile(o.inputs_path));
  auto get = [&](const std::string& k) -> absl::StatusOr<torch::Tensor> {
    const runtime::PyValue* v = in.Get(k);
    if (!v || v->kind != runtime::PyValue::Kind::kTensor) {
      return absl::InvalidArgumentError(absl::StrCat(o.inputs_path, " has no tensor \"", k, "\""));
    }
    return v->tensor;
  };
  // The inputs are checked before they reach the model: an id past a table or a shape the model
  // cannot take is named, not left to LibTorch.
  auto integers = [&](const std::string& k, const torch::Tensor& t) -> absl::Status {
    if (!at::isIntegralType(t.scalar_type(), /*includeBool=*/false)) {
      return absl::InvalidArgumentError(absl::StrCat(o.inputs_path, ": \"", k, "\" holds ", c10::toString(t.scalar_type()),
                                                     " values; ids are integers (torch.long)"));
    }
    if (t.numel() > 0 && t.min().item<int64_t>() < 0) {
      return absl::InvalidArgumentError(absl::StrCat(o.inputs_path, ": \"", k, "\" holds a negative value ",
                                                     t.min().item<int64_t>()));
    }
    return absl::OkStatus();
  };
  UER_ASSIGN_OR_RETURN(torch::Tensor src, get("src"));
  UER_ASSIGN_OR_RETURN(torch::Tensor seg, get("seg"));
  UER_RETURN_IF_ERROR(integers("src", src));
  UER_RETURN_IF_ERROR(integers("seg", seg));
  if (src.dim() != 2 || src.size(0) == 0 || src.size(1) == 0 || seg.sizes() != src.sizes()) {
    return absl::InvalidArgumentError(absl::StrCat(o.inputs_path, ": src ", c10::str(src.sizes()), " and seg ", c10::str(seg.sizes()),
                                                   " must both be [batch, seq_length], not empty"));
  }
  if (src.max().item<int64_t>() >= vocab.size()) {
    return absl::InvalidArgumentError(absl::StrCat(o.inputs_path, ": src holds id ", src.max().item<int64_t>(), ", past the ",
                                                   vocab.size(), " tokens of ", o.vocab_path));
  }
  if (seg.max().item<int64_t>() > 2) {
    return absl::InvalidArgumentError(absl::StrCat(o.inputs_path, ": seg holds ", seg.max().item<int64_t>(),
                                                   "; segment ids are 0 (padding), 1 and 2"));
  }
  if (const int64_t max = model->embedding->max_positions(); max > 0 && src.size(1) > max) {
    return absl::InvalidArgumentError(absl::StrCat(o.inputs_path, ": sequences of ", src.size(1),
                                                   " positions; the embedding has ", max, " (max_seq_length)"));
  }
  src = src.to(torch::kLong);
  seg = seg.to(torch::kLong);
  core::TensorMap tgt;
  for (const std::string& name : headless ? std::vector<std::string>() : model->target->InputNames()) {
    auto t = get(name);
    if (!t.ok() && name == "tgt_mlm") t = get("tgt");
    if (!t.ok()) return t.status();
    UER_RETURN_IF_ERROR(integers(name, *t));
    if (t->dim() == 0 || t->size(0) != src.size(0)) {
      return absl::InvalidArgumentError(absl::StrCat(o.inputs_path, ": \"", name, "\" is ", c10::str(t->sizes()),
                                                     "; its first dimension must be the batch (", src.size(0), ")"));
    }
    tgt[name] = t->to(torch::kLong);
  }
  tgt["seg"] = seg;  // as Model::Forward hands it to the target
  model->eval();
  torch::NoGradGuard no_grad;
  torch::Tensor emb, hidden, greedy;
  core::TargetOutput result;
  UER_RETURN_IF_ERROR(runtime::CatchTorchErrors([&]() -> absl::Status {
    emb = model->Embed(src, seg);
    hidden = model->encoder->Forward(emb, seg);
    if (!headless) result = model->target->Forward(hidden, tgt);
    // A target that generates (s2s): its greedy decoding of each row too, from [CLS] to [SEP].
    if (!headless && model->target->Decodes()) {
      greedy = model->target->GreedyDecode(hidden, seg, vocab.cls_id(), vocab.sep_id(), src.size(1));
    }
    return absl::OkStatus();
  }));
  if (headless) {
    UER_RETURN_IF_ERROR(runtime::SaveDict(o.output_path, {{"embedding_output", emb}, {"encoder_output", hidden}}));
    out << "outputs (embedding and encoder): " << o.output_path << "\n";
    return absl::OkStatus();
  }
  std::vector<torch::Tensor> values;
  std::string names;
  for (const auto& [n, t] : result.values) {
    values.push_back(t.to(torch::kFloat64).reshape({1}));
    names += (names.empty() ? "" : ", ") + n;
  }
  std::vector<std::pair<std::string, runtime::SaveValue>> outputs = {{"embedding_output", emb},
                                                                      {"encoder_output", hidden},
                                                                    {"target_outputs", torch::cat(values)},
                                                                    {"target_outputs_meaning", names},
                                                                    {"loss", result.loss}};
  if (greedy.defined()) outputs.emplace_back("greedy_decode", greedy);
  UER_RETURN_IF_ERROR(runtime::SaveDict(o.output_path, outputs));
  out << "outputs (" << names << (greedy.defined() ? ", greedy_decode" : "") << "; loss " << result.loss.item<double>()
      << "): " << o.output_path << "\n";
  return absl::OkStatus();
}

}  // namespace uer::tools
