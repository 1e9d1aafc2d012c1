// Continues each input line with a language model (UER-py's scripts/generate.py; HEAD's
// generate_lm.py): greedy or sampled (temperature, top-k, top-p, --seed), up to --seq_length tokens
// or [SEP]. A gpt encoder keeps its keys and values between tokens (--no_cache recomputes the
// prefix). Unlike the seed, the logits are not passed through gelu (--seed_gelu_bug restores it).
//
//   bazel run //tools:generate -- --pretrained_model_path gpt.bin --vocab_path vocab.txt
//       --config_path models/gpt/tiny.pbtxt --input_path prompts.txt --output_path out.txt --greedy
#include <iostream>

#include <gflags/gflags.h>

#include "tools/model_tool_flags.h"
#include "tools/tool_common.h"
#include "core/runtime/apps/toolbox.h"

DEFINE_string(input_path, "", "Prompts, one a line.");
DEFINE_string(test_path, "", "Same as --input_path (UER-py's newer name).");
DEFINE_string(output_path, "", "Where the continuations go: each prompt, then prompt and continuation.");
DEFINE_string(prediction_path, "", "Same as --output_path (UER-py's newer name).");
DEFINE_int32(seq_length, 128, "Length (in tokens) of prompt and continuation together.");
DEFINE_string(tokenizer, "bert", "Tokenizer: bert, char, space.");
DEFINE_int32(top_k, 0, "Sample among the k most probable tokens (0: all).");
DEFINE_double(top_p, 0.6, "Sample among the most probable tokens whose probabilities reach p (0: all).");
DEFINE_double(temperature, 1.0, "Divides the logits before sampling.");
DEFINE_bool(greedy, false, "Take the most probable token at each step (no sampling).");
DEFINE_bool(no_cache, false, "Recompute the whole prefix at each token, even for a gpt encoder.");
DEFINE_bool(seed_gelu_bug, false, "Apply gelu to the logits as UER-py's seed script does (for parity only).");
DEFINE_uint64(seed, 7, "Seed of the sampling.");

int main(int argc, char** argv) {
  uer::tools::InitTool("Generates text with a language model.\nUsage: generate --pretrained_model_path M --vocab_path V "
                       "[--config_path C] --input_path IN --output_path OUT", &argc, &argv);
  uer::tools::LoadPluginsFromFlags();
  auto source = uer::tools::ModelSourceFromFlags("bert");
  if (!source.ok()) return uer::tools::ExitCode(source.status());
  uer::apps::GenerateOptions o;
  o.model = *source;
  o.input_path = uer::tools::FlagOrAlias("input_path", "test_path");
  o.output_path = uer::tools::FlagOrAlias("output_path", "prediction_path");
  o.seq_length = FLAGS_seq_length;
  o.top_k = FLAGS_top_k;
  o.top_p = FLAGS_top_p;
  o.temperature = FLAGS_temperature;
  o.greedy = FLAGS_greedy;
  o.no_cache = FLAGS_no_cache;
  o.seed_gelu_bug = FLAGS_seed_gelu_bug;
  o.seed = FLAGS_seed;
  if (o.input_path.empty() || o.output_path.empty()) {
    return uer::tools::ExitCode(absl::InvalidArgumentError("--input_path and --output_path are required"));
  }
  return uer::tools::ExitCode(uer::apps::Generate(o, std::cout).status());
}
