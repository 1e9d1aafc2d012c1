// Tokens per second of a tokenizer plugin on one thread (tokenize + ids), for bench/tokenizer.sh.
//
//   bazel run -c opt //bench:tokenizer_bench -- --vocab_path V --input_path TEXT [--tokenizer bert]
#include <chrono>
#include <cstdio>

#include <gflags/gflags.h>

#include "core/runtime/loader.h"
#include "core/tokenizer.h"
#include "tools/tool_common.h"
#include "core/runtime/apps/vocab_tools.h"

DEFINE_string(vocab_path, "", "Vocabulary.");
DEFINE_string(input_path, "", "Text, one a line.");
DEFINE_string(tokenizer, "bert", "Tokenizer.");
DEFINE_int32(repeat, 3, "Passes over the text; the fastest is reported.");

int main(int argc, char** argv) {
  uer::tools::InitTool("Tokenizer benchmark", &argc, &argv);
  uer::tools::LoadPluginsFromFlags();
  auto vocab = uer::core::Vocab::Load(FLAGS_vocab_path);
  if (!vocab.ok()) return uer::tools::ExitCode(vocab.status());
  std::vector<std::string> lines;
  absl::Status st = uer::apps::ForEachLine(FLAGS_input_path, [&](std::string_view l, int64_t) {
    lines.emplace_back(l);
    return absl::OkStatus();
  });
  if (!st.ok()) return uer::tools::ExitCode(st);
  uer::core::TokenizerOptions o;
  o.vocab = std::make_shared<const uer::core::Vocab>(*std::move(vocab));
  auto tokenizer = uer::core::CreateTokenizer(FLAGS_tokenizer, o);
  if (!tokenizer.ok()) return uer::tools::ExitCode(tokenizer.status());
  double best = 1e30;
  int64_t tokens = 0, checksum = 0;
  for (int r = 0; r < FLAGS_repeat; ++r) {
    tokens = 0;
    checksum = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (const std::string& l : lines) {
      std::vector<int64_t> ids = (*tokenizer)->TokenizeToIds(l);
      tokens += static_cast<int64_t>(ids.size());
      if (!ids.empty()) checksum += ids[0];
    }
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::printf("uer-cc %s tokenizer: %zu lines, %ld tokens, %.3f s, %.0f tokens/s (checksum %ld)\n",
              FLAGS_tokenizer.c_str(), lines.size(), static_cast<long>(tokens), best, tokens / best,
              static_cast<long>(checksum));
  return 0;
}
