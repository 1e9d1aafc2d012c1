#include "plugins/tasks/mrc/mrc_data.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/status_macros.h"
#include "core/text.h"

namespace uer::tasks {
namespace {

// The tokens of a window of the context and the characters each covers.
struct Aligned {
  std::vector<std::string> tokens;
  std::vector<int64_t> begin, end;  // context characters
};

// Tokens of chars [from, to) of `text`, aligned to characters: when the tokenizer gives one token a
// character of the stripped text (char; bert on CJK), token i is character i; otherwise each
// token's text is found in order (WordPiece's ## dropped, ASCII case ignored; an [UNK], or a token
// the tokenizer normalised, covers the stretch before the next token's text).
Aligned AlignTokens(const Utf8Text& text, std::string_view utf8, int64_t from, int64_t to, const core::Tokenizer& tok) {
  Aligned a;
  const std::string_view piece_text = utf8.substr(text.bytes[from], text.bytes[to] - text.bytes[from]);
  a.tokens = tok.Tokenize(piece_text);
  int64_t b = from, e = to;
  while (b < e && core::IsPythonSpace(text.chars[b])) ++b;
  while (e > b && core::IsPythonSpace(text.chars[e - 1])) --e;
  const int64_t n = static_cast<int64_t>(a.tokens.size());
  if (n == e - b) {
    for (int64_t i = 0; i < n; ++i) {
      a.begin.push_back(b + i);
      a.end.push_back(b + i + 1);
    }
    return a;
  }
  // Tokens laid on the text in order: a token's text (without WordPiece's "##") where it next
  // occurs (ASCII case ignored, spaces skipped), [UNK] up to where the next token's text starts.
  std::vector<std::u32string> texts;
  for (const std::string& t : a.tokens) {
    std::u32string u = Utf8Text(t.rfind("##", 0) == 0 ? std::string_view(t).substr(2) : std::string_view(t)).chars;
    for (char32_t& c : u) c = c < 0x80 ? static_cast<char32_t>(absl::ascii_tolower(static_cast<unsigned char>(c))) : c;
    texts.push_back(t == "[UNK]" ? std::u32string() : u);
  }
  auto lower = [&](int64_t i) {
    const char32_t c = text.chars[i];
    return c < 0x80 ? static_cast<char32_t>(absl::ascii_tolower(static_cast<unsigned char>(c))) : c;
  };
  auto matches_at = [&](const std::u32string& t, int64_t at) {
    if (t.empty() || at + static_cast<int64_t>(t.size()) > to) return false;
    for (size_t k = 0; k < t.size(); ++k) {
      if (lower(at + static_cast<int64_t>(k)) != t[k]) return false;
    }
    return true;
  };
  std::vector<int64_t> gb, ge;
  int64_t cursor = from;
  for (int64_t k = 0; k < n;) {
    while (cursor < to && core::IsPythonSpace(text.chars[cursor])) ++cursor;
    if (matches_at(texts[k], cursor)) {
      gb.push_back(cursor);
      cursor += static_cast<int64_t>(texts[k].size());
      ge.push_back(cursor);
      ++k;
      continue;
    }
    // A run of tokens whose text is not here ([UNK]; a token the tokenizer normalised: accents
    // stripped, Hangul decomposed) ends at the first later token found at or after the cursor; the
    // run shares the characters before it in order.
    int64_t resume = n, at = to;
    for (int64_t j = k + 1; j < std::min<int64_t>(n, k + 16) && resume == n; ++j) {
      for (int64_t p = cursor; p < to; ++p) {
        if (matches_at(texts[j], p)) {
          resume = j;
          at = p;
          break;
        }
      }
    }
    if (resume == n) at = to;
    int64_t stop = at;
    while (stop > cursor && core::IsPythonSpace(text.chars[stop - 1])) --stop;
    const int64_t tokens = resume - k, chars = std::max<int64_t>(stop - cursor, 1);
    // As many words (between spaces) as tokens: a token a word.
    std::vector<std::pair<int64_t, int64_t>> words;
    for (int64_t p = cursor; p < stop;) {
      while (p < stop && core::IsPythonSpace(text.chars[p])) ++p;
      int64_t q = p;
      while (q < stop && !core::IsPythonSpace(text.chars[q])) ++q;
      if (q > p) words.emplace_back(p, q);
      p = q;
    }
    if (static_cast<int64_t>(words.size()) == tokens) {
      for (const auto& [wb, we] : words) {
        gb.push_back(wb);
        ge.push_back(we);
      }
      cursor = at;
      k = resume;
      continue;
    }
    for (int64_t i = 0; i < tokens; ++i) {
      const int64_t b0 = std::min(cursor + i * chars / tokens, to - 1);
      const int64_t e0 = i + 1 == tokens ? std::max(b0 + 1, std::min(stop, to)) : std::min(cursor + (i + 1) * chars / tokens, to);
      gb.push_back(b0);
      ge.push_back(std::max(e0, b0 + 1));
    }
    cursor = at;
    k = resume;
  }
  a.begin = std::move(gb);
  a.end = std::move(ge);
  return a;
}

absl::Status Bad(const std::string& path, const std::string& where, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", where, ": ", what));
}

}  // namespace

absl::StatusOr<MrcFile> ReadSquadJson(const std::string& path, bool with_answers, bool locate_answers) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(buffer.str());
  } catch (const nlohmann::json::parse_error& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not JSON (byte ", e.byte, ")"));
  } catch (const nlohmann::json::exception& e) {  // a number too large for any type, ...
    return absl::InvalidArgumentError(absl::StrCat(path, ": not usable JSON: ", e.what()));
  }
  if (!doc.is_object() || !doc.contains("data") || !doc["data"].is_array()) {
    return Bad(path, "top level", "expected an object with a \"data\" list (SQuAD format)");
  }
  MrcFile file;
  auto text_of = [](const nlohmann::json& o, const char* key) -> const std::string* {
    auto it = o.find(key);
    return it != o.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
  };
  const auto& data = doc["data"];
  for (size_t d = 0; d < data.size(); ++d) {
    const auto& article = data[d];
    if (!article.is_object() || !article.contains("paragraphs") || !article["paragraphs"].is_array()) {
      return Bad(path, absl::StrCat("data[", d, "]"), "no \"paragraphs\" list");
    }
    const auto& paragraphs = article["paragraphs"];
    for (size_t p = 0; p < paragraphs.size(); ++p) {
      const std::string where = absl::StrCat("data[", d, "].paragraphs[", p, "]");
      const auto& para = paragraphs[p];
      const std::string* context = para.is_object() ? text_of(para, "context") : nullptr;
      if (!context) return Bad(path, where, "no \"context\" string");
      if (!para.contains("qas") || !para["qas"].is_array()) return Bad(path, where, "no \"qas\" list");
      Utf8Text ctx(*context);
      for (size_t k = 0; k < para["qas"].size(); ++k) {
        const auto& qa = para["qas"][k];
        const std::string qwhere = absl::StrCat(where, ".qas[", k, "]");
        const std::string* question = qa.is_object() ? text_of(qa, "question") : nullptr;
        if (!question) return Bad(path, qwhere, "no \"question\" string");
        MrcQuestion q;
        q.question = *question;
        q.context = *context;
        if (const std::string* id = text_of(qa, "id")) {
          q.id = *id;
        } else if (qa.contains("id") && qa["id"].is_number_integer()) {
          q.id = std::to_string(qa["id"].get<int64_t>());
        } else {
          return Bad(path, qwhere, "no \"id\"");
        }
        const bool has_list = qa.contains("answers") && qa["answers"].is_array();
        if (with_answers && (!has_list || qa["answers"].empty())) {
          return Bad(path, absl::StrCat("question ", q.id), "no answers");
        }
        if (has_list) {
          for (const auto& ans : qa["answers"]) {
            const std::string* text = ans.is_object() ? text_of(ans, "text") : nullptr;
            if (!text || !ans.contains("answer_start") || !ans["answer_start"].is_number_integer()) {
              return Bad(path, absl::StrCat("question ", q.id), "an answer without \"text\" and \"answer_start\"");
            }
            MrcAnswer a{*text, ans["answer_start"].get<int64_t>()};
            if (locate_answers && with_answers && q.answers.empty()) {
              // The training answer must be in the context; one not at its answer_start moves to
              // the nearest place its text occurs.
              const std::u32string t = Utf8Text(a.text).chars;
              if (t.empty()) return Bad(path, absl::StrCat("question ", q.id), "an empty answer");
              if (a.start < 0 || a.start + static_cast<int64_t>(t.size()) > ctx.size() ||
                  ctx.chars.compare(a.start, t.size(), t) != 0) {
                int64_t best = -1;
                for (size_t at = ctx.chars.find(t); at != std::u32string::npos; at = ctx.chars.find(t, at + 1)) {
                  if (best < 0 || std::llabs(static_cast<int64_t>(at) - a.start) < std::llabs(best - a.start)) best = at;
                }
                if (best < 0) {
                  return Bad(path, absl::StrCat("question ", q.id),
                             absl::StrCat("the answer \"", a.text, "\" is not in its context"));
                }
                a.start = best;
                ++file.relocated;
              }
            }
            q.answers.push_back(std::move(a));
          }
        }
        file.questions.push_back(std::move(q));
      }
    }
  }
  return file;
}

