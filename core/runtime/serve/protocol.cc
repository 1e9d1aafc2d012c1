#include "core/runtime/serve/protocol.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/version.h"
#include "nlohmann/json.hpp"

namespace uer::runtime::serve {
namespace {

using json = nlohmann::json;

absl::Status Invalid(const std::string& message) { return absl::InvalidArgumentError(message); }
absl::Status Unfit(const std::string& message) { return absl::FailedPreconditionError(message); }

absl::StatusOr<json> ParseJson(const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {  // "[json.exception.parse_error.101] parse error at line 1, ..."
    const std::string what = e.what();
    const size_t bracket = what.find("] ");
    return Invalid(absl::StrCat("malformed JSON: ", bracket == std::string::npos ? what : what.substr(bracket + 2)));
  }
  if (!j.is_object()) return Invalid("the body must be a JSON object");
  return j;
}

// A boolean field, `fallback` when absent.
absl::StatusOr<bool> BoolField(const json& j, const char* name, bool fallback) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) return Invalid(absl::StrCat(name, ": expected true or false, got ", it->dump()));
  return it->get<bool>();
}

std::vector<float> Softmax(const std::vector<float>& logits) {
  std::vector<float> p(logits.size());
  if (logits.empty()) return p;
  const float top = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i) sum += p[i] = std::exp(logits[i] - top);
  for (float& v : p) v = static_cast<float>(v / sum);
  return p;
}

// Label indices by score, highest first (ties: lower index first).
std::vector<size_t> Ranked(const std::vector<float>& scores) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  return order;
}

std::string LabelOf(const ModelInfo& info, size_t i) {
  return i < info.labels.size() ? info.labels[i] : std::to_string(i);
}

json SpanJson(const core::ServedSpan& s) {
  return {{"entity_group", s.label}, {"score", s.score}, {"word", s.text}, {"start", s.start}, {"end", s.end}};
}

absl::Status NeedKind(const ModelInfo& info, bool ok, const std::string& route, const std::string& what) {
  if (ok) return absl::OkStatus();
  return Unfit(absl::StrCat("model \"", info.name, "\" (task ", info.task, ") does not answer ", route, ": it needs ", what));
}

// ---- TEI's inputs ----

// TEI's "inputs": a text, a pair [a, b], or a batch of texts, [text] or [a, b]. `batch`: whether the
// answer is a list per input.
struct TeiInputs {
  std::vector<core::TextInput> texts;
  bool batch = false;
};

absl::StatusOr<core::TextInput> Sequence(const json& j, const std::string& where) {
  if (j.is_string()) return core::TextInput{j.get<std::string>(), ""};
  if (j.is_array() && !j.empty() && j.size() <= 2 && j[0].is_string() && (j.size() == 1 || j[1].is_string())) {
    return core::TextInput{j[0].get<std::string>(), j.size() == 2 ? j[1].get<std::string>() : ""};
  }
  return Invalid(absl::StrCat(where, ": expected a text, [text] or a pair [text, text_pair]"));
}

absl::StatusOr<TeiInputs> ReadTeiInputs(const json& body, bool pairs) {
  auto it = body.find("inputs");
  if (it == body.end()) return Invalid("inputs: missing (a text or a list of texts)");
  TeiInputs in;
  const json& j = *it;
  if (j.is_string()) {
    in.texts.push_back({j.get<std::string>(), ""});
  } else if (pairs && j.is_array() && j.size() == 2 && j[0].is_string() && j[1].is_string()) {
    in.texts.push_back({j[0].get<std::string>(), j[1].get<std::string>()});  // TEI: a pair, not a batch
  } else if (j.is_array()) {
    if (j.empty()) return Invalid("inputs: the list is empty");
    in.batch = true;
    for (size_t i = 0; i < j.size(); ++i) {
      const std::string where = absl::StrCat("inputs[", i, "]");
      if (!pairs && !j[i].is_string()) return Invalid(absl::StrCat(where, ": expected a text"));
      UER_ASSIGN_OR_RETURN(core::TextInput t, Sequence(j[i], where));
      in.texts.push_back(std::move(t));
    }
  } else {
    return Invalid("inputs: expected a text or a list of texts");
  }
  return in;
}

