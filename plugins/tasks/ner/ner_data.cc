#include "plugins/tasks/ner/ner_data.h"

#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "plugins/tasks/common/tsv.h"

namespace uer::tasks {

using tsv::Header;
using tsv::ReadLines;
using tsv::SplitTabs;

NerLabels NerLabels::FromNames(std::vector<std::string> names) {
  NerLabels l;
  l.names = std::move(names);
  for (size_t i = 0; i < l.names.size(); ++i) {
    l.ids[l.names[i]] = static_cast<int64_t>(i);
    const char c = l.names[i].empty() ? '\0' : l.names[i][0];
    l.begins.push_back(i > 0 && (c == 'B' || c == 'S'));
    if (l.names[i] == "O") l.o_id = static_cast<int64_t>(i);
  }
  return l;
}

absl::StatusOr<NerLabels> CollectNerLabels(const std::string& path, const core::TaskReadOptions& o) {
  UER_ASSIGN_OR_RETURN(std::vector<std::string> lines, ReadLines(path, o.replace_invalid_utf8));
  UER_ASSIGN_OR_RETURN(auto columns, Header(path, lines[0], {"text_a", "label"}));
  const size_t width = SplitTabs(lines[0]).size();
  std::vector<std::string> names = {"[PAD]"};
  std::set<std::string> seen = {"[PAD]"};
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> f = SplitTabs(lines[i]);
    if (f.size() != width) continue;  // ReadNerTsv reports it
    for (absl::string_view l : absl::StrSplit(f[columns["label"]], ' ', absl::SkipEmpty())) {
      if (seen.insert(std::string(l)).second) names.emplace_back(l);
    }
  }
  if (names.size() < 2) return absl::InvalidArgumentError(absl::StrCat(path, ": no labels found"));
  return NerLabels::FromNames(std::move(names));
}

absl::StatusOr<NerData> ReadNerTsv(const std::string& path, const core::Vocab& vocab, const NerLabels& labels,
                                   const core::TaskReadOptions& o) {
  UER_ASSIGN_OR_RETURN(std::vector<std::string> lines, ReadLines(path, o.replace_invalid_utf8));
  std::vector<std::string> required = {"text_a"};
  if (o.with_labels) required.push_back("label");
  UER_ASSIGN_OR_RETURN(auto columns, Header(path, lines[0], required));
  const size_t width = SplitTabs(lines[0]).size();
  NerData data;
  tsv::BadLines bad(path, o.skip_bad_lines);
  for (size_t i = 1; i < lines.size(); ++i) {
    const int64_t line_no = static_cast<int64_t>(i) + 1;
    if (lines[i].empty() && i + 1 == lines.size()) break;
    std::vector<std::string> f = SplitTabs(lines[i]);
    if (f.size() != width) {
      UER_RETURN_IF_ERROR(bad.Bad(line_no, absl::StrCat("expected ", width, " tab-separated columns (",
                                                        absl::StrJoin(SplitTabs(lines[0]), ", "), "), got ", f.size())));
      continue;
    }
    NerExample e;
    e.line = line_no;
    std::vector<std::string> tokens = absl::StrSplit(f[columns["text_a"]], ' ');
    for (const std::string& t : tokens) e.src.push_back(vocab.IdOrUnk(t));
    if (o.with_labels) {
      std::vector<std::string> ls = absl::StrSplit(f[columns["label"]], ' ');
      if (ls.size() != tokens.size()) {
        UER_RETURN_IF_ERROR(bad.Bad(line_no, absl::StrCat(tokens.size(), " tokens but ", ls.size(), " labels")));
        continue;
      }
      bool ok = true;
      for (const std::string& l : ls) {
        auto it = labels.ids.find(l);
        if (it == labels.ids.end() || it->second == 0) {
          UER_RETURN_IF_ERROR(bad.Bad(line_no, absl::StrCat("the label \"", l,
                                                            "\" does not occur in the training file (its labels: ",
                                                            absl::StrJoin(labels.names, " "), ")")));
          ok = false;
          break;
        }
        e.label.push_back(it->second);
      }
      if (!ok) continue;
    }
    e.length = std::min<int64_t>(static_cast<int64_t>(e.src.size()), o.seq_length);
    e.seg.assign(e.src.size(), 1);
    tsv::CutAndPad(&e.src, &e.seg, o.seq_length, vocab.pad_id());
    if (!e.label.empty()) e.label.resize(o.seq_length, 0);
    data.examples.push_back(std::move(e));
  }
  data.skipped = bad.count();
  return data;
}

