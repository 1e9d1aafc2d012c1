// The seed's model scripts around pre-training (UER-py's scripts/*.py), as library calls that the
// *_main.cc tools map their flags to:
//
//   on checkpoints alone (checkpoint_tools.cc): average_models, multi_single_convert,
//     extract_embeddings, topn_words_indep, dynamic_vocab_adapter;
//   on a model built from a config (model_tools.cc): extract_features, cloze_test,
//     topn_words_dep, generate.
//
//   AverageModelsOptions o;  o.model_paths = {"a.bin", "b.bin"};  o.output_model_path = "avg.bin";
//   UER_RETURN_IF_ERROR(AverageModels(o, std::cout));
//
// Errors name the file (and line or key); outputs are written atomically.
#ifndef UER_CORE_RUNTIME_APPS_TOOLBOX_H_
#define UER_CORE_RUNTIME_APPS_TOOLBOX_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/config.h"
#include "core/runtime/file_io.h"
#include "core/runtime/model/loaded_model.h"

namespace at { class Tensor; }
namespace torch { using at::Tensor; }

namespace uer::apps {

// Python's repr() of a float (what str(float(x)) prints): the shortest digits that read back as
// `v`, fixed notation for exponents -4 .. 15 ("0.0001", "1.0", "123.5"), otherwise scientific
// with at least two exponent digits ("1e-05", "2.4302555175381713e-05", "1e+16").
std::string PythonFloatRepr(double v);

// The first whitespace-separated field of a line as Python's str.split() finds it ("" for a blank
// line): how UER-py's scripts read words from their files.
std::string FirstPythonField(std::string_view line);
// The first field of each line of a file, with its 1-based line number.
absl::Status ForEachWord(const std::string& path, const std::function<absl::Status(std::string, int64_t)>& fn);

// Cosine similarity of a [1, dim] row with each row of [n, dim], computed as PyTorch 1.13 (the
// seed's scripts' torch) does: each row divided by its norm, then the products summed.
torch::Tensor Cosine(const torch::Tensor& a, const torch::Tensor& b);

// A text output through the runtime's one atomic writer (runtime::OutputFile: a temporary file beside
// `path`, renamed over it by Commit(); destroyed uncommitted, the temporary file is removed and
// `path` is untouched), with a status for each write.
class AtomicOutput {
 public:
  static absl::StatusOr<AtomicOutput> Open(const std::string& path);
  absl::Status Write(std::string_view data);
  absl::Status Commit();