std::vector<MrcWindow> MakeWindows(const MrcQuestion& q, int64_t question_index, const core::Tokenizer& tokenizer,
                                   const MrcWindowOptions& o) {
  std::vector<MrcWindow> out;
  const Utf8Text question(q.question);
  const Utf8Text context(q.context);
  const int64_t max_context = o.seq_length - question.size() - 3;
  if (max_context <= 0) return out;
  const core::Vocab& vocab = tokenizer.vocab();
  std::vector<int64_t> question_ids = tokenizer.ConvertTokensToIds(tokenizer.Tokenize(q.question));
  int64_t answer_begin = -1, answer_end = -1;
  if (!q.answers.empty()) {
    answer_begin = q.answers[0].start;
    answer_end = answer_begin + Utf8Text(q.answers[0].text).size();
  }
  // The seed's doc spans.
  std::vector<std::pair<int64_t, int64_t>> spans;
  for (int64_t offset = 0; offset < context.size();) {
    const int64_t length = std::min(context.size() - offset, max_context);
    spans.emplace_back(offset, length);
    if (offset + length == context.size()) break;
    offset += std::min(length, o.doc_stride);
  }
  for (size_t s = 0; s < spans.size(); ++s) {
    const auto [offset, length] = spans[s];
    const bool holds = answer_begin >= offset && answer_end <= offset + length && answer_begin < answer_end;
    if (o.only_with_answer && !holds) continue;
    MrcWindow w;
    w.question = question_index;
    w.span_index = static_cast<int64_t>(s);
    w.offset = offset;
    w.length = length;
    w.src.push_back(vocab.cls_id());
    w.src.insert(w.src.end(), question_ids.begin(), question_ids.end());
    w.src.push_back(vocab.sep_id());
    w.seg.assign(w.src.size(), 1);
    w.char_begin.assign(w.src.size(), -1);
    w.char_end.assign(w.src.size(), -1);
    Aligned a = AlignTokens(context, q.context, offset, offset + length, tokenizer);
    const int64_t first = static_cast<int64_t>(w.src.size());
    for (size_t i = 0; i < a.tokens.size(); ++i) {
      w.src.push_back(vocab.IdOrUnk(a.tokens[i]));
      w.char_begin.push_back(a.begin[i]);
      w.char_end.push_back(a.end[i]);
    }
    w.src.push_back(vocab.sep_id());
    w.char_begin.push_back(-1);
    w.char_end.push_back(-1);
    w.seg.resize(w.src.size(), 2);
    if (holds) {
      // The start token holds the answer's first character; the (exclusive) end is after the token
      // holding its last.
      int64_t start = -1, last = -1;
      for (size_t i = 0; i < a.tokens.size(); ++i) {
        if (start < 0 && a.end[i] > answer_begin) start = first + static_cast<int64_t>(i);
        if (a.begin[i] < answer_end) last = first + static_cast<int64_t>(i);
      }
      if (start >= 0 && last >= start) {
        w.start = start;
        w.end = last + 1;
        w.has_answer = true;
      }
    }
    if (o.only_with_answer && !w.has_answer) continue;
    if (static_cast<int64_t>(w.src.size()) > o.seq_length) continue;  // a tokenizer that adds tokens
    out.push_back(std::move(w));
  }
  return out;
}

