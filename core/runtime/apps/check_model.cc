#include "core/runtime/apps/check_model.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "core/registry.h"
#include "core/tokenizer.h"
#include "core/runtime/interop.h"
#include "core/runtime/model/loaded_model.h"
#include "core/runtime/trainer.h"
#include "core/runtime/finetune.h"

namespace uer::apps {
namespace {

// Which task's head a fine-tuned checkpoint holds: each task plugin (or the one asked for) sizes
// its head from the file (TaskData::PrepareInference) and the model loads strictly.
absl::Status CheckFinetuned(const CheckModelOptions& o, const core::StateDict& state, const runtime::TextSide& text,
                            std::ostream& out) {
  core::registry::ResolveAll();
  const std::vector<std::string> tasks = o.task.empty() ? core::registry::Names(core::PluginKind::kTask)
                                                        : std::vector<std::string>{o.task};
  std::vector<std::string> tried, matches;
  std::string summary;
  for (const std::string& name : tasks) {
    absl::StatusOr<std::unique_ptr<core::TaskData>> data =
        runtime::CreateTaskData(name, text, o.vocab_path, {{"require_label_map", "false"}});
    core::v1::ModelConfig config = o.config;
    absl::Status st = data.ok() ? (*data)->PrepareInference(o.load_model_path, state, &config) : data.status();
    absl::StatusOr<std::shared_ptr<runtime::FinetuneModel>> model;
    if (st.ok()) {
      model = runtime::BuildFinetuneModel(config, name, {text.vocab->size(), 0}, text.subwords);
      st = model.status();
    }
    if (st.ok()) {
      runtime::LoadOptions lo;
      lo.allow_unexpected_target = true;  // UER-py's NER models keep their pseudo target
      st = runtime::LoadModelWeights(model->get(), state, o.load_model_path, lo).status();
    }
    if (!st.ok()) {
      tried.push_back(absl::StrCat(name, ": ", st.message()));
      continue;
    }
    int64_t params = 0;
    for (const auto& p : (*model)->parameters()) params += p.numel();
    matches.push_back(absl::StrCat(name, " (labels_num ", config.labels_num(), ")"));
    summary = absl::StrCat("keys: OK (model ", config.embedding(), "/", config.encoder(), " + ", name, ", ", params,
                           " parameters)\n");
  }
  if (!matches.empty()) {
    // Heads of the same layers (run_classifier's with two labels and run_mrc's) cannot be told apart.
    out << "fine-tuned model: task " << absl::StrJoin(matches, " or ")
        << (matches.size() > 1 ? " (the same layers; --task picks one)" : "") << "\n"
        << summary;
    if (!o.inputs_path.empty()) {
      return absl::InvalidArgumentError("--inputs_path is for pre-trained models; a fine-tuned model's outputs come "
                                        "from its inference tool (run_classifier_infer, run_ner_infer, run_mrc_infer)");
    }
    return absl::OkStatus();
  }
  out << "keys: PROBLEMS\n";
  return absl::InvalidArgumentError(absl::StrCat(o.load_model_path, " holds a fine-tuning head that no task plugin "
                                                 "loads (", absl::StrJoin(tried, "; "), ")"));
}

struct ModelInputs {
  torch::Tensor src, seg;
  core::TensorMap tgt;  // the target's inputs and "seg"
};

// The inputs of --inputs_path (src, seg and the target's), checked before they reach the model: an
// id past a table or a shape the model cannot take is named, not left to LibTorch.
absl::StatusOr<ModelInputs> ReadModelInputs(const CheckModelOptions& o, const core::Vocab& vocab,
                                            runtime::Model& model, bool headless) {
  UER_ASSIGN_OR_RETURN(runtime::PyValue in, runtime::LoadTorchFile(o.inputs_path));
  auto get = [&](const std::string& k) -> absl::StatusOr<torch::Tensor> {
    const runtime::PyValue* v = in.Get(k);
    if (!v || v->kind != runtime::PyValue::Kind::kTensor) {
      return absl::InvalidArgumentError(absl::StrCat(o.inputs_path, " has no tensor \"", k, "\""));
    }
    return v->tensor;
  };
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
  if (const int64_t max = model.embedding->max_positions(); max > 0 && src.size(1) > max) {
    return absl::InvalidArgumentError(absl::StrCat(o.inputs_path, ": sequences of ", src.size(1),
                                                   " positions; the embedding has ", max, " (max_seq_length)"));
  }
  ModelInputs inputs;
  inputs.src = src.to(torch::kLong);
  inputs.seg = seg.to(torch::kLong);
  for (const std::string& name : headless ? std::vector<std::string>() : model.target->InputNames()) {
    auto t = get(name);
    if (!t.ok() && name == "tgt_mlm") t = get("tgt");
    if (!t.ok()) return t.status();
    UER_RETURN_IF_ERROR(integers(name, *t));
    if (t->dim() == 0 || t->size(0) != inputs.src.size(0)) {
      return absl::InvalidArgumentError(absl::StrCat(o.inputs_path, ": \"", name, "\" is ", c10::str(t->sizes()),
                                                     "; its first dimension must be the batch (", inputs.src.size(0), ")"));
    }
    inputs.tgt[name] = t->to(torch::kLong);
  }
  inputs.tgt["seg"] = inputs.seg;  // as Model::Forward hands it to the target
  return inputs;
}

// Runs the model on `in` and saves what UER-py's check gives: the embedding's and encoder's outputs,
// the target's values and loss, and a generating target's greedy decoding.
absl::Status RunAndSave(const CheckModelOptions& o, const core::Vocab& vocab, runtime::Model& model, bool headless,
                        const ModelInputs& in, std::ostream& out) {
  const torch::Tensor& src = in.src;
  const torch::Tensor& seg = in.seg;
  const core::TensorMap& tgt = in.tgt;
  model.eval();
  torch::NoGradGuard no_grad;
  torch::Tensor emb, hidden, greedy;
  core::TargetOutput result;
  UER_RETURN_IF_ERROR(runtime::CatchTorchErrors([&]() -> absl::Status {
    emb = model.Embed(src, seg);
    hidden = model.encoder->Forward(emb, seg);
    if (!headless) result = model.target->Forward(hidden, tgt);
    // A target that generates (s2s): its greedy decoding of each row too, from [CLS] to [SEP].
    if (!headless && model.target->Decodes()) {
      greedy = model.target->GreedyDecode(hidden, seg, vocab.cls_id(), vocab.sep_id(), src.size(1));
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

}  // namespace

absl::Status RunCheckModel(const CheckModelOptions& o, std::ostream& out) {
  UER_ASSIGN_OR_RETURN(core::StateDict state, runtime::LoadStateDict(o.load_model_path));
  int64_t file_params = 0;
  for (const auto& [k, t] : state) file_params += t.numel();
  const std::string generation = runtime::KeyGeneration(state);
  out << "checkpoint: " << o.load_model_path << "\n"
      << "key generation: " << generation << "\n"
      << "tensors: " << state.size() << ", parameters: " << file_params << "\n";
  UER_ASSIGN_OR_RETURN(runtime::TextSide text, runtime::LoadTextSide(o.config, o.vocab_path, o.sub_vocab_path));
  // The seed's first line: whether the keys carry a DataParallel wrapper's prefix.
  out << (!state.empty() && absl::StartsWith(state.front().first, "module.") ? "Multi-GPU version." : "Single-GPU version.")
      << "\n";
  bool top_level = false;  // a fine-tuning head's layers beside embedding and encoder
  for (const auto& [k, t] : state) {
    absl::string_view key = k;
    absl::ConsumePrefix(&key, "module.");
    const size_t dot = key.find('.');
    const absl::string_view head = key.substr(0, dot);
    top_level = top_level || (head != "embedding" && head != "encoder" && head != "target" && head != "subencoder");
  }
  if (generation != "huggingface" && (top_level || !o.task.empty())) {
    return CheckFinetuned(o, state, text, out);
  }
  UER_ASSIGN_OR_RETURN(auto model, runtime::BuildModel(o.config, {text.vocab->size(), 0}, text.subwords));
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
  UER_ASSIGN_OR_RETURN(ModelInputs in, ReadModelInputs(o, *text.vocab, *model, headless));
  return RunAndSave(o, *text.vocab, *model, headless, in, out);
}

}  // namespace uer::apps
