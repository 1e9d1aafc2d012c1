// UER-py's scripts/convert_bert_from_{huggingface,google}_to_uer.py and convert_bert_from_uer_to_
// {huggingface,google}.py, and its newer convert_bert_{text,token}_classification_* (--target
// defaulting to classifier / ner), with their flags: compiled once, each tool a main of one line
// (convert_bert_main.cc) that names itself. Google's side is a TensorFlow checkpoint prefix
// (PREFIX.index, PREFIX.data-00000-of-00001).
//
//   bazel run //tools:convert_bert_from_huggingface_to_uer -- --input_model_path hf_folder/
//       --output_model_path model.bin [--target bert|mlm|none|classifier|ner] [--verify]
//   bazel run //tools:convert_bert_from_uer_to_huggingface -- --input_model_path model.bin
//       --output_model_path hf_folder/ --config_path models/bert/base.pbtxt --vocab_path vocab.txt
//
// HuggingFace side: a model folder (model.safetensors or its shards, or pytorch_model.bin, and
// config.json), a .safetensors file or a .bin file. Writing a folder writes model.safetensors,
// config.json (from the model config) and vocab.txt (from --vocab_path). The report says which keys
// were mapped, dropped and absent; --verify reads the written file back and compares every tensor.
#include <filesystem>
#include <fstream>
#include <iostream>

#include <gflags/gflags.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/log.h"
#include "core/registry.h"
#include "core/runtime/checkpoint.h"
#include "core/runtime/dataset.h"
#include "core/runtime/interop.h"
#include "core/runtime/progress.h"
#include "core/runtime/trainer.h"
#include "tools/convert_bert.h"
#include "tools/tool_common.h"

DEFINE_string(input_model_path, "", "The checkpoint to convert (a file, or a HuggingFace model folder).");
DEFINE_string(output_model_path, "", "Where the converted checkpoint goes (HuggingFace: a folder, .safetensors or .bin).");
DEFINE_bool(verify, false, "Read the written file back and compare every tensor bit for bit.");
DEFINE_string(vocab_path, "", "uer -> HuggingFace into a folder: the vocabulary copied as vocab.txt.");
DEFINE_string(output_config_path, "", "HuggingFace -> uer: where the model config from config.json goes (text proto).");
// Model flags (--config_path, --layers_num, ...) come from tools/model_flags.cc.
DECLARE_string(config_path);
DECLARE_int32(layers_num);
// --target (model_flags): the heads, bert (mlm + nsp), mlm, none (embeddings and encoder), classifier or ner
// (or any target or task plugin that declares a HuggingFace head).
DECLARE_string(target);

namespace {

namespace fs = std::filesystem;
using uer::core::StateDict;

// The conversion's progress on a terminal, stage by stage (read, map, write, verify): a large
// model's reading and writing take seconds each. Nothing is drawn in a pipe.
class Stages {
 public:
  Stages() : progress_(gflags::ProgramInvocationShortName(), FLAGS_verify ? 4 : 3, uer::runtime::Progress::Unit::kItems, "stage") {}
  void Begin(const std::string& what) { progress_.Update(done_++, what); }