SpanChoice BestSpan(const float* start_logits, const float* end_logits, int64_t length, const MrcWindow& w,
                    int64_t max_answer_length) {
  auto log_softmax = [&](const float* x) {
    double m = -1e300;
    for (int64_t i = 0; i < length; ++i) m = std::max(m, static_cast<double>(x[i]));
    double sum = 0;
    for (int64_t i = 0; i < length; ++i) sum += std::exp(static_cast<double>(x[i]) - m);
    std::vector<double> out(length);
    for (int64_t i = 0; i < length; ++i) out[i] = static_cast<double>(x[i]) - m - std::log(sum);
    return out;
  };
  const std::vector<double> ls = log_softmax(start_logits), le = log_softmax(end_logits);
  SpanChoice best;
  const int64_t n = std::min<int64_t>(length, static_cast<int64_t>(w.char_begin.size()));
  for (int64_t s = 0; s < n; ++s) {
    if (w.char_begin[s] < 0) continue;  // starts in the window's context
    // The exclusive end: after a context token (the window's closing [SEP] included).
    for (int64_t e = s + 1; e <= std::min<int64_t>(n, s + max_answer_length); ++e) {
      if (w.char_begin[e - 1] < 0) break;
      const double score = ls[s] + le[std::min<int64_t>(e, length - 1)];
      if (score > best.score) best = {s, e, score};
    }
  }
  return best;
}

