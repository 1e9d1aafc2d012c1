#include "tools/check_model_lib.h"

#include "absl/strings/str_cat.h"
#include "core/runtime/model.h"

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
  UER_ASSIGN_OR_RETURN(auto model, runtime::BuildModel(o.config, {vocab.size(), 0}));
  runtime::LoadOptions lo;
  lo.allow_missing_target = o.allow_missing_target;
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
  UER_ASSIGN_OR_RETURN(torch::Tensor src, get("src"));
  UER_ASSIGN_OR_RETURN(torch::Tensor seg, get("seg"));
  core::TensorMap tgt;
  for (const std::string& name : model->target->InputNames()) {
    auto t = get(name);
    if (!t.ok() && name == "tgt_mlm") t = get("tgt");
    if (!t.ok()) return t.status();
    tgt[name] = *t;
  }
  model->eval();
  torch::NoGradGuard no_grad;
  torch::Tensor emb = model->embedding->Forward(src, seg);
  torch::Tensor hidden = model->encoder->Forward(emb, seg);
  core::TargetOutput result = model->target->Forward(hidden, tgt);
  std::vector<torch::Tensor> values;
  std::string names;
  for (const auto& [n, t] : result.values) {
    values.push_back(t.to(torch::kFloat64).reshape({1}));
    names += (names.empty() ? "" : ", ") + n;
  }
  UER_RETURN_IF_ERROR(runtime::SaveDict(o.output_path, {{"embedding_output", emb},
                                                     {"encoder_output", hidden},
                                                     {"target_outputs", torch::cat(values)},
                                                     {"target_outputs_meaning", names},
                                                     {"loss", result.loss}}));
  out << "outputs (" << names << "; loss " << result.loss.item<double>() << "): " << o.output_path << "\n";
  return absl::OkStatus();
}

}  // namespace uer::tools
