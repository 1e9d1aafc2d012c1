// UER-py's scripts/convert_bert_from_{huggingface,google}_to_uer.py and convert_bert_from_uer_to_
// {huggingface,google}.py, and its newer convert_bert_{text,token}_classification_* (--target
// defaulting to classifier / ner): the conversions, as library calls; tools/convert_bert_main.cc maps
// the flags of the eight tools to ConvertBertOptions. Google's side is a TensorFlow checkpoint prefix
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
#include "core/runtime/apps/convert_bert.h"

#include <filesystem>
#include <fstream>
#include <map>

#include <torch/types.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/log.h"
#include "core/registry.h"
#include "core/runtime/checkpoint.h"
#include "core/runtime/dataset.h"
#include "core/runtime/file_io.h"
#include "core/runtime/hf_config.h"
#include "core/runtime/interop.h"
#include "core/runtime/progress.h"
#include "core/runtime/trainer.h"
#include "core/status_macros.h"

namespace uer::apps {
namespace {

namespace fs = std::filesystem;
using uer::core::StateDict;

// The conversion's progress on a terminal, stage by stage (read, map, write, verify): a large
// model's reading and writing take seconds each. Nothing is drawn in a pipe.
class Stages {
 public:
  explicit Stages(const ConvertBertOptions& o)
      : progress_(o.progress_name, o.verify ? 4 : 3, uer::runtime::Progress::Unit::kItems, "stage") {}
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

absl::Status CheckLayers(const ConvertBertOptions& o, const StateDict& state) {
  const int64_t layers = uer::runtime::BertLayersNum(state);
  if (o.layers_num > 0 && o.layers_num != layers) {
    return absl::InvalidArgumentError(absl::StrCat("--layers_num ", o.layers_num, " but ", o.input_model_path,
                                                   " has ", layers, " layers"));
  }
  return absl::OkStatus();
}

// From transformers' names (`hf`) to uer-cc's: mapped, written, verified.
absl::Status WriteAsUer(const ConvertBertOptions& o, Stages& stages, const StateDict& hf, uer::runtime::KeyReport* report) {
  UER_RETURN_IF_ERROR(CheckLayers(o, hf));
  absl::StatusOr<StateDict> uer = uer::runtime::BertFromHuggingFace(hf, o.target, report);
  UER_LOG(INFO) << "keys: " << report->Summary();
  if (!uer.ok()) return absl::Status(uer.status().code(), absl::StrCat(o.input_model_path, ": ", uer.status().message()));
  stages.Begin("writing " + o.output_model_path);
  UER_RETURN_IF_ERROR(uer::runtime::SaveStateDict(o.output_model_path, *uer));
  UER_LOG(INFO) << "wrote " << o.output_model_path << " (" << uer->size() << " tensors, UER-py's key names)";
  if (!o.verify) return absl::OkStatus();
  stages.Begin("verifying " + o.output_model_path);
  return Verify(o.output_model_path, *uer);
}

// A HuggingFace folder's config.json as a model config: written to --output_config_path, or shown.
absl::Status ConvertConfig(const ConvertBertOptions& o) {
  const fs::path folder = fs::is_directory(o.input_model_path) ? fs::path(o.input_model_path)
                                                               : fs::path(o.input_model_path).parent_path();
  if (!fs::exists(folder / "config.json")) return absl::OkStatus();
  UER_ASSIGN_OR_RETURN(uer::core::v1::ModelConfig c, uer::runtime::ConfigFromHuggingFace((folder / "config.json").string()));
  // A pre-training head (not a task's, nor none) is the config's target.
  if (uer::core::registry::IsRegistered(uer::core::PluginKind::kTarget, o.target)) c.set_target(o.target);
  if (o.output_config_path.empty()) {
    UER_LOG(INFO) << "the model's config.json gives (use it with --config_path; --output_config_path writes it):\n"
                  << uer::core::ModelConfigToText(c);
    return absl::OkStatus();
  }
  UER_RETURN_IF_ERROR(uer::runtime::WriteFileAtomically(o.output_config_path, uer::core::ModelConfigToText(c)));
  UER_LOG(INFO) << "wrote " << o.output_config_path << " (the model config, HuggingFace's LayerNorm)";
  return absl::OkStatus();
}

absl::Status FromHuggingFace(const ConvertBertOptions& o) {
  Stages stages(o);
  stages.Begin("reading " + o.input_model_path);
  UER_ASSIGN_OR_RETURN(StateDict hf, uer::runtime::LoadStateDict(o.input_model_path));
  stages.Begin("mapping keys");
  uer::runtime::KeyReport report;
  UER_RETURN_IF_ERROR(WriteAsUer(o, stages, hf, &report));
  return ConvertConfig(o);
}

// The uer-cc checkpoint at input_model_path (`uer`) under transformers' names; the report is
// logged here when the mapping fails, by the caller otherwise.
absl::StatusOr<StateDict> ReadAsHuggingFace(const ConvertBertOptions& o, Stages& stages, StateDict* uer,
                                            uer::runtime::KeyReport* report) {
  stages.Begin("reading " + o.input_model_path);
  UER_ASSIGN_OR_RETURN(*uer, uer::runtime::LoadStateDict(o.input_model_path));
  UER_RETURN_IF_ERROR(CheckLayers(o, *uer));
  stages.Begin("mapping keys");
  absl::StatusOr<StateDict> hf = uer::runtime::BertToHuggingFace(*uer, o.target, report);
  if (!hf.ok()) {
    UER_LOG(INFO) << "keys: " << report->Summary();
    return absl::Status(hf.status().code(), absl::StrCat(o.input_model_path, ": ", hf.status().message()));
  }
  return hf;
}

absl::Status ToHuggingFace(const ConvertBertOptions& o) {
  Stages stages(o);
  StateDict uer;
  uer::runtime::KeyReport report;
  absl::StatusOr<StateDict> hf = ReadAsHuggingFace(o, stages, &uer, &report);
  if (!hf.ok()) return hf.status();
  UER_LOG(INFO) << "keys: " << report.Summary();
  UER_ASSIGN_OR_RETURN(const std::string architecture, uer::runtime::HuggingFaceArchitecture(o.target));
  const std::string out = o.output_model_path;
  stages.Begin("writing " + out);
  std::string weights = out;
  if (absl::EndsWith(out, ".bin")) {
    UER_RETURN_IF_ERROR(uer::runtime::SaveStateDict(out, *hf));
  } else if (absl::EndsWith(out, ".safetensors")) {
    UER_RETURN_IF_ERROR(uer::runtime::SaveSafetensors(out, *hf));
  } else {
    // A model folder that transformers' from_pretrained reads.
    UER_ASSIGN_OR_RETURN(uer::core::v1::ModelConfig c, o.resolve_config());
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
                                                     o.input_model_path, " has ", h->second.size(1),
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
    if (!o.vocab_path.empty()) {
      std::ifstream in(o.vocab_path, std::ios::binary);
      if (!in) return absl::NotFoundError(absl::StrCat("cannot open vocabulary ", o.vocab_path));
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      UER_RETURN_IF_ERROR(uer::runtime::WriteFileAtomically((fs::path(out) / "vocab.txt").string(), text));
    }
  }
  UER_LOG(INFO) << "wrote " << weights << " (" << hf->size() << " tensors, HuggingFace's "
            << architecture << " key names)";
  if (o.verify) {
    stages.Begin("verifying " + weights);
    UER_RETURN_IF_ERROR(Verify(weights, *hf));
  }
  return absl::OkStatus();
}

// Google's TensorFlow checkpoints, through HuggingFace's names.
absl::Status FromGoogle(const ConvertBertOptions& o) {
  Stages stages(o);
  stages.Begin("reading " + o.input_model_path);
  UER_ASSIGN_OR_RETURN(StateDict google, uer::runtime::LoadTfCheckpoint(o.input_model_path));
  stages.Begin("mapping keys");
  uer::runtime::KeyReport report;
  return WriteAsUer(o, stages, uer::runtime::GoogleToHuggingFace(google, &report), &report);
}

absl::Status ToGoogle(const ConvertBertOptions& o) {
  Stages stages(o);
  StateDict uer;
  uer::runtime::KeyReport report;
  UER_ASSIGN_OR_RETURN(const StateDict hf, ReadAsHuggingFace(o, stages, &uer, &report));
  StateDict google = uer::runtime::HuggingFaceToGoogle(hf, &report);
  UER_LOG(INFO) << "keys: " << report.Summary();
  stages.Begin("writing " + o.output_model_path);
  UER_RETURN_IF_ERROR(uer::runtime::SaveTfCheckpoint(o.output_model_path, google));
  UER_LOG(INFO) << "wrote " << o.output_model_path << ".index and .data-00000-of-00001 (" << google.size() << " tensors)";
  if (o.verify) {
    stages.Begin("verifying " + o.output_model_path);
    UER_RETURN_IF_ERROR(Verify(o.output_model_path, google, uer::runtime::LoadTfCheckpoint));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<BertConversion> BertConversionNamed(const std::string& tool) {
  static const struct {
    const char* suffix;
    BertConversion::Direction direction;
    const char* usage;
  } kDirections[] = {
      {"_from_uer_to_huggingface", BertConversion::kToHuggingFace,
       "Converts a uer-cc (UER-py) BERT checkpoint to HuggingFace's format."},
      {"_from_uer_to_google", BertConversion::kToGoogle,
       "Converts a uer-cc (UER-py) BERT checkpoint to a Google (TensorFlow) checkpoint."},
      {"_from_google_to_uer", BertConversion::kFromGoogle,
       "Converts a Google (TensorFlow) BERT checkpoint to uer-cc's (UER-py's) key names."},
      {"_from_huggingface_to_uer", BertConversion::kFromHuggingFace,
       "Converts a HuggingFace BERT checkpoint to uer-cc's (UER-py's) key names."},
  };
  for (const auto& d : kDirections) {
    if (!absl::EndsWith(tool, d.suffix)) continue;
    BertConversion c;
    c.direction = d.direction;
    c.usage = d.usage;
    // convert_bert_{text,token}_classification_*: the sequence / token classification heads.
    if (absl::StrContains(tool, "_text_classification_")) c.default_target = "classifier";
    if (absl::StrContains(tool, "_token_classification_")) c.default_target = "ner";
    return c;
  }
  return absl::InvalidArgumentError(absl::StrCat(tool, " is not a BERT conversion this library knows"));
}

absl::Status ConvertBert(BertConversion::Direction direction, const ConvertBertOptions& o) {
  if (o.input_model_path.empty() || o.output_model_path.empty()) {
    return absl::InvalidArgumentError("--input_model_path and --output_model_path are required");
  }
  return runtime::CatchTorchErrors([&] {
    switch (direction) {
      case BertConversion::kFromHuggingFace: return FromHuggingFace(o);
      case BertConversion::kToHuggingFace: return ToHuggingFace(o);
      case BertConversion::kFromGoogle: return FromGoogle(o);
      case BertConversion::kToGoogle: return ToGoogle(o);
    }
    return absl::InternalError("unknown conversion");
  });
}

}  // namespace uer::apps
