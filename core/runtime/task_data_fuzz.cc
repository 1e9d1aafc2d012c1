// Fuzz harness: fine-tuning files (TSV with a header for classifier and ner, CMRC2018's JSON for mrc),
// read by the task plugins as run_classifier, run_ner and run_mrc read them: the training file's
// labels first, then the file as tensors. The first byte chooses the task.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/plugin_api.h"
#include "core/runtime/loader.h"
#include "core/tokenizer.h"
#include "testing/fuzz/fuzz_util.h"

namespace {

struct Task {
  std::unique_ptr<uer::core::TaskData> data;
  std::string file;
};

std::shared_ptr<const uer::core::Vocab> vocab;
std::unique_ptr<uer::core::Tokenizer> tokenizer;

std::unique_ptr<uer::core::TaskData> NewTask(const std::string& name) {
  auto factory = uer::core::FindFactory<uer::core::TaskFactory>(name);
  if (!factory.ok()) std::abort();
  uer::core::TaskDataContext ctx;
  ctx.vocab = vocab;
  ctx.tokenizer = tokenizer.get();
  auto task = (*factory)->CreateData(ctx);
  if (!task.ok()) std::abort();
  return std::move(task).value();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  uer::runtime::EnableLazyBuiltinPlugins();
  std::vector<std::string> tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  for (const char* t : {"a", "b", "c", "中", "文", "1", "2", "##a", "##b"}) tokens.push_back(t);
  vocab = std::make_shared<const uer::core::Vocab>(*uer::core::Vocab::FromTokens(tokens, "fuzz_vocab"));
  uer::core::TokenizerOptions o;
  o.vocab = vocab;
  tokenizer = std::move(uer::core::CreateTokenizer("bert", o)).value();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* const kTasks[] = {"classifier", "ner", "mrc"};
  const std::string name = kTasks[data[0] % 3];
  const std::string path = uer::fuzz::WriteInput(data + 1, size - 1, name + ".data");
  std::unique_ptr<uer::core::TaskData> task = NewTask(name);
  uer::core::TaskReadOptions read;
  read.seq_length = 32;
  read.skip_bad_lines = (data[0] & 8) != 0;
  read.replace_invalid_utf8 = (data[0] & 16) != 0;
  uer::core::v1::ModelConfig config;
  if (task->PrepareTraining(path, read, &config).ok()) (void)task->Read(path, read);
  return 0;
}
