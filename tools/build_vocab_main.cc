// Builds a vocabulary from a corpus: UER-py's reserved tokens first, then the tokens by count.
//
//   bazel run //tools:build_vocab -- --corpus_path corpus.txt --vocab_path vocab.txt
//       --tokenizer char --workers_num 2 --min_count 1
#include <gflags/gflags.h>

#include "tools/tool_common.h"
#include "core/runtime/apps/vocab_tools.h"

DEFINE_string(corpus_path, "", "Path of the corpus, one text a line.");
DEFINE_string(vocab_path, "", "Where the vocabulary is written.");
DEFINE_int32(workers_num, 1, "The number of processes to build vocabulary.");
DEFINE_int32(min_count, 1, "The minimum count of words retained in the vocabulary.");
DEFINE_string(tokenizer, "space", "Specify the tokenizer: char segments sentences into characters, "
                                  "space segments sentences into words according to space.");
DEFINE_bool(replace_invalid_utf8, false, "Read invalid UTF-8 as U+FFFD instead of stopping.");
DEFINE_string(reserved_vocab_path, "", "Tokens put first (default: UER-py's reserved vocabulary).");

int main(int argc, char** argv) {
  uer::tools::InitTool("Builds a vocabulary.\nUsage: build_vocab --corpus_path C --vocab_path V [--tokenizer char]",
                       &argc, &argv);
  uer::tools::LoadPluginsFromFlags();
  if (FLAGS_corpus_path.empty() || FLAGS_vocab_path.empty()) {
    return uer::tools::ExitCode(absl::InvalidArgumentError("--corpus_path and --vocab_path are required"));
  }
  uer::apps::BuildVocabOptions o;
  o.corpus_path = FLAGS_corpus_path;
  o.vocab_path = FLAGS_vocab_path;
  o.workers_num = FLAGS_workers_num;
  o.min_count = FLAGS_min_count;
  o.tokenizer = FLAGS_tokenizer;
  o.reserved_vocab_path = FLAGS_reserved_vocab_path;
  o.replace_invalid_utf8 = FLAGS_replace_invalid_utf8;
  return uer::tools::ExitCode(uer::apps::RunBuildVocab(o));
}