// Pairs only for a model that takes them; a pair model needs text_b.
absl::Status CheckPairs(const ModelInfo& info, const std::vector<core::TextInput>& texts, const std::string& field) {
  for (size_t i = 0; i < texts.size(); ++i) {
    const bool pair = !texts[i].text_b.empty();
    if (pair && !info.text_pair) {
      return Unfit(absl::StrCat(field, "[", i, "]: a text pair, but model \"", info.name,
                                "\" takes one text (a batch of texts is [[\"a\"], [\"b\"]])"));
    }
    if (!pair && info.text_pair) {
      return Unfit(absl::StrCat(field, "[", i, "]: model \"", info.name, "\" takes a text pair [text, text_pair]"));
    }
  }
  return absl::OkStatus();
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// ---- KServe v2 tensors ----

struct Tensor {
  std::string name, datatype;  // FP32 | BYTES
  std::vector<int64_t> shape;
  std::vector<float> floats;
  std::vector<std::string> bytes;
  bool binary = false;
  std::string Binary() const {
    std::string out;
    if (datatype == "FP32") {
      out.resize(floats.size() * sizeof(float));
      if (!floats.empty()) std::memcpy(out.data(), floats.data(), out.size());
      return out;
    }
    for (const std::string& s : bytes) {
      const uint32_t n = static_cast<uint32_t>(s.size());
      const unsigned char len[4] = {static_cast<unsigned char>(n), static_cast<unsigned char>(n >> 8),
                                    static_cast<unsigned char>(n >> 16), static_cast<unsigned char>(n >> 24)};
      out.append(reinterpret_cast<const char*>(len), 4);
      out += s;
    }
    return out;
  }
};

// The outputs a model gives, by kind.
std::vector<std::string> OutputNames(const ModelInfo& info) {
  if (info.embedding) return {"embedding"};
  switch (info.kind) {
    case core::ServedKind::kClassification:
      return {"logits", "probabilities", "label"};
    case core::ServedKind::kTokenLabels:
      return {"entities"};
    case core::ServedKind::kSpan:
      return {"answer"};
    default:
      return {};
  }
}

Tensor MakeOutput(const ModelInfo& info, const std::string& name, const std::vector<Prediction>& p) {
  Tensor t;
  t.name = name;
  const int64_t n = static_cast<int64_t>(p.size());
  if (name == "embedding" || name == "logits" || name == "probabilities") {
    t.datatype = "FP32";
    int64_t width = 0;
    for (const Prediction& r : p) {
      const std::vector<float> v =
          name == "embedding" ? r.embedding : name == "logits" ? r.answer.scores : Softmax(r.answer.scores);
      width = static_cast<int64_t>(v.size());
      t.floats.insert(t.floats.end(), v.begin(), v.end());
    }
    t.shape = {n, width};
    return t;
  }
  t.datatype = "BYTES";
  t.shape = {n};
  for (const Prediction& r : p) {
    if (name == "label") {
      const std::vector<size_t> rank = Ranked(r.answer.scores);
      t.bytes.push_back(rank.empty() ? "" : LabelOf(info, rank[0]));
    } else {  // entities, answer: JSON per input
      json spans = json::array();
      for (const core::ServedSpan& s : r.answer.spans) spans.push_back(SpanJson(s));
      t.bytes.push_back(Dump(name == "answer" ? (spans.empty() ? json(nullptr) : spans[0]) : spans));
    }
  }
  return t;
}

// Triton's classification extension: the top k as "value:index:label", [n, k].
absl::StatusOr<Tensor> Classify(const ModelInfo& info, const Tensor& scores, int64_t k) {
  if (scores.datatype != "FP32" || scores.name == "embedding") {
    return Invalid(absl::StrCat("outputs: classification applies to logits or probabilities, not ", scores.name));
  }
  Tensor t;
  t.name = scores.name;
  t.datatype = "BYTES";
  const int64_t width = scores.shape[1];
  k = std::min(k, width);
  t.shape = {scores.shape[0], k};
  for (int64_t r = 0; r < scores.shape[0]; ++r) {
    std::vector<float> row(scores.floats.begin() + r * width, scores.floats.begin() + (r + 1) * width);
    const std::vector<size_t> rank = Ranked(row);
    for (int64_t i = 0; i < k; ++i) {
      t.bytes.push_back(absl::StrFormat("%f:%d:%s", row[rank[i]], rank[i], LabelOf(info, rank[i])));
    }
  }
  return t;
}

// BYTES elements of a binary input: 4-byte little-endian lengths, each followed by its bytes.
absl::StatusOr<std::vector<std::string>> ParseBinaryBytes(const std::string& data, const std::string& where) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < data.size()) {
    if (data.size() - at < 4) return Invalid(absl::StrCat(where, ": binary data ends inside an element's length"));
    const auto* b = reinterpret_cast<const unsigned char*>(data.data() + at);
    const uint64_t n = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<uint64_t>(b[3]) << 24);
    at += 4;
    if (data.size() - at < n) return Invalid(absl::StrCat(where, ": binary data ends inside an element"));
    out.push_back(data.substr(at, n));
    at += n;
  }
  return out;
}