namespace {

// What a data set read by the mrc task keeps beside its tensors: its questions and windows.
struct MrcSet {
  MrcFile file;
  std::vector<MrcWindow> windows;  // one a row
  int64_t skipped_questions = 0;   // no room for the context
};

// Code points [from, to) of a UTF-8 text, clamped to it.
std::string SliceCodePoints(const std::string& utf8, int64_t from, int64_t to) {
  Utf8Text t(utf8);
  from = std::clamp<int64_t>(from, 0, t.size());
  to = std::clamp<int64_t>(to, from, t.size());
  return utf8.substr(t.bytes[from], t.bytes[to] - t.bytes[from]);
}

// The best span of each question over its windows, as rows of a data set arrive.
class SpanCollector {
 public:
  SpanCollector(std::shared_ptr<const MrcSet> set, int64_t max_answer_length)
      : set_(std::move(set)), max_answer_length_(max_answer_length), best_(set_->file.questions.size()) {}
  void Add(int64_t begin, const core::TargetOutput& out) {
    const torch::Tensor* logits = out.Find("logits");
    TORCH_CHECK(logits != nullptr, "the mrc head gave no logits");
    torch::Tensor l = logits->to(torch::kCPU, torch::kFloat32).contiguous();  // [batch, seq, 2]
    torch::Tensor start = l.select(2, 0).contiguous(), end = l.select(2, 1).contiguous();
    const int64_t seq = l.size(1);
    for (int64_t r = 0; r < l.size(0); ++r) {
      const MrcWindow& w = set_->windows[begin + r];
      SpanChoice c = BestSpan(start[r].data_ptr<float>(), end[r].data_ptr<float>(), seq, w, max_answer_length_);
      if (c.start < 0) continue;
      auto& b = best_[w.question];
      if (!b.has_value() || c.score > b->score) {
        const std::string& context = set_->file.questions[w.question].context;
        b = Best{c.score, SliceCodePoints(context, w.char_begin[c.start], w.char_end[c.end - 1])};
      }
    }
  }
  // The answer text of question i ("" without a span).
  std::string Answer(size_t i) const { return best_[i].has_value() ? best_[i]->text : ""; }
  const MrcSet& set() const { return *set_; }