 private:
  uer::runtime::Progress progress_;
  int done_ = 0;
};

// `read` is the reading path of the written format (LoadStateDict, LoadTfCheckpoint).
absl::Status Verify(const std::string& path, const StateDict& written,
                    absl::StatusOr<StateDict> (*read)(const std::string&) = uer::runtime::LoadStateDict) {
  UER_ASSIGN_OR_RETURN(StateDict back, read(path));
  if (back.size() != written.size()) {
    return absl::DataLossError(absl::StrCat(path, ": read back ", back.size(), " tensors, wrote ", written.size()));
  }
  std::map<std::string, torch::Tensor> m(back.begin(), back.end());
  for (const auto& [k, t] : written) {
    auto it = m.find(k);
    if (it == m.end()) return absl::DataLossError(absl::StrCat(path, ": tensor ", k, " did not come back"));
    if (!torch::equal(it->second, t.to(torch::kCPU))) return absl::DataLossError(absl::StrCat(path, ": tensor ", k, " differs"));
  }
  UER_LOG(INFO) << "--verify: " << written.size() << " tensors read back from " << path << ", all equal";
  return absl::OkStatus();
}

absl::Status CheckLayers(const StateDict& state) {
  const int64_t layers = uer::runtime::BertLayersNum(state);
  gflags::CommandLineFlagInfo info;
  if (gflags::GetCommandLineFlagInfo("layers_num", &info) && !info.is_default && FLAGS_layers_num != layers) {
    return absl::InvalidArgumentError(absl::StrCat("--layers_num ", FLAGS_layers_num, " but ", FLAGS_input_model_path,
                                                   " has ", layers, " layers"));
  }
  return absl::OkStatus();
}

[[maybe_unused]] absl::Status FromHuggingFace() {
  Stages stages;
  stages.Begin("reading " + FLAGS_input_model_path);
  UER_ASSIGN_OR_RETURN(StateDict hf, uer::runtime::LoadStateDict(FLAGS_input_model_path));
  UER_RETURN_IF_ERROR(CheckLayers(hf));
  stages.Begin("mapping keys");
  uer::runtime::KeyReport report;
  absl::StatusOr<StateDict> uer = uer::runtime::BertFromHuggingFace(hf, FLAGS_target, &report);
  UER_LOG(INFO) << "keys: " << report.Summary();
  if (!uer.ok()) return absl::Status(uer.status().code(), absl::StrCat(FLAGS_input_model_path, ": ", uer.status().message()));
  stages.Begin("writing " + FLAGS_output_model_path);
  UER_RETURN_IF_ERROR(uer::runtime::SaveStateDict(FLAGS_output_model_path, *uer));
  UER_LOG(INFO) << "wrote " << FLAGS_output_model_path << " (" << uer->size() << " tensors, UER-py's key names)";
  const fs::path folder = fs::is_directory(FLAGS_input_model_path) ? fs::path(FLAGS_input_model_path)
                                                                  : fs::path(FLAGS_input_model_path).parent_path();
  if (fs::exists(folder / "config.json")) {
    UER_ASSIGN_OR_RETURN(uer::core::v1::ModelConfig c, uer::runtime::ConfigFromHuggingFace((folder / "config.json").string()));
    // A pre-training head (not a task's, nor none) is the config's target.
    if (uer::core::registry::IsRegistered(uer::core::PluginKind::kTarget, FLAGS_target)) c.set_target(FLAGS_target);
    if (!FLAGS_output_config_path.empty()) {
      UER_RETURN_IF_ERROR(uer::runtime::WriteFileAtomically(FLAGS_output_config_path, uer::core::ModelConfigToText(c)));
      UER_LOG(INFO) << "wrote " << FLAGS_output_config_path << " (the model config, HuggingFace's LayerNorm)";
    } else {
      UER_LOG(INFO) << "the model's config.json gives (use it with --config_path; --output_config_path writes it):\n"
                << uer::core::ModelConfigToText(c);
    }
  }
  if (FLAGS_verify) {
    stages.Begin("verifying " + FLAGS_output_model_path);
    UER_RETURN_IF_ERROR(Verify(FLAGS_output_model_path, *uer));
  }
  return absl::OkStatus();
}

[[maybe_unused]] absl::Status ToHuggingFace() {
  Stages stages;
  stages.Begin("reading " + FLAGS_input_model_path);
  UER_ASSIGN_OR_RETURN(StateDict uer, uer::runtime::LoadStateDict(FLAGS_input_model_path));
  UER_RETURN_IF_ERROR(CheckLayers(uer));
  stages.Begin("mapping keys");
  uer::runtime::KeyReport report;
  absl::StatusOr<StateDict> hf = uer::runtime::BertToHuggingFace(uer, FLAGS_target, &report);
  UER_LOG(INFO) << "keys: " << report.Summary();
  if (!hf.ok()) return absl::Status(hf.status().code(), absl::StrCat(FLAGS_input_model_path, ": ", hf.status().message()));
  UER_ASSIGN_OR_RETURN(const std::string architecture, uer::runtime::HuggingFaceArchitecture(FLAGS_target));
  const std::string out = FLAGS_output_model_path;
  stages.Begin("writing " + out);
  std::string weights = out;
  if (absl::EndsWith(out, ".bin")) {
    UER_RETURN_IF_ERROR(uer::runtime::SaveStateDict(out, *hf));
  } else if (absl::EndsWith(out, ".safetensors")) {
    UER_RETURN_IF_ERROR(uer::runtime::SaveSafetensors(out, *hf));
  } else {
    // A model folder that transformers' from_pretrained reads.
    UER_ASSIGN_OR_RETURN(uer::core::v1::ModelConfig c, uer::tools::ResolveModelConfig(FLAGS_config_path));
    // config.json's sizes from the converted tensors, under transformers' names.
    int64_t vocab = 0;
    bool tied = true;
    std::map<std::string, torch::Tensor> m(hf->begin(), hf->end());
    const std::string word = m.count("embeddings.word_embeddings.weight") ? "embeddings.word_embeddings.weight"
                                                                          : "bert.embeddings.word_embeddings.weight";
    if (auto w = m.find(word); w != m.end()) vocab = w->second.size(0);
    if (auto d = m.find("cls.predictions.decoder.weight"); d != m.end()) tied = m.count(word) && torch::equal(d->second, m[word]);
    c.set_layers_num(static_cast<int32_t>(uer::runtime::BertLayersNum(uer)));
    if (auto h = m.find(word); h != m.end() && h->second.size(1) != c.hidden_size()) {
      return absl::InvalidArgumentError(absl::StrCat("the model config's hidden_size is ", c.hidden_size(), " but ",
                                                     FLAGS_input_model_path, " has ", h->second.size(1),
                                                     " (give its config with --config_path)"));
    }
    if (auto o = m.find("classifier.weight"); o != m.end()) c.set_labels_num(static_cast<int32_t>(o->second.size(0)));
    if (c.layernorm() != uer::core::v1::TORCH_VAR) {
      UER_LOG(WARNING) << "the model uses UER-py's LayerNorm (unbiased std, eps outside the root); HuggingFace's BERT "
                      "normalises with the biased variance, eps inside: its outputs will differ slightly";
    }
    weights = (fs::path(out) / "model.safetensors").string();
    UER_RETURN_IF_ERROR(uer::runtime::SaveSafetensors(weights, *hf));
    UER_RETURN_IF_ERROR(uer::runtime::WriteFileAtomically(
        (fs::path(out) / "config.json").string(),
        uer::runtime::ConfigToHuggingFace(c, vocab, architecture, tied)));
    if (!FLAGS_vocab_path.empty()) {
      std::ifstream in(FLAGS_vocab_path, std::ios::binary);
      if (!in) return absl::NotFoundError(absl::StrCat("cannot open vocabulary ", FLAGS_vocab_path));
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      UER_RETURN_IF_ERROR(uer::runtime::WriteFileAtomically((fs::path(out) / "vocab.txt").string(), text));
    }
  }
  UER_LOG(INFO) << "wrote " << weights << " (" << hf->size() << " tensors, HuggingFace's "
            << architecture << " key names)";
  if (FLAGS_verify) {
    stages.Begin("verifying " + weights);
    UER_RETURN_IF_ERROR(Verify(weights, *hf));
  }
  return absl::OkStatus();
}

// Google's TensorFlow checkpoints, through HuggingFace's names.
[[maybe_unused]] absl::Status FromGoogle() {
  Stages stages;
  stages.Begin("reading " + FLAGS_input_model_path);
  UER_ASSIGN_OR_RETURN(StateDict google, uer::runtime::LoadTfCheckpoint(FLAGS_input_model_path));
  stages.Begin("mapping keys");
  uer::runtime::KeyReport report;
  StateDict hf = uer::runtime::GoogleToHuggingFace(google, &report);
  UER_RETURN_IF_ERROR(CheckLayers(hf));
  absl::StatusOr<StateDict> uer = uer::runtime::BertFromHuggingFace(hf, FLAGS_target, &report);
  UER_LOG(INFO) << "keys: " << report.Summary();
  if (!uer.ok()) return absl::Status(uer.status().code(), absl::StrCat(FLAGS_input_model_path, ": ", uer.status().message()));
  stages.Begin("writing " + FLAGS_output_model_path);
  UER_RETURN_IF_ERROR(uer::runtime::SaveStateDict(FLAGS_output_model_path, *uer));
  UER_LOG(INFO) << "wrote " << FLAGS_output_model_path << " (" << uer->size() << " tensors, UER-py's key names)";
  if (FLAGS_verify) {
    stages.Begin("verifying " + FLAGS_output_model_path);
    UER_RETURN_IF_ERROR(Verify(FLAGS_output_model_path, *uer));
  }
  return absl::OkStatus();
}

[[maybe_unused]] absl::Status ToGoogle() {
  Stages stages;
  stages.Begin("reading " + FLAGS_input_model_path);
  UER_ASSIGN_OR_RETURN(StateDict uer, uer::runtime::LoadStateDict(FLAGS_input_model_path));
  UER_RETURN_IF_ERROR(CheckLayers(uer));
  stages.Begin("mapping keys");
  uer::runtime::KeyReport report;
  absl::StatusOr<StateDict> hf = uer::runtime::BertToHuggingFace(uer, FLAGS_target, &report);
  if (!hf.ok()) {
    UER_LOG(INFO) << "keys: " << report.Summary();
    return absl::Status(hf.status().code(), absl::StrCat(FLAGS_input_model_path, ": ", hf.status().message()));
  }
  StateDict google = uer::runtime::HuggingFaceToGoogle(*hf, &report);
  UER_LOG(INFO) << "keys: " << report.Summary();
  stages.Begin("writing " + FLAGS_output_model_path);
  UER_RETURN_IF_ERROR(uer::runtime::SaveTfCheckpoint(FLAGS_output_model_path, google));
  UER_LOG(INFO) << "wrote " << FLAGS_output_model_path << ".index and .data-00000-of-00001 (" << google.size() << " tensors)";
  if (FLAGS_verify) {
    stages.Begin("verifying " + FLAGS_output_model_path);
    UER_RETURN_IF_ERROR(Verify(FLAGS_output_model_path, google, uer::runtime::LoadTfCheckpoint));
  }
  return absl::OkStatus();
}

}  // namespace

