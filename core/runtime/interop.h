// Other ecosystems' checkpoints: HuggingFace's safetensors files and model folders, and BERT's key
// names in HuggingFace's transformers (both ways), with config.json mapped to and from a uer-cc
// model config.
//
//   UER_ASSIGN_OR_RETURN(StateDict hf, LoadSafetensors("model.safetensors"));   // memory-mapped
//   KeyReport report;
//   UER_ASSIGN_OR_RETURN(StateDict uer, BertFromHuggingFace(hf, "bert", &report));
//   UER_RETURN_IF_ERROR(SaveSafetensors("out.safetensors", BertToHuggingFace(uer, "bert", &report).value()));
//
// LoadStateDict (checkpoint.h) reads all of these: a .safetensors file, a HuggingFace model folder
// (model.safetensors, its sharded index, or pytorch_model.bin) or a torch.save file.
#ifndef UER_CORE_RUNTIME_INTEROP_H_
#define UER_CORE_RUNTIME_INTEROP_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config.h"
#include "core/runtime/hf_config.h"
#include "core/plugin_api.h"

namespace uer::runtime {

using core::StateDict;

// A safetensors file, memory-mapped: the tensors share the mapping (no second copy) where their
// offset is aligned; float16/bfloat16 tensors become float32 (logged). Errors name the file and
// the tensor or byte offset: a git-LFS pointer, a truncated file, a header that is not JSON, an
// unknown dtype, overlapping or out-of-range offsets.
absl::StatusOr<StateDict> LoadSafetensors(const std::string& path);
// Writes `state` as safetensors (header padded to 8 bytes, __metadata__ {"format": "pt"} plus
// `metadata`), atomically.
absl::Status SaveSafetensors(const std::string& path, const StateDict& state,
                             const std::map<std::string, std::string>& metadata = {});

// The weights file of a HuggingFace model folder (model.safetensors, model.safetensors.index.json
// with its shards, or pytorch_model.bin), read.
absl::StatusOr<StateDict> LoadHuggingFaceFolder(const std::string& folder);

// What a key conversion did: each source key mapped, dropped (not used by the other side, e.g.
// HuggingFace's pooler without an nsp head) or absent (expected but not in the source).
struct KeyReport {
  std::vector<std::string> mapped, dropped, absent;
  std::vector<std::string> notes;  // tied or derived tensors, said once
  std::string Summary() const;     // "mapped 37, dropped 2 (a, b), absent 0"
};

// The heads a BERT conversion handles (`target`): "none" (BertModel: embeddings and encoder alone)
// and each target or task plugin that declares a HuggingFace head (TargetFactory /
// TaskFactory::HuggingFaceBertHead; built-in: bert = BertForPreTraining (mlm and nsp), mlm =
// BertForMaskedLM, classifier = BertForSequenceClassification (pooler -> output_layer_1,
// classifier -> output_layer_2), ner = BertForTokenClassification (classifier -> output_layer)).
// Others are refused, listing those.
//
// HuggingFace -> uer-cc's (UER-py's seed) key names. HuggingFace keys with or without the "bert."
// prefix, old LayerNorm gamma/beta names and a "module." wrapper are accepted. The segment
// embedding gains UER-py's row 0 (zeros) above HuggingFace's two token types; an MLM decoder that
// the file leaves out (tied) is the word embedding. Tensors the target needs but the file lacks are
// an error listing them.
absl::StatusOr<StateDict> BertFromHuggingFace(const StateDict& hf, const std::string& target, KeyReport* report);
// uer-cc -> HuggingFace (BertForPreTraining / BertForMaskedLM / BertModel / ... key names). Segment
// row 0 is dropped (HuggingFace has two token types), as UER-py's converter does.
absl::StatusOr<StateDict> BertToHuggingFace(const StateDict& uer, const std::string& target, KeyReport* report);
// The target whose head a HuggingFace BERT state dict holds: of the target plugins that declare a
// HuggingFace head and find all its tensors there, the one with the most ("bert": mlm and nsp,
// "mlm"), or "none".
std::string BertHeadsIn(const StateDict& hf);
// Whether a state dict has transformers' BERT names (BertModel's, with or without "bert.", or a head's).
bool IsHuggingFaceBert(const StateDict& state);
// The layer count of a BERT state dict in either naming.
int64_t BertLayersNum(const StateDict& state);

// A TensorFlow checkpoint (a V2 tensor bundle: PREFIX.index, a LevelDB-format table of
// BundleEntryProtos, and PREFIX.data-NNNNN-of-NNNNN), read and written without TensorFlow. Every
// tensor's CRC-32C is checked on reading and written on writing; float16/bfloat16 become float32.
absl::StatusOr<StateDict> LoadTfCheckpoint(const std::string& prefix);
absl::Status SaveTfCheckpoint(const std::string& prefix, const StateDict& state);
// Google's BERT variable names (bert/encoder/layer_0/attention/self/query/kernel, [in, out]) to
// HuggingFace's (bert.encoder.layer.0.attention.self.query.weight, [out, in]) and back; training
// variables (adam_m, adam_v, global_step) are dropped into the report. Google's files tie the MLM
// decoder to the word embeddings: a separate decoder is dropped going out, and said.
StateDict GoogleToHuggingFace(const StateDict& google, KeyReport* report);
StateDict HuggingFaceToGoogle(const StateDict& hf, KeyReport* report);

// The HuggingFace class that holds `target`'s heads (BertModel for none).
absl::StatusOr<std::string> HuggingFaceArchitecture(const std::string& target);

}  // namespace uer::runtime

#endif  // UER_CORE_RUNTIME_INTEROP_H_