 private:
  struct Best {
    double score;
    std::string text;
  };
  std::shared_ptr<const MrcSet> set_;
  int64_t max_answer_length_;
  std::vector<std::optional<Best>> best_;
};

class MrcEvaluator : public core::Evaluator {
 public:
  MrcEvaluator(std::shared_ptr<const MrcSet> set, int64_t max_answer_length)
      : spans_(std::move(set), max_answer_length) {}
  void Add(int64_t begin, const core::TargetOutput& out) override { spans_.Add(begin, out); }
  core::Evaluation Finish() override {
    const MrcSet& s = spans_.set();
    double f1 = 0, em = 0;
    int64_t skip = 0;
    const size_t total = s.file.questions.size();
    for (size_t i = 0; i < total; ++i) {
      std::vector<std::string> answers;
      for (const auto& a : s.file.questions[i].answers) answers.push_back(a.text);
      const std::string prediction = spans_.Answer(i);
      if (prediction.empty()) {
        ++skip;  // no span (a question without room for its context): a miss
        continue;
      }
      f1 += CmrcF1(answers, prediction);
      em += CmrcExactMatch(answers, prediction) ? 1 : 0;
    }
    f1 = total ? 100.0 * f1 / total : 0;
    em = total ? 100.0 * em / total : 0;
    const double avg = (f1 + em) / 2;
    return {avg, absl::StrFormat("Avg: %.4f,F1:%.4f,EM:%.4f,Total:%d,Skip:%d", avg, f1, em, total, skip),
            {{"avg", avg}, {"f1", f1}, {"em", em}}};
  }

 private:
  SpanCollector spans_;
};

// {"question id": "answer", ...} as one JSON object (UTF-8, as CMRC2018's evaluation reads it).
class MrcWriter : public core::PredictionWriter {
 public:
  MrcWriter(std::shared_ptr<const MrcSet> set, int64_t max_answer_length) : spans_(std::move(set), max_answer_length) {}
  std::string Header() const override { return ""; }
  void Add(int64_t begin, const core::TargetOutput& out, std::string*) override { spans_.Add(begin, out); }
  void Finish(std::string* text) override {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    const MrcSet& s = spans_.set();
    for (size_t i = 0; i < s.file.questions.size(); ++i) j[s.file.questions[i].id] = spans_.Answer(i);
    *text += j.dump(2, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
    *text += "\n";
  }

 private:
  SpanCollector spans_;
};

class MrcData : public core::TaskData {
 public:
  explicit MrcData(const core::TaskDataContext& c)
      : context_(c),
        doc_stride_(c.IntOption("doc_stride")),
        max_answer_length_(c.IntOption("max_answer_length")) {}