namespace uer::tools {

int ConvertBertMain(int argc, char** argv, const std::string& tool) {
  struct Direction {
    const char* name;
    const char* usage;
    absl::Status (*run)();
  };
  static const Direction kDirections[] = {
      {"_from_uer_to_huggingface", "Converts a uer-cc (UER-py) BERT checkpoint to HuggingFace's format.\nUsage: ",
       ToHuggingFace},
      {"_from_uer_to_google", "Converts a uer-cc (UER-py) BERT checkpoint to a Google (TensorFlow) checkpoint.\nUsage: ",
       ToGoogle},
      {"_from_google_to_uer", "Converts a Google (TensorFlow) BERT checkpoint to uer-cc's (UER-py's) key names.\nUsage: ",
       FromGoogle},
      {"_from_huggingface_to_uer", "Converts a HuggingFace BERT checkpoint to uer-cc's (UER-py's) key names.\nUsage: ",
       FromHuggingFace},
  };
  const Direction* d = nullptr;
  for (const Direction& c : kDirections) {
    if (absl::EndsWith(tool, c.name)) d = &c;
  }
  if (d == nullptr) {
    std::cerr << "error: " << tool << " is not a BERT conversion this library knows" << std::endl;
    return 2;
  }
  // convert_bert_{text,token}_classification_*: the sequence / token classification heads by default.
  if (absl::StrContains(tool, "_text_classification_")) {
    gflags::SetCommandLineOptionWithMode("target", "classifier", gflags::SET_FLAGS_DEFAULT);
  } else if (absl::StrContains(tool, "_token_classification_")) {
    gflags::SetCommandLineOptionWithMode("target", "ner", gflags::SET_FLAGS_DEFAULT);
  }
  const std::string usage = absl::StrCat(d->usage, tool, " --input_model_path IN --output_model_path OUT");
  InitTool(usage.c_str(), &argc, &argv);
  if (FLAGS_input_model_path.empty() || FLAGS_output_model_path.empty()) {
    return ExitCode(absl::InvalidArgumentError("--input_model_path and --output_model_path are required"));
  }
  LoadPluginsFromFlags();  // the heads that --target names are the plugins' own declarations
  return ExitCode(runtime::CatchTorchErrors(d->run));
}

}  // namespace uer::tools