void Flatten(const json& j, std::vector<const json*>* out) {
  if (j.is_array()) {
    for (const json& e : j) Flatten(e, out);
  } else {
    out->push_back(&j);
  }
}

// One input tensor's strings, from "data" or its share of the binary part.
absl::StatusOr<std::vector<std::string>> InputStrings(const json& in, const std::string& where, const std::string& binary,
                                                      size_t* binary_at) {
  auto dt = in.find("datatype");
  if (dt == in.end() || !dt->is_string() || dt->get<std::string>() != "BYTES") {
    return Invalid(absl::StrCat(where, ".datatype: expected \"BYTES\" (text)"));
  }
  auto shape = in.find("shape");
  if (shape == in.end() || !shape->is_array()) return Invalid(absl::StrCat(where, ".shape: missing"));
  int64_t elements = 1;
  for (const json& d : *shape) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0) return Invalid(absl::StrCat(where, ".shape: expected sizes >= 0"));
    elements *= d.get<int64_t>();
  }
  std::vector<std::string> texts;
  auto params = in.find("parameters");
  if (params != in.end() && params->is_object() && params->contains("binary_data_size")) {
    const json& size = (*params)["binary_data_size"];
    if (!size.is_number_unsigned()) return Invalid(absl::StrCat(where, ".parameters.binary_data_size: expected a size"));
    const size_t n = size.get<size_t>();
    if (binary.size() - *binary_at < n) {
      return Invalid(absl::StrCat(where, ".parameters.binary_data_size: ", n, " bytes, but the body has ",
                                  binary.size() - *binary_at, " left"));
    }
    UER_ASSIGN_OR_RETURN(texts, ParseBinaryBytes(binary.substr(*binary_at, n), where));
    *binary_at += n;
  } else {
    auto data = in.find("data");
    if (data == in.end()) return Invalid(absl::StrCat(where, ".data: missing"));
    std::vector<const json*> flat;
    Flatten(*data, &flat);
    for (size_t i = 0; i < flat.size(); ++i) {
      if (!flat[i]->is_string()) return Invalid(absl::StrCat(where, ".data[", i, "]: expected a string"));
      texts.push_back(flat[i]->get<std::string>());
    }
  }
  if (static_cast<int64_t>(texts.size()) != elements) {
    return Invalid(absl::StrCat(where, ": shape ", shape->dump(), " holds ", elements, " elements, data ", texts.size()));
  }
  return texts;
}

struct RequestedOutput {
  std::string name;
  bool binary = false;
  int64_t classification = 0;
};

absl::StatusOr<std::vector<RequestedOutput>> ReadRequestedOutputs(const ModelInfo& info, const json& body) {
  const std::vector<std::string> names = OutputNames(info);
  bool binary_all = false;
  auto params = body.find("parameters");
  if (params != body.end() && params->is_object()) {
    UER_ASSIGN_OR_RETURN(binary_all, BoolField(*params, "binary_data_output", false));
  }
  std::vector<RequestedOutput> out;
  auto it = body.find("outputs");
  if (it == body.end() || it->is_null()) {
    for (const std::string& n : names) out.push_back({n, binary_all, 0});
    return out;
  }
  if (!it->is_array()) return Invalid("outputs: expected a list");
  for (size_t i = 0; i < it->size(); ++i) {
    const json& o = (*it)[i];
    const std::string where = absl::StrCat("outputs[", i, "]");
    if (!o.is_object() || !o.contains("name") || !o["name"].is_string()) return Invalid(where + ".name: missing");
    RequestedOutput r{o["name"].get<std::string>(), binary_all, 0};
    if (std::find(names.begin(), names.end(), r.name) == names.end()) {
      return Invalid(absl::StrCat(where, ".name \"", r.name, "\": model \"", info.name, "\" gives ",
                                  absl::StrJoin(names, ", ")));
    }
    if (o.contains("parameters") && o["parameters"].is_object()) {
      const json& p = o["parameters"];
      UER_ASSIGN_OR_RETURN(r.binary, BoolField(p, "binary_data", binary_all));
      if (p.contains("classification")) {
        if (!p["classification"].is_number_integer() || p["classification"].get<int64_t>() < 1) {
          return Invalid(where + ".parameters.classification: expected an integer >= 1");
        }
        r.classification = p["classification"].get<int64_t>();
      }
    }
    out.push_back(r);
  }
  return out;
}

