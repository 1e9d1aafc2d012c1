#include "tools/finetune_lib.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/log.h"
#include "core/runtime/model.h"
#include "core/runtime/optimizer.h"
#include "core/python_random.h"
#include "nlohmann/json.hpp"
#include "core/runtime/device.h"
#include "tools/tool_common.h"

namespace uer::tools {
namespace {

namespace fs = std::filesystem;

// The lines of a text file without their line ends; an error names a missing or empty file.
absl::StatusOr<std::vector<std::string>> ReadLines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
    lines.push_back(std::move(line));
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat("error reading ", path));
  if (lines.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": empty file (expected a header line)"));
  return lines;
}

std::vector<std::string> SplitTabs(const std::string& line) { return absl::StrSplit(line, '\t'); }

// Column name -> index from a header line; `required` columns must be there.
absl::StatusOr<std::map<std::string, size_t>> Header(const std::string& path, const std::string& line,
                                                     const std::vector<std::string>& required) {
  std::map<std::string, size_t> columns;
  std::vector<std::string> names = SplitTabs(line);
  for (size_t i = 0; i < names.size(); ++i) columns[names[i]] = i;
  for (const std::string& r : required) {
    if (!columns.count(r)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":1: the header (", absl::StrJoin(names, ", "),
                                                     ") has no column \"", r, "\""));
    }
  }
  return columns;
}

// Reports a bad line: an error, or (skip_bad_lines) a warning for the first few and a count.
class BadLines {
 public:
  BadLines(const std::string& path, bool skip) : path_(path), skip_(skip) {}
  absl::Status Bad(int64_t line, const std::string& why) {
    const std::string msg = absl::StrCat(path_, ":", line, ": ", why);
    if (!skip_) return absl::InvalidArgumentError(absl::StrCat(msg, " (--skip_bad_lines skips such lines)"));
    if (++count_ <= 5) UER_LOG(WARNING) << "skipped " << msg;
    return absl::OkStatus();
  }
  int64_t count() const { return count_; }

 private:
  std::string path_;
  bool skip_;
  int64_t count_ = 0;
};

void CutAndPad(std::vector<int64_t>* src, std::vector<int64_t>* seg, int64_t seq_length, int64_t pad_id) {
  if (static_cast<int64_t>(src->size()) > seq_length) {
    src->resize(seq_length);
    seg->resize(seq_length);
  }
  src->resize(seq_length, pad_id);
  seg->resize(seq_length, 0);
}

torch::Tensor Rows(const std::vector<std::vector<int64_t>>& rows, int64_t width) {
  torch::Tensor t = torch::empty({static_cast<int64_t>(rows.size()), width}, torch::kLong);
  int64_t* p = t.data_ptr<int64_t>();
  for (const auto& r : rows) p = std::copy(r.begin(), r.end(), p);
  return t;
}

constexpr char kOneGpu[] = "fine-tuning runs on one GPU: give one rank in --gpu_ranks";

// A data set as tensors on the CPU: src, seg [n, seq]; label [n] or [n, seq].
struct Tensors {
  torch::Tensor src, seg, label;
  // Cut each batch after its longest sequence ("dynamic padding"). Only where the outputs that count
  // cannot change: the first position's output of the transformer encoders, whose attention gives
  // padding exp(-10000) = 0 weight (the same numbers, less work on short texts).
  bool trim_padding = false;
  int64_t size() const { return src.size(0); }
};

// src and seg of rows [begin, begin + len), cut after the longest sequence when asked.
std::pair<torch::Tensor, torch::Tensor> BatchInputs(const Tensors& t, int64_t begin, int64_t len) {
  torch::Tensor src = t.src.narrow(0, begin, len), seg = t.seg.narrow(0, begin, len);
  if (t.trim_padding) {
    const int64_t longest = std::max<int64_t>(1, seg.gt(0).sum(1).max().item<int64_t>());
    src = src.narrow(1, 0, longest);
    seg = seg.narrow(1, 0, longest);
  }
  return {src, seg};
}

