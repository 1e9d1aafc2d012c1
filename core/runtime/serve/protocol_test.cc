// The protocols without sockets: KServe v2 requests (JSON and binary tensors) into inputs and
// answers into tensors (classification extension, binary outputs), TEI's input shapes and answers,
// and every bad request named by its field with its HTTP status.
#include "core/runtime/serve/protocol.h"

#include <cstring>

#include "nlohmann/json.hpp"
#include "testing/test_util.h"

namespace uer::runtime::serve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::uer::testing::StatusIs;
using json = nlohmann::json;

ModelInfo Classifier(bool pair = false) {
  ModelInfo i;
  i.name = "sentiment";
  i.task = "classifier";
  i.kind = core::ServedKind::kClassification;
  i.text_pair = pair;
  i.labels = {"neg", "pos", "mixed"};
  i.seq_length = 64;
  return i;
}

ModelInfo Encoder() {
  ModelInfo i;
  i.name = "encoder";
  i.task = "embedding";
  i.embedding = true;
  i.hidden_size = 2;
  return i;
}

Prediction Scores(std::vector<float> s) {
  Prediction p;
  p.answer.scores = std::move(s);
  return p;
}

std::vector<std::string> Texts(const InferCall& c) {
  std::vector<std::string> t;
  for (const auto& in : c.inputs) t.push_back(in.text_b.empty() ? in.text_a : in.text_a + "|" + in.text_b);
  return t;
}

std::string BinaryBytes(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) {
    const uint32_t n = static_cast<uint32_t>(s.size());
    out.append(reinterpret_cast<const char*>(&n), 4);  // little-endian on x86-64, as the protocol says
    out += s;
  }
  return out;
}

TEST(ProtocolTest, KserveJsonInputsAndOutputs) {
  ASSERT_OK_AND_ASSIGN(
      InferCall call,
      ParseKserveInfer(Classifier(), {R"({"id": "r1", "inputs": [{"name": "TEXT", "shape": [2, 1], "datatype": "BYTES",
                                          "data": [["good"], ["bad"]]}],
                                          "outputs": [{"name": "logits"}, {"name": "label"},
                                                      {"name": "probabilities", "parameters": {"classification": 2}}],
                                          "parameters": {"timeout": 1500}})", ""}));
  EXPECT_THAT(Texts(call), ElementsAre("good", "bad"));
  EXPECT_EQ(call.timeout_us, 1500);
  EXPECT_TRUE(call.truncate);
  HttpResponse r = call.respond(Classifier(), {Scores({1, 3, 2}), Scores({0, -1, -2})});
  json j = json::parse(r.body);
  EXPECT_EQ(j["id"], "r1");
  EXPECT_EQ(j["model_name"], "sentiment");
  EXPECT_EQ(j["outputs"][0]["shape"], json({2, 3}));
  EXPECT_EQ(j["outputs"][0]["data"], json({1, 3, 2, 0, -1, -2}));
  EXPECT_EQ(j["outputs"][1]["data"], json({"pos", "neg"}));
  EXPECT_EQ(j["outputs"][2]["shape"], json({2, 2}));
  EXPECT_THAT(j["outputs"][2]["data"][0].get<std::string>(), HasSubstr(":1:pos"));
  EXPECT_THAT(j["outputs"][2]["data"][2].get<std::string>(), ::testing::StartsWith("0.665241:0:neg"));  // row 1, first
}

TEST(ProtocolTest, KserveBinaryInputsAndOutputs) {
  const std::string text = BinaryBytes({"a", "bc"}), pair = BinaryBytes({"x", "yz"});
  json header = {{"inputs", {{{"name", "TEXT"}, {"shape", {2}}, {"datatype", "BYTES"},
                              {"parameters", {{"binary_data_size", text.size()}}}},
                             {{"name", "TEXT_PAIR"}, {"shape", {2}}, {"datatype", "BYTES"},
                              {"parameters", {{"binary_data_size", pair.size()}}}}}},
                 {"parameters", {{"binary_data_output", true}}}};
  const std::string h = header.dump();
  ASSERT_OK_AND_ASSIGN(InferCall call, ParseKserveInfer(Classifier(true), {h + text + pair, std::to_string(h.size())}));
  EXPECT_THAT(Texts(call), ElementsAre("a|x", "bc|yz"));
  HttpResponse r = call.respond(Classifier(true), {Scores({1, 2, 3}), Scores({4, 5, 6})});
  EXPECT_EQ(r.content_type, "application/octet-stream");
  ASSERT_EQ(r.headers.size(), 1u);
  const size_t json_size = std::stoul(r.headers[0].second);
  json j = json::parse(r.body.substr(0, json_size));
  EXPECT_EQ(j["outputs"][0]["name"], "logits");
  EXPECT_EQ(j["outputs"][0]["parameters"]["binary_data_size"], 24);
  float logits[6];
  std::memcpy(logits, r.body.data() + json_size, sizeof(logits));
  EXPECT_THAT(logits, ElementsAre(1, 2, 3, 4, 5, 6));
  EXPECT_EQ(r.body.substr(json_size + 24 + 24), BinaryBytes({"mixed", "mixed"}));  // probabilities, then label
}