HttpResponse KserveResponse(const ModelInfo& info, const std::string& id, const std::vector<RequestedOutput>& wanted,
                            const std::vector<Prediction>& p) {
  json outputs = json::array();
  std::string blobs;
  for (const RequestedOutput& w : wanted) {
    Tensor t = MakeOutput(info, w.name, p);
    if (w.classification > 0) {
      absl::StatusOr<Tensor> c = Classify(info, t, w.classification);
      if (!c.ok()) return ErrorResponse(c.status());
      t = *std::move(c);
    }
    json o = {{"name", t.name}, {"datatype", t.datatype}, {"shape", t.shape}};
    if (w.binary) {
      const std::string b = t.Binary();
      o["parameters"] = {{"binary_data_size", b.size()}};
      blobs += b;
    } else if (t.datatype == "FP32") {
      o["data"] = t.floats;
    } else {
      o["data"] = t.bytes;
    }
    outputs.push_back(std::move(o));
  }
  json j = {{"model_name", info.name}, {"model_version", "1"}, {"outputs", std::move(outputs)}};
  if (!id.empty()) j["id"] = id;
  HttpResponse r;
  r.body = Dump(j);
  if (!blobs.empty()) {
    r.headers.emplace_back("Inference-Header-Content-Length", std::to_string(r.body.size()));
    r.content_type = "application/octet-stream";
    r.body += blobs;
  }
  return r;
}

}  // namespace