absl::Status WriteNerLabels(const std::string& path, const NerLabels& labels) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (size_t i = 0; i < labels.names.size(); ++i) j[labels.names[i]] = i;
  return tsv::WriteAtomically(path, j.dump(1) + "\n");
}

absl::StatusOr<NerLabels> ReadNerLabels(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open the label map ", path));
  nlohmann::json j;
  try {
    in >> j;
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": malformed JSON: ", e.what()));
  }
  if (!j.is_object()) return absl::InvalidArgumentError(absl::StrCat(path, ": expected a JSON object label -> id"));
  std::vector<std::string> names(j.size());
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 ||
        it.value().get<int64_t>() >= static_cast<int64_t>(j.size()) || !names[it.value().get<int64_t>()].empty()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": the ids must be 0..", j.size() - 1,
                                                     ", each once; \"", it.key(), "\" has ", it.value().dump()));
    }
    names[it.value().get<int64_t>()] = it.key();
  }
  if (names.empty() || names[0] != "[PAD]") {
    return absl::InvalidArgumentError(absl::StrCat(path, ": id 0 must be \"[PAD]\" (run_ner's label map)"));
  }
  return NerLabels::FromNames(std::move(names));
}

void EntityCounts::Add(const std::vector<int64_t>& gold, const std::vector<int64_t>& pred, const NerLabels& labels) {
  const int64_t n = static_cast<int64_t>(std::min(gold.size(), pred.size()));
  auto begins = [&](int64_t id) { return id >= 0 && id < static_cast<int64_t>(labels.begins.size()) && labels.begins[id]; };
  auto end_of = [&](const std::vector<int64_t>& seq, int64_t j) {
    for (int64_t k = j + 1; k < n; ++k) {
      if (seq[k] == 0 || seq[k] == labels.o_id || begins(seq[k])) return k - 1;
    }
    return n - 1;
  };
  std::set<std::pair<int64_t, int64_t>> gold_spans;
  for (int64_t j = 0; j < n; ++j) {
    if (begins(gold[j])) {
      ++this->gold;
      gold_spans.insert({j, end_of(gold, j)});
    }
  }
  for (int64_t j = 0; j < n; ++j) {
    if (!begins(pred[j]) || gold[j] == 0) continue;
    ++predicted;
    const int64_t end = end_of(pred, j);
    if (!gold_spans.count({j, end})) continue;
    bool same = true;
    for (int64_t k = j; k <= end; ++k) same = same && gold[k] == pred[k];
    correct += same;
  }
}

double EntityCounts::f1() const {
  const double p = precision(), r = recall();
  return p + r > 0 ? 2 * p * r / (p + r) : 0;
}

std::vector<NerToken> SplitNerText(const std::string& text) {
  std::vector<NerToken> tokens;
  const bool spaced = text.find(' ') != std::string::npos;
  int64_t point = 0;
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
    const std::string ch = text.substr(i, len);
    const bool blank = ch == " " || ch == "\t" || ch == "\n" || ch == "\r";
    if (blank) {
    } else if (spaced && !tokens.empty() && tokens.back().end == point) {
      tokens.back().text += ch;
      tokens.back().end = point + 1;
    } else {
      tokens.push_back({ch, point, point + 1});
    }
    i += len;
    ++point;
  }
  return tokens;
}

std::vector<core::ServedSpan> NerEntities(const std::vector<NerToken>& tokens, const std::vector<int64_t>& pred,
                                          const std::vector<float>& prob, const NerLabels& labels) {
  std::vector<core::ServedSpan> spans;
  const int64_t n = static_cast<int64_t>(std::min(tokens.size(), pred.size()));
  auto begins = [&](int64_t id) { return id > 0 && id < static_cast<int64_t>(labels.begins.size()) && labels.begins[id]; };
  for (int64_t j = 0; j < n; ++j) {
    if (!begins(pred[j])) continue;
    int64_t end = j;
    while (end + 1 < n && pred[end + 1] != 0 && pred[end + 1] != labels.o_id && !begins(pred[end + 1])) ++end;
    const std::string& name = labels.names[pred[j]];
    core::ServedSpan span;
    span.label = name.size() > 2 && name[1] == '-' ? name.substr(2) : name;
    span.start = tokens[j].start;
    span.end = tokens[end].end;
    double score = 0;
    for (int64_t k = j; k <= end; ++k) {
      if (k > j) span.text += tokens[k].start > tokens[k - 1].end ? " " : "";
      span.text += tokens[k].text;
      score += k < static_cast<int64_t>(prob.size()) ? prob[k] : 0;
    }
    span.score = score / static_cast<double>(end - j + 1);
    spans.push_back(std::move(span));
    j = end;
  }
  return spans;
}