// Whether batches may be cut after their longest row: nothing the task reads sits in the padding, and
// the encoder's outputs at the tokens do not see trailing padding (capabilities the plugins declare).
bool CanTrimPadding(const runtime::FinetuneModel& m) {
  return !m.task->ReadsPadding() && m.encoder->TrailingPaddingInvisible();
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

absl::Status EnsureParentDir(const std::string& path) {
  fs::path parent = fs::path(path).parent_path();
  if (parent.empty()) return absl::OkStatus();
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create ", parent.string(), ": ", ec.message()));
  return absl::OkStatus();
}

struct Built {
  std::shared_ptr<runtime::FinetuneModel> model;
  torch::Device device{torch::kCPU};
};

// The fine-tuning model: pre-trained weights (target heads ignored, the task head new) or UER-py
// seed's initialisation of embedding and encoder from N(0, 0.02).
absl::StatusOr<Built> BuildForTraining(const FinetuneOptions& o, const core::v1::ModelConfig& config,
                                       const std::string& task, int64_t vocab_size) {
  Built b;
  runtime::FlushSubnormals();
  UER_ASSIGN_OR_RETURN(b.device, runtime::SingleProcessDevice(o.gpu_ranks, kOneGpu));
  torch::manual_seed(o.seed);
  UER_ASSIGN_OR_RETURN(b.model, runtime::BuildFinetuneModel(config, task, {vocab_size, 0}));
  if (!o.pretrained_model_path.empty()) {
    runtime::LoadOptions lo;
    lo.allow_unexpected_target = true;
    lo.missing_ok_prefixes = {"output_layer"};
    UER_ASSIGN_OR_RETURN(std::string gen, runtime::LoadModelWeights(b.model.get(), o.pretrained_model_path, lo));
    UER_LOG(INFO) << "loaded " << o.pretrained_model_path << " (" << gen << " keys); the " << task
                  << " head starts anew";
  } else {
    runtime::InitWeights(b.model->embedding.get(), 0.02, o.seed);
    runtime::InitWeights(b.model->encoder.get(), 0.02, o.seed);
    UER_LOG(INFO) << "no --pretrained_model_path: training from scratch";
  }
  if (const int64_t max = b.model->embedding->max_positions(); max > 0 && o.seq_length > max) {
    return absl::InvalidArgumentError(absl::StrCat("--seq_length ", o.seq_length, " is more than the model's max_seq_length ", max));
  }
  b.model->to(b.device);
  return b;
}

// UER-py's fine-tuning loop: batches in order (the training set was shuffled once), BertAdam over
// int(n * epochs / batch) + 1 steps, a dev evaluation after each epoch, the best model saved.
absl::Status TrainEpochs(const FinetuneOptions& o, runtime::FinetuneModel* model, torch::Device device,
                         const Tensors& train, const std::function<absl::StatusOr<double>()>& evaluate_dev,
                         FinetuneResult* result) {
  const int64_t n = train.size(), bs = o.batch_size;
  const int64_t batches = (n + bs - 1) / bs;
  runtime::OptimizerOptions oo;
  oo.learning_rate = o.learning_rate;
  oo.warmup = o.warmup;
  oo.total_steps = static_cast<int64_t>(static_cast<double>(n) * o.epochs_num / bs) + 1;
  runtime::BertAdam optimizer(model->named_parameters(), oo);
  UER_LOG(INFO) << "batch size " << bs << ", " << n << " training instances, " << batches << " batches an epoch, "
                << o.epochs_num << " epochs";
  bool saved = false;
  for (int epoch = 1; epoch <= o.epochs_num; ++epoch) {
    model->train();
    double total_loss = 0;
    auto epoch_start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < batches; ++i) {
      const int64_t begin = i * bs, len = std::min(bs, n - begin);
      model->zero_grad();
      auto [src_cpu, seg_cpu] = BatchInputs(train, begin, len);
      torch::Tensor src = src_cpu.to(device), seg = seg_cpu.to(device);
      torch::Tensor label = train.label.narrow(0, begin, len).to(device);
      core::TargetOutput out = model->Forward(src, seg, {{"label", label}});
      const double loss = out.loss.item<double>();
      if (!std::isfinite(loss)) {
        return absl::InternalError(absl::StrCat("the loss is ", loss, " in epoch ", epoch, " at step ", i + 1,
                                                "; stopped (", saved ? "the best model so far is " + o.output_model_path
                                                                     : "nothing was saved",
                                                "). Lower --learning_rate or check the data"));
      }
      total_loss += loss;
      out.loss.backward();
      optimizer.Step();
      result->train_samples += len;
      if ((i + 1) % o.report_steps == 0) {
        const double elapsed = Seconds(epoch_start);
        const double per_batch = elapsed / static_cast<double>(i + 1);
        UER_LOG(INFO) << absl::StrFormat("Epoch id: %d, Training steps: %d/%d, Avg loss: %.3f, %.1f samples/s, "
                                         "elapsed %s, epoch ETA %s",
                                         epoch, i + 1, batches, total_loss / o.report_steps,
                                         static_cast<double>((i + 1) * bs) / elapsed, FormatDuration(elapsed),
                                         FormatDuration(per_batch * static_cast<double>(batches - i - 1)));
        total_loss = 0;
      }
    }
    result->train_seconds += Seconds(epoch_start);
    auto eval_start = std::chrono::steady_clock::now();
    UER_ASSIGN_OR_RETURN(double metric, evaluate_dev());
    result->eval_seconds += Seconds(eval_start);
    result->dev_metric.push_back(metric);
    if (!saved || metric > result->best_dev) {
      result->best_dev = metric;
      UER_RETURN_IF_ERROR(EnsureParentDir(o.output_model_path));
      UER_RETURN_IF_ERROR(runtime::SaveStateDict(o.output_model_path, runtime::ModelStateDict(*model)));
      saved = true;
      UER_LOG(INFO) << "epoch " << epoch << ": dev " << metric << ", the best so far: saved " << o.output_model_path;
    } else {
      UER_LOG(INFO) << "epoch " << epoch << ": dev " << metric << " (best " << result->best_dev << ")";
    }
  }
  return absl::OkStatus();
}