int HttpStatus(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kFailedPrecondition:
      return 422;
    case absl::StatusCode::kOutOfRange:
      return 413;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kCancelled:
      return 499;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

HttpResponse ErrorResponse(const absl::Status& status) {
  static const std::pair<absl::StatusCode, const char*> kTypes[] = {
      {absl::StatusCode::kInvalidArgument, "validation"},   {absl::StatusCode::kFailedPrecondition, "validation"},
      {absl::StatusCode::kNotFound, "not_found"},           {absl::StatusCode::kOutOfRange, "payload_too_large"},
      {absl::StatusCode::kResourceExhausted, "overloaded"}, {absl::StatusCode::kCancelled, "cancelled"},
      {absl::StatusCode::kUnimplemented, "unsupported"},    {absl::StatusCode::kUnavailable, "unhealthy"},
      {absl::StatusCode::kDeadlineExceeded, "timeout"}};
  std::string type = "backend";
  for (const auto& [code, name] : kTypes) {
    if (code == status.code()) type = name;
  }
  HttpResponse r;
  r.status = HttpStatus(status.code());
  r.body = Dump(json{{"error", std::string(status.message())}, {"error_type", type}});
  return r;
}

std::string KserveServerMetadata() {
  return Dump(json{{"name", "uer-cc"}, {"version", UER_VERSION_STRING}, {"extensions", {"classification", "binary_tensor_data"}}});
}

std::string KserveModelMetadata(const ModelInfo& info) {
  json inputs = json::array({{{"name", "TEXT"}, {"datatype", "BYTES"}, {"shape", {-1}}}});
  if (info.text_pair) inputs.push_back({{"name", "TEXT_PAIR"}, {"datatype", "BYTES"}, {"shape", {-1}}});
  json outputs = json::array();
  for (const std::string& n : OutputNames(info)) {
    const bool fp = n == "embedding" || n == "logits" || n == "probabilities";
    const int64_t width = n == "embedding" ? info.hidden_size : static_cast<int64_t>(info.labels.size());
    outputs.push_back({{"name", n}, {"datatype", fp ? "FP32" : "BYTES"}, {"shape", fp ? json{-1, width} : json{-1}}});
  }
  return Dump(json{{"name", info.name}, {"versions", {"1"}}, {"platform", "uer-cc"}, {"inputs", inputs}, {"outputs", outputs}});
}

std::string KserveModelConfig(const ModelInfo& info) {
  json j = {{"name", info.name},
            {"platform", "uer-cc"},
            {"task", info.task},
            {"max_batch_size", info.batching.max_batch_requests},
            {"seq_length", info.seq_length},
            {"text_pair", info.text_pair},
            {"dynamic_batching",
             {{"max_batch_requests", info.batching.max_batch_requests},
              {"max_batch_tokens", info.batching.max_batch_tokens},
              {"max_queue_delay_microseconds", info.batching.max_queue_delay_us},
              {"max_queued", info.batching.max_queued}}}};
  if (!info.labels.empty()) j["labels"] = info.labels;
  if (info.embedding) j["pooling"] = info.pooling;
  return Dump(j);
}

absl::StatusOr<InferCall> ParseKserveInfer(const ModelInfo& info, const HttpRequestView& request) {
  std::string header = request.body, binary;
  if (!request.inference_header_length.empty()) {
    size_t n = 0;
    if (!absl::SimpleAtoi(request.inference_header_length, &n) || n > request.body.size()) {
      return Invalid(absl::StrCat("Inference-Header-Content-Length ", request.inference_header_length,
                                  ": not a length within the body (", request.body.size(), " bytes)"));
    }
    header = request.body.substr(0, n);
    binary = request.body.substr(n);
  }
  UER_ASSIGN_OR_RETURN(json body, ParseJson(header));
  auto inputs = body.find("inputs");
  if (inputs == body.end() || !inputs->is_array() || inputs->empty()) return Invalid("inputs: expected a list of tensors");
  std::vector<std::string> text, pair;
  bool has_pair = false;
  size_t binary_at = 0;
  for (size_t i = 0; i < inputs->size(); ++i) {
    const json& in = (*inputs)[i];
    const std::string where = absl::StrCat("inputs[", i, "]");
    if (!in.is_object() || !in.contains("name") || !in["name"].is_string()) return Invalid(where + ".name: missing");
    const std::string name = in["name"].get<std::string>();
    if (name != "TEXT" && name != "TEXT_PAIR") {
      return Invalid(absl::StrCat(where, ".name \"", name, "\": model \"", info.name, "\" takes TEXT",
                                  info.text_pair ? " and TEXT_PAIR" : ""));
    }
    UER_ASSIGN_OR_RETURN(std::vector<std::string> strings, InputStrings(in, where, binary, &binary_at));
    (name == "TEXT" ? text : pair) = std::move(strings);
    has_pair = has_pair || name == "TEXT_PAIR";
  }
  if (text.empty()) return Invalid("inputs: no TEXT tensor (or it is empty)");
  if (has_pair && !info.text_pair) return Unfit(absl::StrCat("inputs: TEXT_PAIR given, but model \"", info.name, "\" takes one text"));
  if (!has_pair && info.text_pair) return Unfit(absl::StrCat("inputs: model \"", info.name, "\" takes TEXT_PAIR too"));
  if (has_pair && pair.size() != text.size()) {
    return Invalid(absl::StrCat("inputs: TEXT has ", text.size(), " elements, TEXT_PAIR ", pair.size()));
  }
  UER_ASSIGN_OR_RETURN(std::vector<RequestedOutput> wanted, ReadRequestedOutputs(info, body));
  InferCall call;
  for (size_t i = 0; i < text.size(); ++i) call.inputs.push_back({text[i], has_pair ? pair[i] : ""});
  auto params = body.find("parameters");
  if (params != body.end() && params->is_object() && params->contains("timeout")) {
    const json& t = (*params)["timeout"];
    if (!t.is_number_integer() || t.get<int64_t>() < 0) return Invalid("parameters.timeout: expected microseconds >= 0");
    call.timeout_us = t.get<int64_t>();
  }
  std::string id;
  if (body.contains("id") && body["id"].is_string()) id = body["id"].get<std::string>();
  call.respond = [id, wanted](const ModelInfo& info, const std::vector<Prediction>& p) {
    return KserveResponse(info, id, wanted, p);
  };
  return call;
}

std::string RequestedModel(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("model") && j["model"].is_string()) return j["model"].get<std::string>();
  return "";
}