  absl::Status PrepareTraining(const std::string& train_path, const core::TaskReadOptions&,
                               core::v1::ModelConfig* config) override {
    train_path_ = train_path;
    if (doc_stride_ < 1) return absl::InvalidArgumentError("--doc_stride must be >= 1");
    if (max_answer_length_ < 1) return absl::InvalidArgumentError("--max_answer_length must be >= 1");
    config->set_labels_num(2);
    return absl::OkStatus();
  }
  absl::Status PrepareInference(const std::string& model_path, const core::StateDict& state,
                                core::v1::ModelConfig* config) override {
    bool found = false;
    for (const auto& [k, v] : state) found = found || k == "output_layer_2.weight";
    if (!found) return absl::InvalidArgumentError(absl::StrCat(model_path, " has no output_layer_2.weight: not a run_mrc model"));
    config->set_labels_num(2);
    return absl::OkStatus();
  }

  absl::StatusOr<core::TaskDataset> Read(const std::string& path, const core::TaskReadOptions& o) const override {
    const bool training = path == train_path_ && o.with_labels;
    auto set = std::make_shared<MrcSet>();
    // Only the training answers locate windows; dev and test answers are only scored against.
    UER_ASSIGN_OR_RETURN(set->file, ReadSquadJson(path, o.with_labels, /*locate_answers=*/training));
    if (set->file.questions.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": no questions"));
    if (set->file.relocated) {
      UER_LOG(WARNING) << path << ": " << set->file.relocated << " answers were not at their answer_start; moved to "
                       << "where their text is nearest in the context";
    }
    MrcWindowOptions wo;
    wo.seq_length = o.seq_length;
    wo.doc_stride = doc_stride_;
    wo.only_with_answer = training;  // evaluation keeps every window: the gold answer chooses nothing
    for (size_t i = 0; i < set->file.questions.size(); ++i) {
      std::vector<MrcWindow> w = MakeWindows(set->file.questions[i], static_cast<int64_t>(i), *context_.tokenizer, wo);
      if (w.empty() && Utf8Text(set->file.questions[i].question).size() + 3 >= o.seq_length) ++set->skipped_questions;
      for (auto& x : w) set->windows.push_back(std::move(x));
    }
    if (set->skipped_questions) {
      UER_LOG(WARNING) << path << ": " << set->skipped_questions << " questions leave no room for their context in "
                       << "--seq_length " << o.seq_length << " (they count as misses)";
    }
    if (set->windows.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": no window to read (--seq_length too short?)"));
    const int64_t n = static_cast<int64_t>(set->windows.size());
    core::TaskDataset t;
    t.src = torch::zeros({n, o.seq_length}, torch::kLong);
    t.seg = torch::zeros({n, o.seq_length}, torch::kLong);
    torch::Tensor label = torch::zeros({n, 2}, torch::kLong);
    auto src = t.src.accessor<int64_t, 2>();
    auto seg = t.seg.accessor<int64_t, 2>();
    auto lab = label.accessor<int64_t, 2>();
    for (int64_t r = 0; r < n; ++r) {
      const MrcWindow& w = set->windows[r];
      for (size_t i = 0; i < w.src.size(); ++i) {
        src[r][i] = w.src[i];
        seg[r][i] = w.seg[i];
      }
      lab[r][0] = w.start;
      lab[r][1] = w.end;
    }
    if (o.with_labels) t.inputs["label"] = label;
    sets_[t.src.data_ptr()] = set;
    return t;
  }

