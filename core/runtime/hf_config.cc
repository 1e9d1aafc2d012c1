#include "core/runtime/hf_config.h"

#include <climits>
#include <cstdint>
#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace uer::runtime {

using nlohmann::json;

namespace {

absl::StatusOr<core::v1::ModelConfig> ReadConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return absl::InvalidArgumentError(absl::StrCat(path, " is not a JSON object"));
  const std::string type = j.value("model_type", "bert");
  if (type != "bert") {
    return absl::InvalidArgumentError(absl::StrCat(path, ": model_type \"", type, "\"; uer-cc converts BERT models"));
  }
  const std::string act = j.value("hidden_act", "gelu");
  if (act != "gelu" && act != "gelu_new" && act != "gelu_pytorch_tanh" && act != "gelu_fast") {
    return absl::UnimplementedError(absl::StrCat(path, ": hidden_act \"", act, "\" is not built in uer-cc yet "
                                                 "(gelu and its tanh approximations are)"));
  }
  // A size: an integer in [0, 2^31) (else the whole file is refused, naming the key).
  auto get = [&](const char* key, int64_t fallback) -> int64_t {
    if (!j.contains(key) || j[key].is_null()) return fallback;
    const json& v = j[key];
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX) {
      throw std::invalid_argument(absl::StrCat("\"", key, "\": ", v.dump(), " is not a size"));
    }
    return v.get<int64_t>();
  };
  if (get("type_vocab_size", 2) != 2) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": type_vocab_size ", get("type_vocab_size", 2),
                                                   "; uer-cc's segment embedding takes 2 token types"));
  }
  core::v1::ModelConfig c;
  c.set_embedding("bert");
  c.set_encoder("bert");
  c.set_tokenizer("bert_hf");
  c.set_hidden_act(act);  // transformers' BertTokenizer flavour
  c.set_hidden_size(static_cast<int32_t>(get("hidden_size", 768)));
  c.set_emb_size(c.hidden_size());
  c.set_feedforward_size(static_cast<int32_t>(get("intermediate_size", 3072)));
  c.set_heads_num(static_cast<int32_t>(get("num_attention_heads", 12)));
  c.set_layers_num(static_cast<int32_t>(get("num_hidden_layers", 12)));
  c.set_max_seq_length(static_cast<int32_t>(get("max_position_embeddings", 512)));
  c.set_dropout(j.value("hidden_dropout_prob", 0.1f));
  c.set_layernorm(core::v1::TORCH_VAR);
  c.set_layernorm_eps(j.value("layer_norm_eps", 1e-12f));
  std::string arch;
  if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty()) {
    arch = j["architectures"][0].get<std::string>();
  }
  if (arch == "BertForMaskedLM") c.set_target("mlm");
  if (j.contains("id2label") && j["id2label"].is_object()) c.set_labels_num(static_cast<int32_t>(j["id2label"].size()));
  return c;
}

}  // namespace

absl::StatusOr<core::v1::ModelConfig> ConfigFromHuggingFace(const std::string& path) {
  // A value of the wrong type (a number where a name belongs) or out of range is refused with the
  // file named, never an abort (found by checkpoint_fuzz).
  try {
    return ReadConfig(path);
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", e.what()));
  } catch (const std::invalid_argument& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", e.what()));
  }
}

bool IsHuggingFaceConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return false;
  const json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return false;
  for (const char* key : {"model_type", "architectures", "num_hidden_layers", "num_attention_heads"}) {
    if (j.contains(key)) return true;
  }
  return false;
}

std::string ConfigToHuggingFace(const core::v1::ModelConfig& c, int64_t vocab_size, const std::string& architecture,
                                bool tie_word_embeddings) {
  json j = {{"architectures", {architecture}},
            {"model_type", "bert"},
            {"vocab_size", vocab_size},
            {"hidden_size", c.hidden_size()},
            {"num_hidden_layers", c.layers_num()},
            {"num_attention_heads", c.heads_num()},
            {"intermediate_size", c.feedforward_size()},
            {"hidden_act", c.hidden_act()},
            {"hidden_dropout_prob", c.dropout()},
            {"attention_probs_dropout_prob", c.dropout()},
            {"max_position_embeddings", c.max_seq_length()},
            {"type_vocab_size", 2},
            {"initializer_range", 0.02},
            {"layer_norm_eps", c.layernorm_eps()},
            {"pad_token_id", 0},
            {"tie_word_embeddings", tie_word_embeddings}};
  if (architecture == "BertForSequenceClassification" || architecture == "BertForTokenClassification") {
    json id2label = json::object(), label2id = json::object();
    for (int i = 0; i < c.labels_num(); ++i) {
      id2label[std::to_string(i)] = absl::StrCat("LABEL_", i);
      label2id[absl::StrCat("LABEL_", i)] = i;
    }
    j["id2label"] = id2label;
    j["label2id"] = label2id;
  }
  return j.dump(2) + "\n";
}

absl::StatusOr<core::v1::ModelConfig> ReadModelConfigFile(const std::string& path) {
  if (IsHuggingFaceConfig(path)) return ConfigFromHuggingFace(path);
  core::v1::ModelConfig config;
  UER_RETURN_IF_ERROR(core::MergeModelConfigFromFile(path, &config));
  // The file alone first: an error is the file's only when the file holds it.
  absl::Status st = core::ValidateModelConfig(config);
  if (!st.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", st.message()));
  return config;
}

}  // namespace uer::runtime