 private:
  AtomicOutput(std::string path, std::unique_ptr<runtime::OutputFile> out) : path_(std::move(path)), out_(std::move(out)) {}
  std::string path_;
  std::unique_ptr<runtime::OutputFile> out_;
};

// ---- On checkpoints ---------------------------------------------------------------------------

// average_models: the element-wise mean of checkpoints (any format LoadStateDict reads), computed
// as the seed does (a running mean in float32: avg = (avg * i + m_i) / (i + 1)), keys in the first
// file's order. Keys, shapes and dtypes must agree (the first difference is named); integer
// tensors must be equal and are copied. Written as torch.save, or safetensors for a .safetensors
// output.
struct AverageModelsOptions {
  std::vector<std::string> model_paths;
  std::string output_model_path;
};
absl::Status AverageModels(const AverageModelsOptions& options, std::ostream& out);

// multi_single_convert: strips (delete) or adds the "module." prefix of nn.DataParallel / DDP
// checkpoints, printing the seed's sentences; a checkpoint already in the asked form is left alone.
struct ModulePrefixOptions {
  std::string input_model_path, output_model_path;
  bool delete_module_prefix = false, add_module_prefix = false;
};
absl::Status ConvertModulePrefix(const ModulePrefixOptions& options, std::ostream& out);

// extract_embeddings: the word embedding table as word2vec text, byte for byte as the seed's
// extract_embedding.py writes it ("rows dims", then each vocabulary word and its floats).
struct ExtractEmbeddingsOptions {
  std::string vocab_path, load_model_path, word_embedding_path;
};
absl::Status ExtractEmbeddings(const ExtractEmbeddingsOptions& options, std::ostream& out);

// topn_words_indep: for the first word of each line of `target_words_path`, the `topn` candidates
// whose word embeddings are nearest by cosine (the nearest, the word itself, left out), printed
// as the seed prints them.
struct TopnWordsIndepOptions {
  std::string vocab_path, cand_vocab_path, load_model_path, target_words_path;
  int topn = 20;
};
absl::Status TopnWordsIndep(const TopnWordsIndepOptions& options, std::ostream& out);

// dynamic_vocab_adapter: a checkpoint moved to a new vocabulary. Every tensor indexed by the
// vocabulary (the word embedding and the output layers over it: mlm, lm, bilm, s2s) gets a row
// for each new word: the old row when the word was in the old vocabulary, else drawn from
// N(0, 0.02) (seeded), biases included, as the seed draws them.
struct VocabAdapterOptions {
  std::string old_model_path, old_vocab_path, new_vocab_path, new_model_path;
  uint64_t seed = 7;
};
absl::Status AdaptVocab(const VocabAdapterOptions& options, std::ostream& out);

// ---- On a model ---------------------------------------------------------------------------------

// What every model tool reads: the checkpoint (any format; UER-py's, HuggingFace's), the
// vocabulary, the config (its tokenizer field), and for subword models the sub vocabulary.
using runtime::ModelSource;

// extract_features: the encoder's output for each input line ([CLS] + its tokens, cut or padded
// to seq_length; lines without tokens skipped), written with torch.save as one tensor: [N, L, H]
// with pooling "none" (the seed's), else [N, H]: "first" ([CLS]), "last" (the last token),
// "mean" / "max" over the tokens.
struct ExtractFeaturesOptions {
  ModelSource model;
  std::string input_path, output_path;
  int64_t seq_length = 128, batch_size = 8;
  std::string pooling = "none";
};
absl::Status ExtractFeatures(const ExtractFeaturesOptions& options, std::ostream& out);

// cloze_test: masks one token of each line (the position drawn as the seed's random.randint, from
// `seed`) and writes the masked-LM head's top-n predictions there, four lines an input.
struct ClozeTestOptions {
  ModelSource model;
  std::string input_path, output_path;
  int64_t seq_length = 100, batch_size = 64;
  int topn = 10;
  uint64_t seed = 7;
};
absl::Status ClozeTest(const ClozeTestOptions& options, std::ostream& out);

// topn_words_dep: for each "sentence<TAB>word" line, the candidates that, put in the word's place,
// give the encoder outputs there nearest (cosine) to the word's own.
struct TopnWordsDepOptions {
  ModelSource model;
  std::string sent_path, cand_vocab_path, output_path;  // output_path empty: `out`
  int64_t seq_length = 128, batch_size = 64;
  int topn = 20;
};
absl::Status TopnWordsDep(const TopnWordsDepOptions& options, std::ostream& out);

// generate: continues each input line with a model whose target predicts the next token (lm),
// until seq_length tokens or [SEP]: greedy, or sampled with temperature, top-k and top-p from a
// seeded generator. An encoder that decodes incrementally (gpt) keeps its keys and values, so a
// token costs one position's pass; `no_cache` recomputes the whole prefix each step.
struct GenerateOptions {
  ModelSource model;
  std::string input_path, output_path;
  int64_t seq_length = 128;
  int top_k = 0;
  double top_p = 0.6, temperature = 1.0;
  bool greedy = false, no_cache = false;
  bool seed_gelu_bug = false;  // the seed's gelu on the logits, for parity with it
  uint64_t seed = 7;
};
struct GenerateStats {
  int64_t lines = 0, new_tokens = 0;
  double seconds = 0;
};
absl::StatusOr<GenerateStats> Generate(const GenerateOptions& options, std::ostream& out);

}  // namespace uer::apps

#endif  // UER_CORE_RUNTIME_APPS_TOOLBOX_H_