absl::StatusOr<InferCall> ParsePredict(const ModelInfo& info, const std::string& text) {
  UER_RETURN_IF_ERROR(NeedKind(info, info.kind == core::ServedKind::kClassification, "/predict", "a classifier"));
  UER_ASSIGN_OR_RETURN(json body, ParseJson(text));
  UER_ASSIGN_OR_RETURN(TeiInputs in, ReadTeiInputs(body, /*pairs=*/true));
  UER_RETURN_IF_ERROR(CheckPairs(info, in.texts, "inputs"));
  UER_ASSIGN_OR_RETURN(bool raw, BoolField(body, "raw_scores", false));
  UER_ASSIGN_OR_RETURN(bool truncate, BoolField(body, "truncate", false));
  InferCall call;
  call.inputs = std::move(in.texts);
  call.truncate = truncate;
  call.respond = [raw, batch = in.batch](const ModelInfo& info, const std::vector<Prediction>& p) {
    json all = json::array();
    for (const Prediction& r : p) {
      const std::vector<float> scores = raw ? r.answer.scores : Softmax(r.answer.scores);
      json one = json::array();
      for (size_t i : Ranked(scores)) one.push_back({{"score", scores[i]}, {"label", LabelOf(info, i)}});
      all.push_back(std::move(one));
    }
    HttpResponse resp;
    resp.body = Dump(batch ? all : all[0]);
    return resp;
  };
  return call;
}

absl::StatusOr<InferCall> ParseEmbed(const ModelInfo& info, const std::string& text) {
  UER_RETURN_IF_ERROR(NeedKind(info, info.embedding, "/embed", "a pre-trained encoder (task \"embedding\")"));
  UER_ASSIGN_OR_RETURN(json body, ParseJson(text));
  UER_ASSIGN_OR_RETURN(TeiInputs in, ReadTeiInputs(body, /*pairs=*/false));
  UER_ASSIGN_OR_RETURN(bool normalize, BoolField(body, "normalize", true));
  UER_ASSIGN_OR_RETURN(bool truncate, BoolField(body, "truncate", false));
  InferCall call;
  call.inputs = std::move(in.texts);
  call.truncate = truncate;
  call.respond = [normalize](const ModelInfo&, const std::vector<Prediction>& p) {
    json all = json::array();
    for (const Prediction& r : p) {
      std::vector<float> v = r.embedding;
      if (normalize) {
        double norm = 0;
        for (float x : v) norm += static_cast<double>(x) * x;
        norm = std::sqrt(norm);
        if (norm > 0) {
          for (float& x : v) x = static_cast<float>(x / norm);
        }
      }
      all.push_back(std::move(v));
    }
    HttpResponse resp;
    resp.body = Dump(all);
    return resp;
  };
  return call;
}

absl::StatusOr<InferCall> ParseNer(const ModelInfo& info, const std::string& text) {
  UER_RETURN_IF_ERROR(NeedKind(info, info.kind == core::ServedKind::kTokenLabels, "/ner", "a token tagger (task ner)"));
  UER_ASSIGN_OR_RETURN(json body, ParseJson(text));
  UER_ASSIGN_OR_RETURN(TeiInputs in, ReadTeiInputs(body, /*pairs=*/false));
  UER_ASSIGN_OR_RETURN(bool truncate, BoolField(body, "truncate", true));
  InferCall call;
  call.inputs = std::move(in.texts);
  call.truncate = truncate;
  call.respond = [batch = in.batch](const ModelInfo&, const std::vector<Prediction>& p) {
    json all = json::array();
    for (const Prediction& r : p) {
      json one = json::array();
      for (const core::ServedSpan& s : r.answer.spans) one.push_back(SpanJson(s));
      all.push_back(std::move(one));
    }
    HttpResponse resp;
    resp.body = Dump(batch ? all : all[0]);
    return resp;
  };
  return call;
}

