// Logic of the vocabulary and tokenization tools (build_vocab, diff_vocab, tokenize). The *_main.cc
// files only map flags to these options.
//
//   TokenizeOptions o{.vocab_path = "vocab.txt", .tokenizer = "bert", .input_path = "in.txt",
//                     .output_path = "out.txt"};
//   absl::Status s = RunTokenize(o);
#ifndef UER_CORE_RUNTIME_APPS_VOCAB_TOOLS_H_
#define UER_CORE_RUNTIME_APPS_VOCAB_TOOLS_H_

#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace uer::apps {

// Reads a text file a line at a time the way Python's text mode does ("\n", "\r\n" and "\r" end a
// line; the line is passed without its ending). `fn` gets the line and its 1-based number; an error
// it returns stops the reading. Lines of any length are fine.
absl::Status ForEachLine(const std::string& path,
                         const std::function<absl::Status(std::string_view line, int64_t number)>& fn);


struct TokenizeOptions {
  std::string vocab_path;
  std::string tokenizer = "bert";
  std::string input_path;
  std::string output_path;
  bool do_lower_case = true;
  bool output_tokens = false;  // write tokens instead of ids
  // A line that is not valid UTF-8 is an error naming the file and line; with this, its invalid
  // bytes are read as U+FFFD instead (as Python's errors="replace").
  bool replace_invalid_utf8 = false;
};
absl::Status RunTokenize(const TokenizeOptions& options);

struct BuildVocabOptions {
  std::string corpus_path;
  std::string vocab_path;
  int workers_num = 1;
  int min_count = 1;
  std::string tokenizer = "space";
  // One token a line, put first; empty: UER-py's reserved vocabulary ([PAD], [unused1..99], [UNK],
  // [CLS], [SEP], [MASK]).
  std::string reserved_vocab_path;
  bool replace_invalid_utf8 = false;
};
absl::Status RunBuildVocab(const BuildVocabOptions& options);
// The tokens of the built vocabulary, in order (what RunBuildVocab writes).
absl::StatusOr<std::vector<std::string>> BuildVocab(const BuildVocabOptions& options);
std::vector<std::string> UerReservedTokens();

// Prints UER-py's diff_vocab report to `out`.
absl::Status RunDiffVocab(const std::string& vocab_1, const std::string& vocab_2, std::ostream& out);

}  // namespace uer::apps

#endif  // UER_CORE_RUNTIME_APPS_VOCAB_TOOLS_H_