// Forward passes over `data` in eval mode; calls `use(begin, out)` per batch.
void Predict(runtime::FinetuneModel* model, torch::Device device, const Tensors& data, int64_t bs, bool with_label,
             const std::function<void(int64_t, const core::TargetOutput&)>& use) {
  torch::NoGradGuard no_grad;
  model->eval();
  const int64_t n = data.size();
  for (int64_t begin = 0; begin < n; begin += bs) {
    const int64_t len = std::min(bs, n - begin);
    core::TensorMap inputs;
    if (with_label) inputs["label"] = data.label.narrow(0, begin, len).to(device);
    auto [src, seg] = BatchInputs(data, begin, len);
    use(begin, model->Forward(src.to(device), seg.to(device), inputs));
  }
}

torch::Tensor Logits(const core::TargetOutput& out) { return out.Find("logits")->to(torch::kCPU); }

// ---- Classifier ----

struct ClassifierSet {
  ClassifierData data;
  Tensors tensors;
};

absl::StatusOr<ClassifierSet> LoadClassifierSet(const std::string& path, const core::Tokenizer& tokenizer,
                                                const TsvOptions& topts) {
  ClassifierSet s;
  UER_ASSIGN_OR_RETURN(s.data, ReadClassifierTsv(path, tokenizer, topts));
  if (s.data.examples.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": no examples"));
  std::vector<std::vector<int64_t>> src, seg;
  std::vector<int64_t> label;
  for (const auto& e : s.data.examples) {
    src.push_back(e.src);
    seg.push_back(e.seg);
    label.push_back(std::max<int64_t>(e.label, 0));
  }
  s.tensors.src = Rows(src, topts.seq_length);
  s.tensors.seg = Rows(seg, topts.seq_length);
  s.tensors.label = torch::tensor(label, torch::kLong);
  if (s.data.skipped) UER_LOG(WARNING) << path << ": " << s.data.skipped << " bad lines skipped";
  return s;
}

