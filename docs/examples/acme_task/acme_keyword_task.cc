// A third-party fine-tuning task, "acme.keyword": a head that scores whether a text holds a keyword
// (2 classes), with its data side (reader, evaluator, prediction writer) in the same library. The
// generic tools run it by name:
//
//   bazel build //docs/examples/acme_task:acme.keyword        (libuer_task_acme_keyword.so)
//   finetune --task acme.keyword --plugins=libuer_task_acme_keyword.so --vocab_path vocab.txt
//       --config_path models/bert/tiny.pbtxt --tokenizer space --train_path train.tsv
//       --dev_path dev.tsv --output_model_path keyword.bin
//   infer --task acme.keyword --plugins=libuer_task_acme_keyword.so --load_model_path keyword.bin
//       --vocab_path vocab.txt --config_path models/bert/tiny.pbtxt --tokenizer space
//       --test_path test.tsv --prediction_path prediction.tsv
//
// Data: a TSV whose header names the columns text_a (or the --keyword_column option's) and label (0
// or 1; not needed for inference). The task declares its option and its HuggingFace keys itself: the
// tools offer --keyword_column, and convert_bert_from_uer_to_huggingface --target acme.keyword writes
// output_layer as transformers' "classifier".
// A row is [CLS] and the tokens of text_a, cut or padded to seq_length (segment 1 on the tokens, 0 on
// the padding). The keyword is whatever the labels mark: the head learns it.
// Module: output_layer (hidden_size -> 2) on memory_bank[:, 0] (top-level key output_layer, beside
// embedding and encoder). Values: logits, and with a label: loss (NLL of log-softmax), correct.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/modules/linear.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/log.h"
#include "core/plugin_api.h"
#include "core/plugin_stamp.h"
#include "core/status_macros.h"

namespace acme {
namespace {

using uer::core::TargetOutput;
using uer::core::TaskDataset;
using uer::core::TaskReadOptions;

constexpr int64_t kLabels = 2;
constexpr const char* kOutputWeight = "output_layer.weight";

// ---- The module ------------------------------------------------------------------------------------

class KeywordTask : public uer::core::Task {
 public:
  explicit KeywordTask(int64_t hidden_size) {
    output_layer_ = register_module("output_layer", torch::nn::Linear(hidden_size, kLabels));
  }
  // Reads [CLS] only.
  bool ReadsPadding() const override { return false; }
  TargetOutput Forward(const torch::Tensor& memory_bank, const uer::core::TensorMap& inputs) override {
    torch::Tensor logits = output_layer_->forward(memory_bank.select(1, 0));
    TargetOutput out;
    out.values.emplace_back("logits", logits);
    auto it = inputs.find("label");
    if (it != inputs.end()) {
      const torch::Tensor label = it->second.view({-1});
      out.loss = torch::nll_loss(torch::log_softmax(logits, -1), label);
      out.values.emplace_back("loss", out.loss);
      out.values.emplace_back("correct", logits.argmax(-1).eq(label).sum());
    }
    return out;
  }

 private:
  torch::nn::Linear output_layer_{nullptr};
};

// The predicted labels of a batch's outputs, on the CPU.
std::vector<int64_t> Predictions(const TargetOutput& out) {
  const torch::Tensor* logits = out.Find("logits");
  TORCH_CHECK(logits != nullptr, "task acme.keyword: the outputs have no \"logits\"");
  torch::Tensor pred = logits->argmax(-1).to(torch::kCPU).to(torch::kLong).contiguous();
  const int64_t* p = pred.data_ptr<int64_t>();
  return std::vector<int64_t>(p, p + pred.numel());
}

// ---- The data side -----------------------------------------------------------------------------------

// The lines of a text file without their line ends (a UTF-8 byte order mark dropped); errors name a
// missing, unreadable, directory or empty file.
absl::StatusOr<std::vector<std::string>> ReadLines(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is a directory, not a file"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
    lines.push_back(std::move(line));
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat("error reading ", path));
  if (lines.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ":1: empty file (expected a header line)"));
  if (lines[0].rfind("\xEF\xBB\xBF", 0) == 0) lines[0].erase(0, 3);
  return lines;
}

// `values` (rows * width of them) as a [rows, width] int64 tensor.
torch::Tensor Rows(const std::vector<int64_t>& values, int64_t rows, int64_t width) {
  TORCH_CHECK(static_cast<int64_t>(values.size()) == rows * width, "task acme.keyword: ", values.size(),
              " values for ", rows, " x ", width);
  torch::Tensor t = torch::empty({rows, width}, torch::kLong);
  std::copy(values.begin(), values.end(), t.data_ptr<int64_t>());
  return t;
}