absl::StatusOr<InferCall> ParseMrc(const ModelInfo& info, const std::string& text) {
  UER_RETURN_IF_ERROR(NeedKind(info, info.kind == core::ServedKind::kSpan, "/mrc", "a span extractor (task mrc)"));
  UER_ASSIGN_OR_RETURN(json body, ParseJson(text));
  auto it = body.find("inputs");
  if (it == body.end()) return Invalid("inputs: missing ({\"question\": ..., \"context\": ...} or a list of them)");
  const bool batch = it->is_array();
  if (batch && it->empty()) return Invalid("inputs: the list is empty");
  InferCall call;
  for (size_t i = 0; i < (batch ? it->size() : 1); ++i) {
    const json& q = batch ? (*it)[i] : *it;
    const std::string where = batch ? absl::StrCat("inputs[", i, "]") : "inputs";
    for (const char* field : {"question", "context"}) {
      if (!q.is_object() || !q.contains(field) || !q[field].is_string()) {
        return Invalid(absl::StrCat(where, ".", field, ": expected a text"));
      }
    }
    call.inputs.push_back({q["question"].get<std::string>(), q["context"].get<std::string>()});
  }
  call.respond = [batch](const ModelInfo&, const std::vector<Prediction>& p) {
    json all = json::array();
    for (const Prediction& r : p) {
      if (r.answer.spans.empty()) {
        all.push_back(nullptr);
        continue;
      }
      const core::ServedSpan& s = r.answer.spans[0];
      all.push_back({{"answer", s.text}, {"score", s.score}, {"start", s.start}, {"end", s.end}});
    }
    HttpResponse resp;
    resp.body = Dump(batch ? all : all[0]);
    return resp;
  };
  return call;
}

std::string TeiInfo(const ModelInfo& info, int64_t max_concurrent_requests) {
  json type;
  if (info.embedding) {
    type = {{"embedding", {{"pooling", info.pooling}}}};
  } else {
    json id2label = json::object(), label2id = json::object();
    for (size_t i = 0; i < info.labels.size(); ++i) {
      id2label[std::to_string(i)] = info.labels[i];
      label2id[info.labels[i]] = i;
    }
    const char* kind = info.kind == core::ServedKind::kClassification ? "classifier" : info.task.c_str();
    type = {{kind, {{"id2label", id2label}, {"label2id", label2id}}}};
  }
  return Dump(json{{"model_id", info.name},
                   {"model_type", type},
                   {"max_concurrent_requests", max_concurrent_requests},
                   {"max_input_length", info.seq_length},
                   {"max_batch_tokens", info.batching.max_batch_tokens},
                   {"max_batch_requests", info.batching.max_batch_requests},
                   {"max_client_batch_size", info.batching.max_queued},
                   {"version", UER_VERSION_STRING}});
}

const std::map<std::string, JsonRoute>& JsonRoutes() {
  using core::ServedKind;
  auto any = [](const ModelInfo&) { return true; };
  auto kind = [](ServedKind k) { return [k](const ModelInfo& i) { return !i.embedding && i.kind == k; }; };
  static const auto* routes = new std::map<std::string, JsonRoute>{
      {"/predict", {kind(ServedKind::kClassification), false, ParsePredict}},
      {"/embed", {[](const ModelInfo& i) { return i.embedding; }, false, ParseEmbed}},
      {"/ner", {kind(ServedKind::kTokenLabels), false, ParseNer}},
      {"/mrc", {kind(ServedKind::kSpan), false, ParseMrc}},
      {"/tokenize", {any, false, nullptr}},
      {"/info", {any, true, nullptr}},
  };
  return *routes;
}

absl::StatusOr<std::string> Tokenize(const ServedModel& model, const std::string& text) {
  UER_ASSIGN_OR_RETURN(json body, ParseJson(text));
  UER_ASSIGN_OR_RETURN(TeiInputs in, ReadTeiInputs(body, /*pairs=*/true));
  UER_ASSIGN_OR_RETURN(bool special, BoolField(body, "add_special_tokens", true));
  json all = json::array();
  for (size_t i = 0; i < in.texts.size(); ++i) {
    absl::StatusOr<ServedRow> row = model.Read(in.texts[i], /*truncate=*/true);
    if (!row.ok()) return absl::Status(row.status().code(), absl::StrCat("inputs[", i, "]: ", row.status().message()));
    const torch::Tensor src = row->data.src.select(0, 0).contiguous(), seg = row->data.seg.select(0, 0).contiguous();
    json tokens = json::array();
    for (int64_t k = 0; k < src.size(0); ++k) {
      if (seg[k].item<int64_t>() == 0) continue;
      const int64_t id = src[k].item<int64_t>();
      const bool is_special = model.IsSpecial(id);
      if (is_special && !special) continue;
      tokens.push_back({{"id", id}, {"text", model.Token(id)}, {"special", is_special}, {"start", nullptr}, {"stop", nullptr}});
    }
    all.push_back(std::move(tokens));
  }
  return Dump(all);
}

}  // namespace uer::runtime::serve
