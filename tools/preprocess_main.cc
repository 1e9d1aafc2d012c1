// Builds a pre-training dataset from a corpus (UER-py's preprocess.py flags).
//
//   bazel run //tools:preprocess -- --corpus_path corpora/book_review_bert.txt
//       --vocab_path models/google_zh_vocab.txt --dataset_path dataset.uer --target bert
//       --processes_num 2
#include <atomic>
#include <csignal>

#include <gflags/gflags.h>

#include "absl/strings/str_cat.h"

#include "core/log.h"
#include "core/runtime/preprocess.h"
#include "tools/tool_common.h"

DEFINE_string(corpus_path, "", "Path of the corpus for pretraining.");
DEFINE_string(vocab_path, "", "Path of the vocabulary file.");
DEFINE_string(dataset_path, "dataset.uer", "Path of the preprocessed dataset.");
DEFINE_string(tokenizer, "bert", "Specify the tokenizer: bert, char, space.");
DEFINE_bool(do_lower_case, true, "Lower-case and strip accents (bert tokenizer).");
DEFINE_int32(processes_num, 1, "Split the whole dataset into `processes_num` parts, each built by its own worker.");
DEFINE_string(target, "bert", "The training target of the pretraining model: bert, lm, cls, mlm, bilm, nsp (or a plugin's with a data side).");
DEFINE_string(data_processor, "", "UER-py HEAD's name for --target (the data side that builds the instances); replaces it when given.");
DEFINE_int32(docs_buffer_size, 100000, "The buffer size of documents in memory, specific to targets that require negative sampling.");
DEFINE_int32(seq_length, 128, "Sequence length of instances.");
DEFINE_int32(dup_factor, 5, "Duplicate instances multiple times.");
DEFINE_double(short_seq_prob, 0.1, "Probability of truncating sequence. The larger value, the higher probability of using short (truncated) sequence.");
DEFINE_int32(seed, 7, "Random seed.");
DEFINE_bool(replace_invalid_utf8, false, "Read invalid UTF-8 (a GBK corpus) as U+FFFD instead of stopping at the line.");

namespace {
std::atomic<int> g_stop{0};
void OnSignal(int sig) { g_stop.store(sig); }
}  // namespace

int main(int argc, char** argv) {
  uer::tools::InitTool("Builds a pre-training dataset.\nUsage: preprocess --corpus_path C --vocab_path V "
                       "--dataset_path D --target NAME (bert, mlm, lm, bilm, cls, nsp or a plugin's)", &argc, &argv);
  uer::tools::LoadPluginsFromFlags();
  if (FLAGS_corpus_path.empty() || FLAGS_vocab_path.empty()) {
    return uer::tools::ExitCode(absl::InvalidArgumentError("--corpus_path and --vocab_path are required"));
  }
  uer::runtime::PreprocessOptions o;
  o.corpus_path = FLAGS_corpus_path;
  o.vocab_path = FLAGS_vocab_path;
  o.dataset_path = FLAGS_dataset_path;
  o.tokenizer = FLAGS_tokenizer;
  o.do_lower_case = FLAGS_do_lower_case;
  o.processes_num = FLAGS_processes_num;
  o.target = FLAGS_target;
  if (!FLAGS_data_processor.empty()) {
    if (uer::tools::FlagIsSet("target") && FLAGS_target != FLAGS_data_processor) {
      return uer::tools::ExitCode(absl::InvalidArgumentError(
          "--target " + FLAGS_target + " and --data_processor " + FLAGS_data_processor + " disagree: give one"));
    }
    o.target = FLAGS_data_processor;
  }
  o.docs_buffer_size = FLAGS_docs_buffer_size;
  o.seq_length = FLAGS_seq_length;
  o.dup_factor = FLAGS_dup_factor;
  o.short_seq_prob = FLAGS_short_seq_prob;
  o.seed = FLAGS_seed;
  o.replace_invalid_utf8 = FLAGS_replace_invalid_utf8;
  o.stop_signal = &g_stop;
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  auto stats = uer::runtime::RunPreprocess(o);
  if (g_stop.load() != 0 && stats.status().code() == absl::StatusCode::kCancelled) {
    UER_LOG(WARNING) << stats.status().message();
    return 128 + g_stop.load();
  }
  if (stats.ok()) {
    const auto& c = stats->stats.counts;
    auto count = [&](const char* k) { auto it = c.find(k); return it == c.end() ? int64_t{0} : it->second; };
    std::string line;
    if (count("maskable") > 0) {
      line = absl::StrCat("masked ", count("masked"), " of ", count("maskable"), " tokens (",
                          100.0 * count("masked") / count("maskable"), "%)");
    }
    if (!stats->summary.empty()) line += (line.empty() ? "" : ", ") + stats->summary;
    if (!line.empty()) UER_LOG(INFO) << line;
  }
  return uer::tools::ExitCode(stats.status());
}