class KeywordEvaluator : public uer::core::Evaluator {
 public:
  explicit KeywordEvaluator(const TaskDataset& data) {
    auto it = data.inputs.find("label");
    if (it != data.inputs.end()) {
      torch::Tensor labels = it->second.to(torch::kCPU).to(torch::kLong).contiguous();
      const int64_t* p = labels.data_ptr<int64_t>();
      labels_.assign(p, p + labels.numel());
    }
  }
  void Add(int64_t begin, const TargetOutput& out) override {
    const std::vector<int64_t> pred = Predictions(out);
    for (size_t j = 0; j < pred.size(); ++j) {
      const int64_t row = begin + static_cast<int64_t>(j);
      if (row < 0 || row >= static_cast<int64_t>(labels_.size())) continue;
      ++total_;
      if (pred[j] == labels_[row]) ++correct_;
    }
  }
  uer::core::Evaluation Finish() override {
    uer::core::Evaluation e;
    e.metric = total_ > 0 ? static_cast<double>(correct_) / static_cast<double>(total_) : 0.0;
    e.report = absl::StrFormat("Acc. (Correct/Total): %.4f (%d/%d)", e.metric, correct_, total_);
    return e;
  }

 private:
  std::vector<int64_t> labels_;
  int64_t correct_ = 0, total_ = 0;
};

class KeywordPredictionWriter : public uer::core::PredictionWriter {
 public:
  std::string Header() const override { return "label"; }
  void Add(int64_t /*begin*/, const TargetOutput& out, std::string* text) override {
    for (int64_t label : Predictions(out)) absl::StrAppend(text, label, "\n");
  }
};

class KeywordData : public uer::core::TaskData {
 public:
  // `tokenizer` belongs to the tool and outlives this object.
  KeywordData(std::shared_ptr<const uer::core::Vocab> vocab, const uer::core::Tokenizer* tokenizer,
              std::string text_column)
      : vocab_(std::move(vocab)), tokenizer_(tokenizer), text_column_(std::move(text_column)) {}

  absl::Status PrepareTraining(const std::string& train_path, const TaskReadOptions& options,
                               uer::core::v1::ModelConfig* config) override {
    TaskReadOptions o = options;
    o.with_labels = true;
    UER_ASSIGN_OR_RETURN(TaskDataset train, Read(train_path, o));
    const torch::Tensor& labels = train.inputs.at("label");
    const int64_t positive = labels.sum().item<int64_t>();
    if (positive == 0 || positive == train.size()) {
      UER_LOG(WARNING) << train_path << ": every label is " << (positive == 0 ? 0 : 1)
                       << ": the head learns nothing from it";
    }
    config->set_labels_num(static_cast<int32_t>(kLabels));
    return absl::OkStatus();
  }

  absl::Status PrepareInference(const std::string& model_path, const uer::core::StateDict& state,
                                uer::core::v1::ModelConfig* config) override {
    for (const auto& [key, tensor] : state) {
      if (key != kOutputWeight) continue;
      if (!tensor.defined() || tensor.dim() != 2 || tensor.size(0) != kLabels) {
        return absl::InvalidArgumentError(absl::StrCat(
            model_path, ": \"", kOutputWeight, "\" has shape [",
            tensor.defined() ? absl::StrJoin(tensor.sizes().vec(), ", ") : std::string(),
            "], expected [2, hidden_size]: not a model fine-tuned with --task acme.keyword"));
      }
      if (tensor.size(1) != config->hidden_size()) {
        return absl::InvalidArgumentError(absl::StrCat(model_path, ": \"", kOutputWeight, "\" is for hidden_size ",
                                                       tensor.size(1), ", the config says ", config->hidden_size()));
      }
      config->set_labels_num(static_cast<int32_t>(kLabels));
      return absl::OkStatus();
    }
    return absl::InvalidArgumentError(absl::StrCat(model_path, " has no \"", kOutputWeight,
                                                   "\": not a model fine-tuned with --task acme.keyword"));
  }