absl::Status CheckLabelsKnown(const std::string& path, const ClassifierData& data, const std::set<int64_t>& train) {
  for (const auto& e : data.examples) {
    if (!train.count(e.label)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", e.line, ": label ", e.label,
                                                     " does not occur in the training file (its labels: ",
                                                     absl::StrJoin(train, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

// Accuracy (or MRR) of the model on a set; `report` gets UER-py's printout.
double EvaluateClassifier(runtime::FinetuneModel* model, torch::Device device, const ClassifierSet& set, int64_t bs,
                          int64_t labels_num, bool mrr, bool full, std::string* report) {
  std::vector<int64_t> pred, gold;
  std::vector<double> score;
  Predict(model, device, set.tensors, bs, false, [&](int64_t, const core::TargetOutput& out) {
    torch::Tensor logits = Logits(out);
    torch::Tensor p = logits.argmax(1).contiguous();
    torch::Tensor s1 = torch::softmax(logits, 1).select(1, std::min<int64_t>(1, labels_num - 1)).to(torch::kDouble).contiguous();
    pred.insert(pred.end(), p.data_ptr<int64_t>(), p.data_ptr<int64_t>() + p.numel());
    score.insert(score.end(), s1.data_ptr<double>(), s1.data_ptr<double>() + s1.numel());
  });
  for (const auto& e : set.data.examples) gold.push_back(e.label);
  if (mrr) {
    std::vector<int64_t> qids;
    for (const auto& e : set.data.examples) qids.push_back(e.qid);
    const double m = MeanReciprocalRank(qids, gold, score);
    *report = absl::StrFormat("MRR: %.4f (%d candidates)", m, gold.size());
    return m;
  }
  ClassificationReport r = Classification(pred, gold, labels_num);
  *report = r.ToString(full);
  return r.accuracy;
}

// ---- NER ----

struct NerSet {
  NerData data;
  Tensors tensors;
};

absl::StatusOr<NerSet> LoadNerSet(const std::string& path, const core::Vocab& vocab, const NerLabels& labels,
                                  const TsvOptions& topts) {
  NerSet s;
  UER_ASSIGN_OR_RETURN(s.data, ReadNerTsv(path, vocab, labels, topts));
  if (s.data.examples.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": no examples"));
  std::vector<std::vector<int64_t>> src, seg, label;
  for (const auto& e : s.data.examples) {
    src.push_back(e.src);
    seg.push_back(e.seg);
    label.push_back(e.label.empty() ? std::vector<int64_t>(topts.seq_length, 0) : e.label);
  }
  s.tensors.src = Rows(src, topts.seq_length);
  s.tensors.seg = Rows(seg, topts.seq_length);
  s.tensors.label = Rows(label, topts.seq_length);
  if (s.data.skipped) UER_LOG(WARNING) << path << ": " << s.data.skipped << " bad lines skipped";
  return s;
}

double EvaluateNer(runtime::FinetuneModel* model, torch::Device device, const NerSet& set, int64_t bs,
                   const NerLabels& labels, std::string* report) {
  EntityCounts counts;
  Predict(model, device, set.tensors, bs, false, [&](int64_t begin, const core::TargetOutput& out) {
    torch::Tensor pred = out.Find("predict")->to(torch::kCPU).contiguous();
    const int64_t seq = pred.size(1);
    for (int64_t j = 0; j < pred.size(0); ++j) {
      const int64_t* p = pred[j].data_ptr<int64_t>();
      const auto& gold = set.data.examples[begin + j].label;
      counts.Add(gold, std::vector<int64_t>(p, p + seq), labels);
    }
  });
  *report = absl::StrFormat("Report precision, recall, and f1: %.3f, %.3f, %.3f (%d correct, %d predicted, %d gold entities)",
                            counts.precision(), counts.recall(), counts.f1(), counts.correct, counts.predicted,
                            counts.gold);
  return counts.f1();
}

absl::Status CheckCommon(const FinetuneOptions& o) {
  if (o.output_model_path.empty()) return absl::InvalidArgumentError("--output_model_path is required");
  if (o.batch_size < 1 || o.seq_length < 1 || o.epochs_num < 1 || o.report_steps < 1) {
    return absl::InvalidArgumentError("--batch_size, --seq_length, --epochs_num and --report_steps must be >= 1");
  }
  return absl::OkStatus();
}

}  // namespace

// ---- Data ------------------------------------------------------------------------------------------

absl::StatusOr<ClassifierData> ReadClassifierTsv(const std::string& path, const core::Tokenizer& tokenizer,
                                                 const TsvOptions& o) {
  UER_ASSIGN_OR_RETURN(std::vector<std::string> lines, ReadLines(path));
  std::vector<std::string> required = {"text_a"};
  if (o.need_label) required.insert(required.begin(), "label");
  UER_ASSIGN_OR_RETURN(auto columns, Header(path, lines[0], required));
  const size_t width = SplitTabs(lines[0]).size();
  ClassifierData data;
  data.pair = columns.count("text_b") > 0;
  data.has_qid = columns.count("qid") > 0;
  const bool has_label = columns.count("label") > 0;
  BadLines bad(path, o.skip_bad_lines);
  const core::Vocab& vocab = tokenizer.vocab();
  for (size_t i = 1; i < lines.size(); ++i) {
    const int64_t line_no = static_cast<int64_t>(i) + 1;
    if (lines[i].empty() && i + 1 == lines.size()) break;  // a trailing empty line
    std::vector<std::string> f = SplitTabs(lines[i]);
    if (f.size() != width) {
      UER_RETURN_IF_ERROR(bad.Bad(line_no, absl::StrCat("expected ", width, " tab-separated columns (",
                                                        absl::StrJoin(SplitTabs(lines[0]), ", "), "), got ", f.size())));
      continue;
    }
    ClassifierExample e;
    e.line = line_no;
    if (has_label) {
      const std::string& l = f[columns["label"]];
      if (!absl::SimpleAtoi(l, &e.label) || e.label < 0) {
        if (o.need_label) {
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
    std::vector<int64_t> a = tokenizer.TokenizeToIds(f[columns["text_a"]]);
    e.src.push_back(vocab.cls_id());
    e.src.insert(e.src.end(), a.begin(), a.end());
    if (data.pair) {
      e.src.push_back(vocab.sep_id());
      e.seg.assign(e.src.size(), 1);
      std::vector<int64_t> b = tokenizer.TokenizeToIds(f[columns["text_b"]]);
      e.src.insert(e.src.end(), b.begin(), b.end());
      e.src.push_back(vocab.sep_id());
      e.seg.resize(e.src.size(), 2);
    } else {
      e.seg.assign(e.src.size(), 1);
    }
    CutAndPad(&e.src, &e.seg, o.seq_length, vocab.pad_id());
    data.examples.push_back(std::move(e));
  }
  data.skipped = bad.count();
  return data;
}

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

absl::StatusOr<NerLabels> CollectNerLabels(const std::string& path, const TsvOptions& o) {
  UER_ASSIGN_OR_RETURN(std::vector<std::string> lines, ReadLines(path));
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
                                   const TsvOptions& o) {
  UER_ASSIGN_OR_RETURN(std::vector<std::string> lines, ReadLines(path));
  std::vector<std::string> required = {"text_a"};
  if (o.need_label) required.push_back("label");
  UER_ASSIGN_OR_RETURN(auto columns, Header(path, lines[0], required));
  const size_t width = SplitTabs(lines[0]).size();
  NerData data;
  BadLines bad(path, o.skip_bad_lines);
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
    if (o.need_label) {
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
    CutAndPad(&e.src, &e.seg, o.seq_length, vocab.pad_id());
    if (!e.label.empty()) e.label.resize(o.seq_length, 0);
    data.examples.push_back(std::move(e));
  }
  data.skipped = bad.count();
  return data;
}

absl::Status WriteNerLabels(const std::string& path, const NerLabels& labels) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (size_t i = 0; i < labels.names.size(); ++i) j[labels.names[i]] = i;
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << j.dump(1) << "\n";
    if (!out) return absl::DataLossError(absl::StrCat("cannot write ", tmp));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return absl::DataLossError(absl::StrCat("cannot write ", path, ": ", ec.message()));
  return absl::OkStatus();
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

// ---- Metrics ---------------------------------------------------------------------------------------

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

// ---- Training and inference ------------------------------------------------------------------------

absl::StatusOr<FinetuneResult> RunClassifier(const FinetuneOptions& o) {
  UER_RETURN_IF_ERROR(CheckCommon(o));
  UER_ASSIGN_OR_RETURN(core::Vocab loaded, core::Vocab::Load(o.vocab_path));
  auto vocab = std::make_shared<const core::Vocab>(std::move(loaded));
  core::TokenizerOptions topts_tok;
  topts_tok.vocab = vocab;
  UER_ASSIGN_OR_RETURN(auto tokenizer, core::CreateTokenizer(o.config.tokenizer(), topts_tok));
  TsvOptions topts;
  topts.seq_length = o.seq_length;
  topts.skip_bad_lines = o.skip_bad_lines;
  UER_ASSIGN_OR_RETURN(ClassifierSet train, LoadClassifierSet(o.train_path, *tokenizer, topts));
  UER_ASSIGN_OR_RETURN(ClassifierSet dev, LoadClassifierSet(o.dev_path, *tokenizer, topts));
  std::set<int64_t> train_labels;
  for (const auto& e : train.data.examples) train_labels.insert(e.label);
  UER_RETURN_IF_ERROR(CheckLabelsKnown(o.dev_path, dev.data, train_labels));
  std::optional<ClassifierSet> test;
  if (!o.test_path.empty()) {
    UER_ASSIGN_OR_RETURN(test, LoadClassifierSet(o.test_path, *tokenizer, topts));
    UER_RETURN_IF_ERROR(CheckLabelsKnown(o.test_path, test->data, train_labels));
  }
  if (o.mean_reciprocal_rank && !(dev.data.has_qid && (!test || test->data.has_qid))) {
    return absl::InvalidArgumentError("--mean_reciprocal_rank needs a qid column in the dev and test files");
  }
  FinetuneResult result;
  result.labels_num = *train_labels.rbegin() + 1;
  if (result.labels_num < 2) result.labels_num = 2;
  if (static_cast<int64_t>(train_labels.size()) != result.labels_num) {
    UER_LOG(WARNING) << o.train_path << " has " << train_labels.size() << " distinct labels but the largest is "
                     << *train_labels.rbegin() << ": the classifier has " << result.labels_num << " outputs";
  }
  core::v1::ModelConfig config = o.config;
  config.set_labels_num(static_cast<int32_t>(result.labels_num));
  UER_ASSIGN_OR_RETURN(Built b, BuildForTraining(o, config, "classifier", vocab->size()));

  // UER-py shuffles the training set once, with Python's random seeded by --seed.
  std::vector<int64_t> order(train.tensors.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  core::PythonRandom rng(o.seed);
  rng.Shuffle(order);
  torch::Tensor index = torch::tensor(order, torch::kLong);
  Tensors shuffled{train.tensors.src.index_select(0, index), train.tensors.seg.index_select(0, index),
                   train.tensors.label.index_select(0, index), CanTrimPadding(*b.model)};
  dev.tensors.trim_padding = CanTrimPadding(*b.model);
  if (test) test->tensors.trim_padding = CanTrimPadding(*b.model);
  result.train_instances = shuffled.size();

  auto evaluate_dev = [&]() -> absl::StatusOr<double> {
    std::string report;
    double m = EvaluateClassifier(b.model.get(), b.device, dev, o.batch_size, result.labels_num,
                                  o.mean_reciprocal_rank, false, &report);
    result.eval_samples += dev.tensors.size();
    UER_LOG(INFO) << "dev: " << report;
    return m;
  };
  UER_RETURN_IF_ERROR(TrainEpochs(o, b.model.get(), b.device, shuffled, evaluate_dev, &result));
  if (test) {
    UER_RETURN_IF_ERROR(runtime::LoadModelWeights(b.model.get(), o.output_model_path, {}).status());
    result.test_metric = EvaluateClassifier(b.model.get(), b.device, *test, o.batch_size, result.labels_num,
                                            o.mean_reciprocal_rank, true, &result.test_report);
    result.test_report = absl::StrCat("Test set evaluation (", test->tensors.size(), " instances, the best model by dev):\n",
                                      result.test_report);
  }
  return result;
}

absl::StatusOr<FinetuneResult> RunNer(const FinetuneOptions& o) {
  UER_RETURN_IF_ERROR(CheckCommon(o));
  UER_ASSIGN_OR_RETURN(core::Vocab vocab, core::Vocab::Load(o.vocab_path));
  TsvOptions topts;
  topts.seq_length = o.seq_length;
  topts.skip_bad_lines = o.skip_bad_lines;
  UER_ASSIGN_OR_RETURN(NerLabels labels, CollectNerLabels(o.train_path, topts));
  UER_LOG(INFO) << "labels: " << absl::StrJoin(labels.names, " ");
  if (labels.o_id < 0) UER_LOG(WARNING) << o.train_path << " has no \"O\" label";
  UER_ASSIGN_OR_RETURN(NerSet train, LoadNerSet(o.train_path, vocab, labels, topts));
  UER_ASSIGN_OR_RETURN(NerSet dev, LoadNerSet(o.dev_path, vocab, labels, topts));
  std::optional<NerSet> test;
  if (!o.test_path.empty()) {
    UER_ASSIGN_OR_RETURN(test, LoadNerSet(o.test_path, vocab, labels, topts));
  }

  FinetuneResult result;
  result.labels_num = static_cast<int64_t>(labels.names.size());
  result.train_instances = train.tensors.size();
  core::v1::ModelConfig config = o.config;
  config.set_labels_num(static_cast<int32_t>(result.labels_num));
  UER_ASSIGN_OR_RETURN(Built b, BuildForTraining(o, config, "ner", vocab.size()));
  UER_RETURN_IF_ERROR(EnsureParentDir(o.output_model_path));
  UER_RETURN_IF_ERROR(WriteNerLabels(o.output_model_path + ".labels.json", labels));

  auto evaluate_dev = [&]() -> absl::StatusOr<double> {
    std::string report;
    double f1 = EvaluateNer(b.model.get(), b.device, dev, o.batch_size, labels, &report);
    result.eval_samples += dev.tensors.size();
    UER_LOG(INFO) << "dev: " << report;
    return f1;
  };
  // UER-py's run_ner.py does not shuffle.
  UER_RETURN_IF_ERROR(TrainEpochs(o, b.model.get(), b.device, train.tensors, evaluate_dev, &result));
  if (test) {
    UER_RETURN_IF_ERROR(runtime::LoadModelWeights(b.model.get(), o.output_model_path, {}).status());
    result.test_metric = EvaluateNer(b.model.get(), b.device, *test, o.batch_size, labels, &result.test_report);
    result.test_report = absl::StrCat("Test set evaluation (", test->tensors.size(), " instances, the best model by dev):\n",
                                      result.test_report);
  }
  return result;
}

namespace {

absl::StatusOr<Built> BuildForInference(const InferOptions& o, core::v1::ModelConfig config, const std::string& task,
                                        int64_t vocab_size, const core::StateDict& state) {
  Built b;
  UER_ASSIGN_OR_RETURN(b.device, runtime::SingleProcessDevice(o.gpu_ranks, kOneGpu));
  UER_ASSIGN_OR_RETURN(b.model, runtime::BuildFinetuneModel(config, task, {vocab_size, 0}));
  runtime::LoadOptions lo;
  lo.allow_unexpected_target = true;  // UER-py's NER models keep their pseudo target
  UER_RETURN_IF_ERROR(runtime::LoadModelWeights(b.model.get(), state, o.load_model_path, lo).status());
  if (const int64_t max = b.model->embedding->max_positions(); max > 0 && o.seq_length > max) {
    return absl::InvalidArgumentError(absl::StrCat("--seq_length ", o.seq_length, " is more than the model's max_seq_length ", max));
  }
  b.model->to(b.device);
  return b;
}

absl::Status CheckInfer(const InferOptions& o) {
  if (o.load_model_path.empty() || o.test_path.empty() || o.prediction_path.empty()) {
    return absl::InvalidArgumentError("--load_model_path, --test_path and --prediction_path are required");
  }
  if (o.batch_size < 1 || o.seq_length < 1) return absl::InvalidArgumentError("--batch_size and --seq_length must be >= 1");
  return absl::OkStatus();
}

// Writes `text` to `path` through a temporary file.
absl::Status WriteAtomically(const std::string& path, const std::string& text) {
  UER_RETURN_IF_ERROR(EnsureParentDir(path));
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
    if (!out) return absl::DataLossError(absl::StrCat("cannot write ", tmp));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return absl::DataLossError(absl::StrCat("cannot write ", path, ": ", ec.message()));
  return absl::OkStatus();
}

std::string Floats(const torch::Tensor& row) {
  std::vector<std::string> parts;
  for (int64_t k = 0; k < row.size(0); ++k) parts.push_back(absl::StrFormat("%.6g", row[k].item<double>()));
  return absl::StrJoin(parts, " ");
}

}  // namespace

absl::Status RunClassifierInfer(const InferOptions& o) {
  UER_RETURN_IF_ERROR(CheckInfer(o));
  UER_ASSIGN_OR_RETURN(core::Vocab loaded, core::Vocab::Load(o.vocab_path));
  auto vocab = std::make_shared<const core::Vocab>(std::move(loaded));
  core::TokenizerOptions topts_tok;
  topts_tok.vocab = vocab;
  UER_ASSIGN_OR_RETURN(auto tokenizer, core::CreateTokenizer(o.config.tokenizer(), topts_tok));
  UER_ASSIGN_OR_RETURN(core::StateDict state, runtime::LoadStateDict(o.load_model_path));
  int64_t labels_num = o.labels_num;
  if (labels_num == 0) {
    for (const auto& [k, v] : state) {
      if (k == "output_layer_2.weight") labels_num = v.size(0);
    }
    if (labels_num == 0) {
      return absl::InvalidArgumentError(absl::StrCat(o.load_model_path, " has no output_layer_2.weight: not a "
                                                                        "run_classifier model"));
    }
  }
  core::v1::ModelConfig config = o.config;
  config.set_labels_num(static_cast<int32_t>(labels_num));
  UER_ASSIGN_OR_RETURN(Built b, BuildForInference(o, config, "classifier", vocab->size(), state));
  TsvOptions topts;
  topts.seq_length = o.seq_length;
  topts.need_label = false;
  UER_ASSIGN_OR_RETURN(ClassifierSet set, LoadClassifierSet(o.test_path, *tokenizer, topts));
  set.tensors.trim_padding = CanTrimPadding(*b.model);
  std::string text = "label";
  if (o.output_logits) text += "\tlogits";
  if (o.output_prob) text += "\tprob";
  text += "\n";
  Predict(b.model.get(), b.device, set.tensors, o.batch_size, false, [&](int64_t, const core::TargetOutput& out) {
    torch::Tensor logits = Logits(out);
    torch::Tensor pred = logits.argmax(1), prob = torch::softmax(logits, 1);
    for (int64_t j = 0; j < logits.size(0); ++j) {
      text += std::to_string(pred[j].item<int64_t>());
      if (o.output_logits) text += "\t" + Floats(logits[j]);
      if (o.output_prob) text += "\t" + Floats(prob[j]);
      text += "\n";
    }
  });
  UER_RETURN_IF_ERROR(WriteAtomically(o.prediction_path, text));
  UER_LOG(INFO) << "wrote " << set.tensors.size() << " predictions to " << o.prediction_path;
  return absl::OkStatus();
}

absl::Status RunNerInfer(const InferOptions& o) {
  UER_RETURN_IF_ERROR(CheckInfer(o));
  UER_ASSIGN_OR_RETURN(core::Vocab vocab, core::Vocab::Load(o.vocab_path));
  const std::string labels_path = o.label2id_path.empty() ? o.load_model_path + ".labels.json" : o.label2id_path;
  UER_ASSIGN_OR_RETURN(NerLabels labels, ReadNerLabels(labels_path));
  UER_ASSIGN_OR_RETURN(core::StateDict state, runtime::LoadStateDict(o.load_model_path));
  core::v1::ModelConfig config = o.config;
  config.set_labels_num(static_cast<int32_t>(labels.names.size()));
  UER_ASSIGN_OR_RETURN(Built b, BuildForInference(o, config, "ner", vocab.size(), state));
  TsvOptions topts;
  topts.seq_length = o.seq_length;
  topts.need_label = false;
  UER_ASSIGN_OR_RETURN(NerSet set, LoadNerSet(o.test_path, vocab, labels, topts));
  std::string text = "pred_label\n";
  Predict(b.model.get(), b.device, set.tensors, o.batch_size, false, [&](int64_t begin, const core::TargetOutput& out) {
    torch::Tensor pred = out.Find("predict")->to(torch::kCPU).contiguous();
    for (int64_t j = 0; j < pred.size(0); ++j) {
      const int64_t* p = pred[j].data_ptr<int64_t>();
      std::vector<std::string> names;
      for (int64_t k = 0; k < set.data.examples[begin + j].length; ++k) names.push_back(labels.names.at(p[k]));
      text += absl::StrJoin(names, " ") + "\n";
    }
  });
  UER_RETURN_IF_ERROR(WriteAtomically(o.prediction_path, text));
  UER_LOG(INFO) << "wrote " << set.tensors.size() << " predictions to " << o.prediction_path;
  return absl::OkStatus();
}

}  // namespace uer::tools