  // Serving: text_a is the question, text_b the context; the answer is the best span over the
  // context's windows, as run_mrc_infer chooses it, scored p(start) x p(end).
  core::ServedKind Serves() const override { return core::ServedKind::kSpan; }
  absl::StatusOr<core::TaskDataset> ReadText(const core::TextInput& input, const core::TaskReadOptions& o) const override {
    if (input.text_a.empty()) return absl::InvalidArgumentError("text_a (the question) is empty");
    if (input.text_b.empty()) return absl::InvalidArgumentError("text_b (the context) is empty");
    const std::vector<MrcWindow> windows = ServedWindows(input, o.seq_length);
    if (windows.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("text_a: the question leaves no room for the context in seq_length ",
                                                     o.seq_length));
    }
    const int64_t n = static_cast<int64_t>(windows.size());
    core::TaskDataset t;
    t.src = torch::zeros({n, o.seq_length}, torch::kLong);
    t.seg = torch::zeros({n, o.seq_length}, torch::kLong);
    auto src = t.src.accessor<int64_t, 2>();
    auto seg = t.seg.accessor<int64_t, 2>();
    for (int64_t r = 0; r < n; ++r) {
      for (size_t i = 0; i < windows[r].src.size() && static_cast<int64_t>(i) < o.seq_length; ++i) {
        src[r][i] = windows[r].src[i];
        seg[r][i] = windows[r].seg[i];
      }
    }
    return t;
  }
  absl::StatusOr<core::ServedAnswer> Answer(const core::TextInput& input, const core::TaskDataset& rows,
                                            const core::TargetOutput& out) const override {
    const std::vector<MrcWindow> windows = ServedWindows(input, rows.src.size(1));
    const torch::Tensor* logits = out.Find("logits");
    if (!logits || logits->dim() != 3 || logits->size(0) != static_cast<int64_t>(windows.size())) {
      return absl::InternalError("the mrc head's output has no logits for the input's windows");
    }
    torch::Tensor l = logits->to(torch::kCPU, torch::kFloat32).contiguous();
    torch::Tensor start = l.select(2, 0).contiguous(), end = l.select(2, 1).contiguous();
    core::ServedAnswer a;
    SpanChoice best;
    const MrcWindow* in = nullptr;
    for (size_t r = 0; r < windows.size(); ++r) {
      SpanChoice c = BestSpan(start[r].data_ptr<float>(), end[r].data_ptr<float>(), l.size(1), windows[r],
                              max_answer_length_);
      if (c.start >= 0 && c.score > best.score) best = c, in = &windows[r];
    }
    if (!in) return a;  // no span: no answer
    core::ServedSpan span;
    span.label = "answer";
    span.start = in->char_begin[best.start];
    span.end = in->char_end[best.end - 1];
    span.text = SliceCodePoints(input.text_b, span.start, span.end);
    span.score = std::exp(best.score);
    a.spans.push_back(std::move(span));
    return a;
  }

  std::string metric_name() const override { return "Avg (F1 + EM) / 2"; }
  std::unique_ptr<core::Evaluator> NewEvaluator(const core::TaskDataset& data, bool) const override {
    return std::make_unique<MrcEvaluator>(SetOf(data), max_answer_length_);
  }
  std::unique_ptr<core::PredictionWriter> NewPredictionWriter(const core::TaskDataset& data) const override {
    return std::make_unique<MrcWriter>(SetOf(data), max_answer_length_);
  }
  std::vector<std::string> NeededTokens() const override { return {"[CLS]", "[SEP]"}; }

 private:
  // The questions and windows behind a data set this object read (by its src storage).
  std::shared_ptr<const MrcSet> SetOf(const core::TaskDataset& data) const {
    auto it = sets_.find(data.src.data_ptr());
    TORCH_CHECK(it != sets_.end(), "an mrc data set not read by this task");
    return it->second;
  }
  std::vector<MrcWindow> ServedWindows(const core::TextInput& input, int64_t seq_length) const {
    MrcQuestion q;
    q.question = input.text_a;
    q.context = input.text_b;
    MrcWindowOptions wo;
    wo.seq_length = seq_length;
    wo.doc_stride = doc_stride_;
    return MakeWindows(q, 0, *context_.tokenizer, wo);
  }
  core::TaskDataContext context_;
  int64_t doc_stride_, max_answer_length_;
  std::string train_path_;
  mutable std::map<const void*, std::shared_ptr<const MrcSet>> sets_;
};

}  // namespace

std::unique_ptr<core::TaskData> NewMrcData(const core::TaskDataContext& context) {
  return std::make_unique<MrcData>(context);
}

}  // namespace uer::tasks