  absl::StatusOr<TaskDataset> Read(const std::string& path, const TaskReadOptions& o) const override {
    if (o.seq_length < 1) return absl::InvalidArgumentError(absl::StrCat("--seq_length must be >= 1, got ", o.seq_length));
    UER_ASSIGN_OR_RETURN(std::vector<std::string> lines, ReadLines(path));
    const std::vector<std::string> header = absl::StrSplit(lines[0], '\t');
    std::map<std::string, size_t> columns;
    for (size_t i = 0; i < header.size(); ++i) columns.emplace(header[i], i);
    std::vector<std::string> required = {text_column_};
    if (o.with_labels) required.push_back("label");
    for (const std::string& r : required) {
      if (columns.count(r) == 0) {
        return absl::InvalidArgumentError(absl::StrCat(path, ":1: the header (", absl::StrJoin(header, ", "),
                                                       ") has no column \"", r, "\""));
      }
    }
    const size_t text_col = columns.at(text_column_);
    const size_t label_col = o.with_labels ? columns.at("label") : 0;

    int64_t skipped = 0;
    // A bad line: an error naming the file and line, or (skip_bad_lines) a warning and a count.
    auto bad = [&](size_t line_no, const std::string& why) -> absl::Status {
      const std::string msg = absl::StrCat(path, ":", line_no, ": ", why);
      if (!o.skip_bad_lines) return absl::InvalidArgumentError(absl::StrCat(msg, " (--skip_bad_lines skips such lines)"));
      if (++skipped <= 5) UER_LOG(WARNING) << "skipped " << msg;
      return absl::OkStatus();
    };

    const int64_t seq = o.seq_length;
    std::vector<int64_t> src, seg, labels;
    int64_t n = 0;
    for (size_t i = 1; i < lines.size(); ++i) {
      const size_t line_no = i + 1;
      if (lines[i].empty() && i + 1 == lines.size()) break;  // a trailing empty line
      const std::vector<std::string> f = absl::StrSplit(lines[i], '\t');
      if (f.size() != header.size()) {
        UER_RETURN_IF_ERROR(bad(line_no, absl::StrCat("expected ", header.size(), " tab-separated columns (",
                                                      absl::StrJoin(header, ", "), "), got ", f.size())));
        continue;
      }
      if (o.with_labels) {
        const std::string& l = f[label_col];
        if (l != "0" && l != "1") {
          UER_RETURN_IF_ERROR(bad(line_no, absl::StrCat("the label \"", l, "\" is not 0 or 1")));
          continue;
        }
        labels.push_back(l == "1" ? 1 : 0);
      }
      // [CLS] and the tokens, cut to seq_length; then the padding.
      const std::vector<int64_t> ids = tokenizer_->TokenizeToIds(f[text_col]);
      src.push_back(vocab_->cls_id());
      int64_t used = 1;
      for (size_t k = 0; k < ids.size() && used < seq; ++k, ++used) src.push_back(ids[k]);
      seg.insert(seg.end(), static_cast<size_t>(used), int64_t{1});
      src.insert(src.end(), static_cast<size_t>(seq - used), vocab_->pad_id());
      seg.insert(seg.end(), static_cast<size_t>(seq - used), int64_t{0});
      ++n;
    }
    if (skipped > 0) UER_LOG(WARNING) << path << ": " << skipped << " bad lines skipped";
    if (n == 0) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": no examples",
                                                     skipped ? absl::StrCat(" (", skipped, " bad lines skipped)") : ""));
    }
    TaskDataset data;
    data.src = Rows(src, n, seq);
    data.seg = Rows(seg, n, seq);
    if (o.with_labels) data.inputs["label"] = Rows(labels, n, 1).view({n});
    return data;
  }

  std::string metric_name() const override { return "accuracy"; }

  std::unique_ptr<uer::core::Evaluator> NewEvaluator(const TaskDataset& data, bool /*full_report*/) const override {
    return std::make_unique<KeywordEvaluator>(data);
  }

  std::unique_ptr<uer::core::PredictionWriter> NewPredictionWriter(const TaskDataset& /*data*/) const override {
    return std::make_unique<KeywordPredictionWriter>();
  }

 private:
  std::shared_ptr<const uer::core::Vocab> vocab_;
  const uer::core::Tokenizer* tokenizer_;
  std::string text_column_;
};

// ---- The factory ---------------------------------------------------------------------------------------

class KeywordTaskFactory : public uer::core::TaskFactory {
 public:
  std::string name() const override { return "acme.keyword"; }
  std::string help() const override { return "example: whether a text holds a keyword ([CLS], 2 classes)"; }
  std::string stability() const override { return "example"; }
  std::vector<uer::core::PluginOption> Options() const override {
    return {{"keyword_column", uer::core::PluginOption::Type::kString, "text_a", "The column that holds the text."}};
  }
  // transformers has no class for this head; its tensors take BERT's classifier names, under a class
  // of this task's own.
  std::optional<uer::core::HuggingFaceHead> HuggingFaceBertHead() const override {
    uer::core::HuggingFaceHead h;
    h.architecture = "AcmeKeywordForSequenceClassification";
    h.AddLinear("output_layer", "classifier");
    return h;
  }
  absl::StatusOr<std::shared_ptr<uer::core::Task>> Create(const uer::core::v1::ModelConfig& c,
                                                          const uer::core::BuildContext&) const override {
    return std::shared_ptr<uer::core::Task>(std::make_shared<KeywordTask>(c.hidden_size()));
  }
  absl::StatusOr<std::unique_ptr<uer::core::TaskData>> CreateData(
      const uer::core::TaskDataContext& context) const override {
    if (context.vocab == nullptr || context.tokenizer == nullptr) {
      return absl::InvalidArgumentError("task acme.keyword needs a vocabulary and a tokenizer");
    }
    for (const char* token : {"[PAD]", "[CLS]"}) {
      if (context.vocab->Id(token) < 0) {
        return absl::InvalidArgumentError(absl::StrCat("vocabulary ", context.vocab->path(), " has no ", token,
                                                       " token (task acme.keyword needs it)"));
      }
    }
    return std::unique_ptr<uer::core::TaskData>(
        new KeywordData(context.vocab, context.tokenizer, context.Option("keyword_column")));
  }
};

}  // namespace
}  // namespace acme

UER_REGISTER_FACTORY(acme::KeywordTaskFactory);
// Built with stamp = False (as outside the tree): the library's stamp, written here.
UER_PLUGIN_DEFINE_INFO("acme.keyword")
