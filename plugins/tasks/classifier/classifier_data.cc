#include "plugins/tasks/classifier/classifier_data.h"

#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "plugins/tasks/common/tsv.h"

namespace uer::tasks {

void EncodeClassifierRow(const core::Tokenizer& tokenizer, const std::string& text_a, const std::string* text_b,
                         int64_t seq_length, ClassifierExample* e) {
  const core::Vocab& vocab = tokenizer.vocab();
  std::vector<int64_t> a = tokenizer.TokenizeToIds(text_a);
  e->src.push_back(vocab.cls_id());
  e->src.insert(e->src.end(), a.begin(), a.end());
  if (text_b) {
    e->src.push_back(vocab.sep_id());
    e->seg.assign(e->src.size(), 1);
    std::vector<int64_t> b = tokenizer.TokenizeToIds(*text_b);
    e->src.insert(e->src.end(), b.begin(), b.end());
    e->src.push_back(vocab.sep_id());
    e->seg.resize(e->src.size(), 2);
  } else {
    e->seg.assign(e->src.size(), 1);
  }
  tsv::CutAndPad(&e->src, &e->seg, seq_length, vocab.pad_id());
}

absl::StatusOr<ClassifierData> ReadClassifierTsv(const std::string& path, const core::Tokenizer& tokenizer,
                                                 const core::TaskReadOptions& o) {
  UER_ASSIGN_OR_RETURN(std::vector<std::string> lines, tsv::ReadLines(path, o.replace_invalid_utf8));
  std::vector<std::string> required = {"text_a"};
  if (o.with_labels) required.insert(required.begin(), "label");
  UER_ASSIGN_OR_RETURN(auto columns, tsv::Header(path, lines[0], required));
  const size_t width = tsv::SplitTabs(lines[0]).size();
  ClassifierData data;
  data.pair = columns.count("text_b") > 0;
  data.has_qid = columns.count("qid") > 0;
  const bool has_label = columns.count("label") > 0;
  tsv::BadLines bad(path, o.skip_bad_lines);
  for (size_t i = 1; i < lines.size(); ++i) {
    const int64_t line_no = static_cast<int64_t>(i) + 1;
    if (lines[i].empty() && i + 1 == lines.size()) break;  // a trailing empty line
    std::vector<std::string> f = tsv::SplitTabs(lines[i]);
    if (f.size() != width) {
      UER_RETURN_IF_ERROR(bad.Bad(line_no, absl::StrCat("expected ", width, " tab-separated columns (",
                                                        absl::StrJoin(tsv::SplitTabs(lines[0]), ", "), "), got ", f.size())));
      continue;
    }
    ClassifierExample e;
    e.line = line_no;
    if (has_label) {
      const std::string& l = f[columns["label"]];
      if (!absl::SimpleAtoi(l, &e.label) || e.label < 0) {
        if (o.with_labels) {
          UER_RETURN_IF_ERROR(bad.Bad(line_no, absl::StrCat("the label \"", l, "\" is not a non-negative integer")));
          continue;
        }
        e.label = -1;
      }
    }
    if (data.has_qid && !absl::SimpleAtoi(f[columns["qid"]], &e.qid)) {
      UER_RETURN_IF_ERROR(bad.Bad(line_no, absl::StrCat("the qid \"", f[columns["qid"]], "\" is not an integer")));
      continue;
    }
    EncodeClassifierRow(tokenizer, f[columns["text_a"]], data.pair ? &f[columns["text_b"]] : nullptr, o.seq_length,
                        &e);
    data.examples.push_back(std::move(e));
  }
  data.skipped = bad.count();
  return data;
}

ClassificationReport Classification(const std::vector<int64_t>& predicted, const std::vector<int64_t>& gold,
                                    int64_t labels_num) {
  ClassificationReport r;
  r.confusion.assign(labels_num, std::vector<int64_t>(labels_num, 0));
  for (size_t i = 0; i < gold.size(); ++i) {
    if (predicted[i] >= 0 && predicted[i] < labels_num && gold[i] >= 0 && gold[i] < labels_num) {
      ++r.confusion[predicted[i]][gold[i]];
    }
    if (predicted[i] == gold[i]) ++r.correct;
  }
  r.total = static_cast<int64_t>(gold.size());
  r.accuracy = r.total ? static_cast<double>(r.correct) / r.total : 0;
  for (int64_t i = 0; i < labels_num; ++i) {
    int64_t row = 0, col = 0;
    for (int64_t j = 0; j < labels_num; ++j) {
      row += r.confusion[i][j];
      col += r.confusion[j][i];
    }
    const double p = row ? static_cast<double>(r.confusion[i][i]) / row : 0;
    const double rc = col ? static_cast<double>(r.confusion[i][i]) / col : 0;
    r.precision.push_back(p);
    r.recall.push_back(rc);
    r.f1.push_back(p + rc > 0 ? 2 * p * rc / (p + rc) : 0);
  }
  return r;
}

std::string ClassificationReport::ToString(bool full) const {
  std::string s;
  if (full) {
    s += "Confusion matrix (rows: predicted, columns: gold):\n";
    for (const auto& row : confusion) s += absl::StrCat("  ", absl::StrJoin(row, "\t"), "\n");
    s += "Report precision, recall, and f1:\n";
    for (size_t i = 0; i < precision.size(); ++i) {
      s += absl::StrFormat("Label %d: %.3f, %.3f, %.3f\n", i, precision[i], recall[i], f1[i]);
    }
  }
  s += absl::StrFormat("Acc. (Correct/Total): %.4f (%d/%d)", accuracy, correct, total);
  return s;
}

double MeanReciprocalRank(const std::vector<int64_t>& qids, const std::vector<int64_t>& labels,
                          const std::vector<double>& scores) {
  double sum = 0;
  int64_t questions = 0;
  size_t i = 0;
  while (i < qids.size()) {
    size_t j = i;
    while (j < qids.size() && qids[j] == qids[i]) ++j;
    double best = -1;
    bool any = false;
    for (size_t k = i; k < j; ++k) {
      if (labels[k] == 1) {
        best = any ? std::max(best, scores[k]) : scores[k];
        any = true;
      }
    }
    if (any) {
      int64_t above = 0;
      for (size_t k = i; k < j; ++k) above += scores[k] > best;
      sum += 1.0 / static_cast<double>(above + 1);
      ++questions;
    }
    i = j;
  }
  return questions ? sum / static_cast<double>(questions) : 0;
}

namespace {

std::vector<int64_t> Values(const torch::Tensor& t) {
  torch::Tensor c = t.to(torch::kLong).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

std::string Floats(const torch::Tensor& row) {
  std::vector<std::string> parts;
  torch::Tensor r = row.to(torch::kDouble).contiguous();
  for (int64_t k = 0; k < r.size(0); ++k) parts.push_back(absl::StrFormat("%.6g", r.data_ptr<double>()[k]));
  return absl::StrJoin(parts, " ");
}

class ClassifierEvaluator : public core::Evaluator {
 public:
  ClassifierEvaluator(const core::TaskDataset& data, int64_t labels_num, bool mrr, bool full)
      : data_(data), labels_num_(labels_num), mrr_(mrr), full_(full) {}
  void Add(int64_t, const core::TargetOutput& out) override {
    torch::Tensor logits = out.Find("logits")->to(torch::kCPU);
    std::vector<int64_t> p = Values(logits.argmax(1));
    pred_.insert(pred_.end(), p.begin(), p.end());
    torch::Tensor s1 = torch::softmax(logits, 1).select(1, std::min<int64_t>(1, labels_num_ - 1)).to(torch::kDouble).contiguous();
    score_.insert(score_.end(), s1.data_ptr<double>(), s1.data_ptr<double>() + s1.numel());
  }
  core::Evaluation Finish() override {
    std::vector<int64_t> gold = Values(data_.inputs.at("label"));
    if (mrr_) {
      const double m = MeanReciprocalRank(Values(data_.inputs.at("qid")), gold, score_);
      return {m, absl::StrFormat("MRR: %.4f (%d candidates)", m, gold.size()), {{"mrr", m}}};
    }
    ClassificationReport r = Classification(pred_, gold, labels_num_);
    return {r.accuracy, r.ToString(full_), {{"acc", r.accuracy}}};
  }

 private:
  const core::TaskDataset& data_;
  int64_t labels_num_;
  bool mrr_, full_;
  std::vector<int64_t> pred_;
  std::vector<double> score_;
};

class ClassifierWriter : public core::PredictionWriter {
 public:
  ClassifierWriter(bool logits, bool prob) : logits_(logits), prob_(prob) {}
  std::string Header() const override {
    return absl::StrCat("label", logits_ ? "\tlogits" : "", prob_ ? "\tprob" : "");
  }
  void Add(int64_t, const core::TargetOutput& out, std::string* text) override {
    torch::Tensor logits = out.Find("logits")->to(torch::kCPU);
    std::vector<int64_t> pred = Values(logits.argmax(1));
    torch::Tensor prob = torch::softmax(logits, 1);
    for (int64_t j = 0; j < logits.size(0); ++j) {
      absl::StrAppend(text, pred[j]);
      if (logits_) absl::StrAppend(text, "\t", Floats(logits[j]));
      if (prob_) absl::StrAppend(text, "\t", Floats(prob[j]));
      text->push_back('\n');
    }
  }

 private:
  bool logits_, prob_;
};

class ClassifierData_ : public core::TaskData {
 public:
  explicit ClassifierData_(const core::TaskDataContext& c)
      : context_(c), mrr_(c.BoolOption("mean_reciprocal_rank")) {}

  absl::Status PrepareTraining(const std::string& train_path, const core::TaskReadOptions& o,
                               core::v1::ModelConfig* config) override {
    train_path_ = train_path;
    UER_ASSIGN_OR_RETURN(ClassifierData train, ReadClassifierTsv(train_path, *context_.tokenizer, o));
    if (train.examples.empty()) return absl::InvalidArgumentError(absl::StrCat(train_path, ": no examples"));
    for (const auto& e : train.examples) train_labels_.insert(e.label);
    const int64_t largest = *train_labels_.rbegin();
    // A label far above the number of distinct labels is a typo, not a 1,000,000,001-way head.
    if (largest >= 1000 && largest >= 100 * static_cast<int64_t>(train_labels_.size())) {
      for (const auto& e : train.examples) {
        if (e.label == largest) {
          return absl::InvalidArgumentError(absl::StrCat(train_path, ":", e.line, ": label ", largest, " with only ",
                                                         train_labels_.size(), " distinct labels in the file: labels "
                                                         "are 0..N-1 (the head would have ", largest + 1, " outputs)"));
        }
      }
    }
    labels_num_ = std::max<int64_t>(2, largest + 1);
    if (static_cast<int64_t>(train_labels_.size()) != labels_num_) {
      UER_LOG(WARNING) << train_path << " has " << train_labels_.size() << " distinct labels but the largest is "
                       << largest << ": the classifier has " << labels_num_ << " outputs";
    }
    config->set_labels_num(static_cast<int32_t>(labels_num_));
    return absl::OkStatus();
  }

  absl::Status PrepareInference(const std::string& model_path, const core::StateDict& state,
                                core::v1::ModelConfig* config) override {
    auto it = context_.options.find("labels_num");
    if (it != context_.options.end() && !it->second.empty()) {
      if (!absl::SimpleAtoi(it->second, &labels_num_) || labels_num_ < 2) {
        return absl::InvalidArgumentError(absl::StrCat("--labels_num ", it->second, ": must be an integer >= 2"));
      }
    } else {
      for (const auto& [k, v] : state) {
        if (k == "output_layer_2.weight") labels_num_ = v.size(0);
      }
      if (labels_num_ == 0) {
        return absl::InvalidArgumentError(absl::StrCat(model_path, " has no output_layer_2.weight: not a run_classifier model"));
      }
    }
    config->set_labels_num(static_cast<int32_t>(labels_num_));
    return absl::OkStatus();
  }

  absl::StatusOr<core::TaskDataset> Read(const std::string& path, const core::TaskReadOptions& o) const override {
    UER_ASSIGN_OR_RETURN(ClassifierData d, ReadClassifierTsv(path, *context_.tokenizer, o));
    if (d.examples.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": no examples"));
    if (o.with_labels && !train_labels_.empty()) {
      for (const auto& e : d.examples) {
        if (!train_labels_.count(e.label)) {
          return absl::InvalidArgumentError(absl::StrCat(path, ":", e.line, ": label ", e.label,
                                                         " does not occur in the training file (its labels: ",
                                                         absl::StrJoin(train_labels_, ", "), ")"));
        }
      }
    }
    if (mrr_ && o.with_labels && !d.has_qid && path != train_path_) {  // MRR is for dev and test
      return absl::InvalidArgumentError(absl::StrCat("--mean_reciprocal_rank needs a qid column; ", path, " has none"));
    }
    if (d.skipped) UER_LOG(WARNING) << path << ": " << d.skipped << " bad lines skipped";
    std::vector<std::vector<int64_t>> src, seg;
    std::vector<int64_t> label, qid;
    for (const auto& e : d.examples) {
      src.push_back(e.src);
      seg.push_back(e.seg);
      label.push_back(std::max<int64_t>(e.label, 0));
      qid.push_back(e.qid);
    }
    core::TaskDataset t;
    t.src = tsv::Rows(src, o.seq_length);
    t.seg = tsv::Rows(seg, o.seq_length);
    t.inputs["label"] = torch::tensor(label, torch::kLong);
    if (d.has_qid) t.inputs["qid"] = torch::tensor(qid, torch::kLong);
    return t;
  }

  core::ServedKind Serves() const override { return core::ServedKind::kClassification; }
  // Labels are the head's outputs 0..labels_num-1, as UER-py's TSVs number them.
  std::vector<std::string> LabelNames() const override {
    std::vector<std::string> names;
    for (int64_t i = 0; i < labels_num_; ++i) names.push_back(std::to_string(i));
    return names;
  }
  absl::StatusOr<core::TaskDataset> ReadText(const core::TextInput& input, const core::TaskReadOptions& o) const override {
    if (input.text_a.empty()) return absl::InvalidArgumentError("text_a is empty");
    ClassifierExample e;
    EncodeClassifierRow(*context_.tokenizer, input.text_a, input.text_b.empty() ? nullptr : &input.text_b,
                        o.seq_length, &e);
    core::TaskDataset t;
    t.src = tsv::Rows({e.src}, o.seq_length);
    t.seg = tsv::Rows({e.seg}, o.seq_length);
    return t;
  }
  absl::StatusOr<core::ServedAnswer> Answer(const core::TextInput&, const core::TaskDataset&,
                                            const core::TargetOutput& out) const override {
    const torch::Tensor* logits = out.Find("logits");
    if (!logits || logits->dim() != 2 || logits->size(0) != 1) {
      return absl::InternalError("the classifier's output has no logits row for the input");
    }
    torch::Tensor row = logits->select(0, 0).to(torch::kCPU, torch::kFloat).contiguous();
    core::ServedAnswer a;
    a.scores.assign(row.data_ptr<float>(), row.data_ptr<float>() + row.numel());
    return a;
  }

  std::string metric_name() const override { return mrr_ ? "MRR" : "accuracy"; }
  std::unique_ptr<core::Evaluator> NewEvaluator(const core::TaskDataset& data, bool full) const override {
    return std::make_unique<ClassifierEvaluator>(data, labels_num_, mrr_, full);
  }
  std::unique_ptr<core::PredictionWriter> NewPredictionWriter(const core::TaskDataset&) const override {
    return std::make_unique<ClassifierWriter>(context_.BoolOption("output_logits"), context_.BoolOption("output_prob"));
  }

 private:
  core::TaskDataContext context_;
  bool mrr_;
  std::string train_path_;
  std::set<int64_t> train_labels_;
  int64_t labels_num_ = 0;
};

}  // namespace

std::unique_ptr<core::TaskData> NewClassifierData(const core::TaskDataContext& context) {
  return std::make_unique<ClassifierData_>(context);
}

}  // namespace uer::tasks