TEST(ProtocolTest, KserveBadRequestsNameTheField) {
  auto parse = [](const ModelInfo& i, const std::string& body, const std::string& header = "") {
    return ParseKserveInfer(i, {body, header}).status();
  };
  EXPECT_THAT(parse(Classifier(), "{"), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("malformed JSON")));
  EXPECT_THAT(parse(Classifier(), R"({"inputs": []})"), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("inputs")));
  const std::string text = R"({"name": "TEXT", "shape": [1], "datatype": "BYTES", "data": ["a"]})";
  EXPECT_THAT(parse(Classifier(), R"({"inputs": [{"name": "X", "shape": [1], "datatype": "BYTES", "data": ["a"]}]})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("inputs[0].name \"X\"")));
  EXPECT_THAT(parse(Classifier(), R"({"inputs": [{"name": "TEXT", "shape": [2], "datatype": "BYTES", "data": ["a"]}]})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("inputs[0]: shape [2] holds 2 elements, data 1")));
  EXPECT_THAT(parse(Classifier(), R"({"inputs": [{"name": "TEXT", "shape": [1], "datatype": "FP32", "data": [1]}]})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("inputs[0].datatype")));
  EXPECT_THAT(parse(Classifier(), R"({"inputs": [{"name": "TEXT", "shape": [1], "datatype": "BYTES", "data": [7]}]})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("inputs[0].data[0]: expected a string")));
  EXPECT_THAT(parse(Classifier(true), "{\"inputs\": [" + text + "]}"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("takes TEXT_PAIR too")));
  EXPECT_THAT(parse(Classifier(), "{\"inputs\": [" + text + "], \"outputs\": [{\"name\": \"embedding\"}]}"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("outputs[0].name \"embedding\"")));
  EXPECT_THAT(parse(Classifier(), "{\"inputs\": [" + text + "], \"parameters\": {\"timeout\": -1}}"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("parameters.timeout")));
  EXPECT_THAT(parse(Classifier(), "{}", "99"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("Inference-Header-Content-Length 99")));
  const std::string cut = R"({"inputs": [{"name": "TEXT", "shape": [1], "datatype": "BYTES",
                               "parameters": {"binary_data_size": 6}}]})";
  EXPECT_THAT(parse(Classifier(), cut + std::string("\x05\0\0\0ab", 6), std::to_string(cut.size())),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ends inside an element")));
}

TEST(ProtocolTest, TeiInputShapesAndAnswers) {
  ASSERT_OK_AND_ASSIGN(InferCall one, ParsePredict(Classifier(), R"({"inputs": "good"})"));
  EXPECT_THAT(Texts(one), ElementsAre("good"));
  EXPECT_FALSE(one.truncate);  // TEI's default
  json j = json::parse(one.respond(Classifier(), {Scores({0, 1, 0})}).body);
  ASSERT_EQ(j.size(), 3u);  // one input: a list of labels, the most probable first
  EXPECT_EQ(j[0]["label"], "pos");
  EXPECT_NEAR(j[0]["score"].get<double>(), 0.576117, 1e-6);
  ASSERT_OK_AND_ASSIGN(InferCall pairs, ParsePredict(Classifier(true), R"({"inputs": [["a", "b"], ["c", "d"]], "raw_scores": true})"));
  EXPECT_THAT(Texts(pairs), ElementsAre("a|b", "c|d"));
  j = json::parse(pairs.respond(Classifier(true), {Scores({2, 1, 0}), Scores({0, 0, 5})}).body);
  EXPECT_EQ(j[1][0], json({{"label", "mixed"}, {"score", 5.0}}));  // a batch: a list per input; raw logits
  ASSERT_OK_AND_ASSIGN(InferCall pair, ParsePredict(Classifier(true), R"({"inputs": ["a", "b"]})"));
  EXPECT_THAT(Texts(pair), ElementsAre("a|b"));  // TEI: two strings are a pair
  EXPECT_THAT(ParsePredict(Classifier(), R"({"inputs": ["a", "b"]})").status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("[[\"a\"], [\"b\"]]")));
  EXPECT_THAT(ParsePredict(Classifier(), R"({"inputs": [1]})").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("inputs[0]")));
  EXPECT_THAT(ParsePredict(Encoder(), R"({"inputs": "x"})").status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("does not answer /predict")));

  ASSERT_OK_AND_ASSIGN(InferCall embed, ParseEmbed(Encoder(), R"({"inputs": ["a", "b"], "truncate": true})"));
  EXPECT_THAT(Texts(embed), ElementsAre("a", "b"));  // /embed: a list is a batch
  Prediction p;
  p.embedding = {3, 4};
  j = json::parse(embed.respond(Encoder(), {p, p}).body);
  EXPECT_EQ(j, json({{0.6f, 0.8f}, {0.6f, 0.8f}}));
  ASSERT_OK_AND_ASSIGN(InferCall raw, ParseEmbed(Encoder(), R"({"inputs": "a", "normalize": false})"));
  EXPECT_EQ(json::parse(raw.respond(Encoder(), {p}).body), json({{3, 4}}));
  EXPECT_THAT(ParseEmbed(Encoder(), R"({"inputs": "a", "normalize": 1})").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("normalize: expected true or false")));
  EXPECT_EQ(RequestedModel(R"({"inputs": "a", "model": "m2"})"), "m2");
  EXPECT_EQ(RequestedModel("not json"), "");
}

TEST(ProtocolTest, ErrorsAreJsonWithTheirHttpStatus) {
  HttpResponse r = ErrorResponse(absl::ResourceExhaustedError("full"));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(json::parse(r.body), json({{"error", "full"}, {"error_type", "overloaded"}}));
  EXPECT_EQ(HttpStatus(absl::StatusCode::kFailedPrecondition), 422);
  EXPECT_EQ(HttpStatus(absl::StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatus(absl::StatusCode::kOutOfRange), 413);
  EXPECT_EQ(HttpStatus(absl::StatusCode::kDeadlineExceeded), 504);
  EXPECT_EQ(HttpStatus(absl::StatusCode::kInternal), 500);
}

}  // namespace
}  // namespace uer::runtime::serve
