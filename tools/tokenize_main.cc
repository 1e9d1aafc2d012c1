// Tokenizes a text file: one line of space-separated token ids (or tokens) for each input line.
//
//   bazel run //tools:tokenize -- --vocab_path models/google_zh_vocab.txt --tokenizer bert
//       --input_path in.txt --output_path out.txt [--output_tokens]
#include <gflags/gflags.h>

#include "tools/tool_common.h"
#include "core/runtime/apps/vocab_tools.h"

DEFINE_string(vocab_path, "", "Path of the vocabulary file.");
DEFINE_string(tokenizer, "bert", "Specify the tokenizer: bert, char, space (or a plugin's).");
DEFINE_string(input_path, "", "Text to tokenize, one text a line.");
DEFINE_string(output_path, "", "Where the ids (or tokens) go, one line per input line.");
DEFINE_bool(do_lower_case, true, "Lower-case and strip accents (bert tokenizer).");
DEFINE_bool(output_tokens, false, "Write the tokens instead of their ids.");
DEFINE_bool(replace_invalid_utf8, false, "Read invalid UTF-8 as U+FFFD instead of stopping.");

int main(int argc, char** argv) {
  uer::tools::InitTool("Tokenizes a text file.\nUsage: tokenize --vocab_path V --input_path IN --output_path OUT",
                       &argc, &argv);
  uer::tools::LoadPluginsFromFlags();
  uer::apps::TokenizeOptions o;
  o.vocab_path = FLAGS_vocab_path;
  o.tokenizer = FLAGS_tokenizer;
  o.input_path = FLAGS_input_path;
  o.output_path = FLAGS_output_path;
  o.do_lower_case = FLAGS_do_lower_case;
  o.output_tokens = FLAGS_output_tokens;
  o.replace_invalid_utf8 = FLAGS_replace_invalid_utf8;
  for (const char* f : {"vocab_path", "input_path", "output_path"}) {
    if (gflags::GetCommandLineFlagInfoOrDie(f).current_value.empty()) {
      return uer::tools::ExitCode(absl::InvalidArgumentError(std::string("--") + f + " is required"));
    }
  }
  return uer::tools::ExitCode(uer::apps::RunTokenize(o));
}