namespace {

std::vector<int64_t> Row(const torch::Tensor& t) {
  torch::Tensor c = t.to(torch::kLong).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

class NerEvaluator : public core::Evaluator {
 public:
  NerEvaluator(const core::TaskDataset& data, const NerLabels& labels) : data_(data), labels_(labels) {}
  void Add(int64_t begin, const core::TargetOutput& out) override {
    torch::Tensor pred = out.Find("predict")->to(torch::kCPU).contiguous();
    const torch::Tensor& gold = data_.inputs.at("label");
    for (int64_t j = 0; j < pred.size(0); ++j) counts_.Add(Row(gold[begin + j]), Row(pred[j]), labels_);
  }
  core::Evaluation Finish() override {
    return {counts_.f1(), absl::StrFormat("Report precision, recall, and f1: %.3f, %.3f, %.3f (%d correct, %d "
                                          "predicted, %d gold entities)",
                                          counts_.precision(), counts_.recall(), counts_.f1(), counts_.correct,
                                          counts_.predicted, counts_.gold),
            {{"precision", counts_.precision()}, {"recall", counts_.recall()}, {"f1", counts_.f1()}}};
  }

 private:
  const core::TaskDataset& data_;
  const NerLabels& labels_;
  EntityCounts counts_;
};

class NerWriter : public core::PredictionWriter {
 public:
  NerWriter(const core::TaskDataset& data, const NerLabels& labels) : data_(data), labels_(labels) {}
  std::string Header() const override { return "pred_label"; }
  void Add(int64_t begin, const core::TargetOutput& out, std::string* text) override {
    torch::Tensor pred = out.Find("predict")->to(torch::kCPU).contiguous();
    const torch::Tensor& length = data_.inputs.at("length");
    for (int64_t j = 0; j < pred.size(0); ++j) {
      const std::vector<int64_t> p = Row(pred[j]);
      const int64_t n = std::min<int64_t>(length[begin + j].item<int64_t>(), static_cast<int64_t>(p.size()));
      std::vector<std::string> names;
      for (int64_t k = 0; k < n; ++k) names.push_back(p[k] >= 0 && p[k] < static_cast<int64_t>(labels_.names.size()) ? labels_.names[p[k]] : "?");
      absl::StrAppend(text, absl::StrJoin(names, " "), "\n");
    }
  }

 private:
  const core::TaskDataset& data_;
  const NerLabels& labels_;
};

class NerData_ : public core::TaskData {
 public:
  explicit NerData_(const core::TaskDataContext& c) : context_(c) {}
  absl::Status PrepareTraining(const std::string& train_path, const core::TaskReadOptions& o,
                               core::v1::ModelConfig* config) override {
    UER_ASSIGN_OR_RETURN(labels_, CollectNerLabels(train_path, o));
    UER_LOG(INFO) << "labels: " << absl::StrJoin(labels_.names, " ");
    if (labels_.o_id < 0) UER_LOG(WARNING) << train_path << " has no \"O\" label";
    config->set_labels_num(static_cast<int32_t>(labels_.names.size()));
    return absl::OkStatus();
  }
  absl::Status PrepareInference(const std::string& model_path, const core::StateDict& state,
                                core::v1::ModelConfig* config) override {
    const std::string given = context_.Option("label2id_path");
    const std::string path = given.empty() ? model_path + ".labels.json" : given;
    if (context_.Option("require_label_map") == "false" && !std::filesystem::exists(path)) {
      // Checking a model (check_model), not tagging with it: labels numbered from its head's size.
      for (const auto& [k, v] : state) {
        if (k == "output_layer.weight" && v.dim() == 2) {
          std::vector<std::string> names;
          for (int64_t i = 0; i < v.size(0); ++i) names.push_back(i == 0 ? "[PAD]" : std::to_string(i));
          labels_ = NerLabels::FromNames(names);
        }
      }
      if (labels_.names.size() < 2) return absl::InvalidArgumentError(absl::StrCat(model_path, " has no output_layer.weight"));
      config->set_labels_num(static_cast<int32_t>(labels_.names.size()));
      return absl::OkStatus();
    }
    UER_ASSIGN_OR_RETURN(labels_, ReadNerLabels(path));
    config->set_labels_num(static_cast<int32_t>(labels_.names.size()));
    return absl::OkStatus();
  }
  absl::Status SaveBeside(const std::string& model_path) const override {
    return WriteNerLabels(model_path + ".labels.json", labels_);
  }
  absl::StatusOr<core::TaskDataset> Read(const std::string& path, const core::TaskReadOptions& o) const override {
    UER_ASSIGN_OR_RETURN(NerData d, ReadNerTsv(path, *context_.vocab, labels_, o));
    if (d.examples.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": no examples"));
    if (d.skipped) UER_LOG(WARNING) << path << ": " << d.skipped << " bad lines skipped";
    std::vector<std::vector<int64_t>> src, seg, label;
    std::vector<int64_t> length;
    for (const auto& e : d.examples) {
      src.push_back(e.src);
      seg.push_back(e.seg);
      label.push_back(e.label.empty() ? std::vector<int64_t>(o.seq_length, 0) : e.label);
      length.push_back(e.length);
    }
    core::TaskDataset t;
    t.src = tsv::Rows(src, o.seq_length);
    t.seg = tsv::Rows(seg, o.seq_length);
    t.inputs["label"] = tsv::Rows(label, o.seq_length);
    t.inputs["length"] = torch::tensor(length, torch::kLong);
    return t;
  }
  core::ServedKind Serves() const override { return core::ServedKind::kTokenLabels; }
  std::vector<std::string> LabelNames() const override { return labels_.names; }
  absl::StatusOr<core::TaskDataset> ReadText(const core::TextInput& input, const core::TaskReadOptions& o) const override {
    if (!input.text_b.empty()) return absl::InvalidArgumentError("text_b: the ner task tags one text, not a pair");
    const std::vector<NerToken> tokens = SplitNerText(input.text_a);
    if (tokens.empty()) return absl::InvalidArgumentError("text_a has no token");
    std::vector<int64_t> src, seg;
    for (const NerToken& t : tokens) src.push_back(context_.vocab->IdOrUnk(t.text));
    seg.assign(src.size(), 1);
    tsv::CutAndPad(&src, &seg, o.seq_length, context_.vocab->pad_id());
    core::TaskDataset t;
    t.src = tsv::Rows({src}, o.seq_length);
    t.seg = tsv::Rows({seg}, o.seq_length);
    return t;
  }
  absl::StatusOr<core::ServedAnswer> Answer(const core::TextInput& input, const core::TaskDataset&,
                                            const core::TargetOutput& out) const override {
    const torch::Tensor* logits = out.Find("logits");
    if (!logits || logits->dim() != 3 || logits->size(0) != 1) {
      return absl::InternalError("the ner head's output has no logits row for the input");
    }
    auto [prob, pred] = torch::softmax(logits->select(0, 0).to(torch::kCPU, torch::kFloat), -1).max(-1);
    prob = prob.contiguous();
    core::ServedAnswer a;
    a.spans = NerEntities(SplitNerText(input.text_a), Row(pred),
                          std::vector<float>(prob.data_ptr<float>(), prob.data_ptr<float>() + prob.numel()), labels_);
    return a;
  }
  std::vector<std::string> NeededTokens() const override { return {}; }  // rows are the tokens alone
  bool ShuffleTraining() const override { return false; }  // UER-py's run_ner.py does not shuffle
  std::string metric_name() const override { return "F1"; }
  std::unique_ptr<core::Evaluator> NewEvaluator(const core::TaskDataset& data, bool) const override {
    return std::make_unique<NerEvaluator>(data, labels_);
  }
  std::unique_ptr<core::PredictionWriter> NewPredictionWriter(const core::TaskDataset& data) const override {
    return std::make_unique<NerWriter>(data, labels_);
  }

 private:
  core::TaskDataContext context_;
  NerLabels labels_;
};

}  // namespace

std::unique_ptr<core::TaskData> NewNerData(const core::TaskDataContext& context) {
  return std::make_unique<NerData_>(context);
}

}  // namespace uer::tasks
