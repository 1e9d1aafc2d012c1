// The windows uer-cc's mrc task makes of a SQuAD JSON file, as JSON lines, for bench/mrc_parity.py:
// {"id", "span_index", "offset", "src", "seg", "start", "end"} a window, in order. --training keeps
// the windows that hold the first answer (what run_mrc trains on; the seed converts dev and test
// that way too).
//
//   bazel run //bench:mrc_windows -- --vocab_path V --input_path train.json --output_path w.jsonl --training
#include <cstdio>
#include <fstream>

#include <gflags/gflags.h>

#include "absl/strings/str_join.h"
#include "core/tokenizer.h"
#include "plugins/tasks/mrc/mrc_data.h"
#include "tools/tool_common.h"

DEFINE_string(vocab_path, "", "Vocabulary.");
DEFINE_string(input_path, "", "SQuAD JSON.");
DEFINE_string(output_path, "", "Where the JSON lines go.");
DEFINE_string(tokenizer, "char", "Tokenizer.");
DEFINE_int64(seq_length, 100, "Sequence length.");
DEFINE_int64(doc_stride, 128, "Doc stride.");
DEFINE_bool(training, true, "Keep only the windows that hold the first answer.");

int main(int argc, char** argv) {
  uer::tools::InitTool("Dumps mrc windows", &argc, &argv);
  uer::tools::LoadPluginsFromFlags();
  auto vocab = uer::core::Vocab::Load(FLAGS_vocab_path);
  if (!vocab.ok()) return uer::tools::ExitCode(vocab.status());
  uer::core::TokenizerOptions o;
  o.vocab = std::make_shared<const uer::core::Vocab>(*std::move(vocab));
  auto tokenizer = uer::core::CreateTokenizer(FLAGS_tokenizer, o);
  if (!tokenizer.ok()) return uer::tools::ExitCode(tokenizer.status());
  auto file = uer::tasks::ReadSquadJson(FLAGS_input_path, true);
  if (!file.ok()) return uer::tools::ExitCode(file.status());
  uer::tasks::MrcWindowOptions wo;
  wo.seq_length = FLAGS_seq_length;
  wo.doc_stride = FLAGS_doc_stride;
  wo.only_with_answer = FLAGS_training;
  std::ofstream out(FLAGS_output_path);
  int64_t n = 0;
  for (size_t i = 0; i < file->questions.size(); ++i) {
    for (const auto& w : uer::tasks::MakeWindows(file->questions[i], static_cast<int64_t>(i), **tokenizer, wo)) {
      out << "{\"id\": \"" << file->questions[i].id << "\", \"span_index\": " << w.span_index << ", \"offset\": " << w.offset
          << ", \"src\": [" << absl::StrJoin(w.src, ", ") << "], \"seg\": [" << absl::StrJoin(w.seg, ", ")
          << "], \"start\": " << w.start << ", \"end\": " << w.end << "}\n";
      ++n;
    }
  }
  std::printf("%ld windows of %zu questions (%ld answers moved to their text)\n", static_cast<long>(n),
              file->questions.size(), static_cast<long>(file->relocated));
  return 0;
}
