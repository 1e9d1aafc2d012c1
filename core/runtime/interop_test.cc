// safetensors reading and writing, and BERT's HuggingFace key names both ways.
#include "core/runtime/interop.h"

#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/runtime/loader.h"
#include "testing/test_util.h"

namespace uer::runtime {
namespace {

using ::testing::HasSubstr;
using ::uer::testing::StatusIs;

class InteropTest : public ::testing::Test {
 protected:
  // The heads come from the target and task plugins' declarations.
  static void SetUpTestSuite() { ASSERT_OK(LoadPluginList(::uer::testing::RunfilePath("plugins"), ':')); }
  std::string Write(const std::string& name, const std::string& bytes) {
    const std::string p = dir_ + "/" + name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  // A safetensors file from a header text and a data buffer.
  std::string Raw(const std::string& name, const std::string& header, const std::string& data) {
    std::string b(8, '\0');
    const uint64_t n = header.size();
    std::memcpy(b.data(), &n, 8);
    return Write(name, b + header + data);
  }
  std::string dir_ = ::uer::testing::TempDir("interop");
};

TEST_F(InteropTest, SafetensorsRoundTripKeepsOrderValuesAndDtypes) {
  StateDict s = {{"b.weight", torch::arange(12, torch::kFloat32).view({3, 4})},
                 {"a.ids", torch::tensor({7, 8, 9}, torch::kInt64)},
                 {"c.scalar", torch::tensor(2.5, torch::kFloat64)}};
  const std::string path = dir_ + "/x.safetensors";
  ASSERT_OK(SaveSafetensors(path, s));
  std::ifstream in(path, std::ios::binary);
  uint64_t n;
  in.read(reinterpret_cast<char*>(&n), 8);
  EXPECT_EQ(n % 8, 0u) << "the header is padded to 8 bytes";
  std::string header(n, ' ');
  in.read(header.data(), static_cast<std::streamsize>(n));
  EXPECT_THAT(header, HasSubstr("\"__metadata__\":{\"format\":\"pt\"}"));
  ASSERT_OK_AND_ASSIGN(StateDict back, LoadSafetensors(path));
  ASSERT_EQ(back.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back[i].first, s[i].first);  // file order is write order
    EXPECT_TRUE(torch::equal(back[i].second, s[i].second)) << s[i].first;
  }
}

TEST_F(InteropTest, HalfPrecisionIsReadAsFloat32) {
  StateDict s = {{"h", torch::tensor({1.5, -2.0}).to(torch::kBFloat16)}};
  ASSERT_OK(SaveSafetensors(dir_ + "/bf16.safetensors", s));
  ASSERT_OK_AND_ASSIGN(StateDict back, LoadSafetensors(dir_ + "/bf16.safetensors"));
  EXPECT_EQ(back[0].second.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(back[0].second, torch::tensor({1.5f, -2.0f})));
}

TEST_F(InteropTest, DamagedFilesAreNamed) {
  const std::string four(16, '\0');
  EXPECT_THAT(LoadSafetensors(Raw("json.safetensors", "{not json", four)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("is not a JSON object")));
  EXPECT_THAT(LoadSafetensors(Raw("range.safetensors", R"({"w":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}})", four)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("tensor \"w\": data_offsets [0, 32] lie outside the 16 bytes")));
  EXPECT_THAT(LoadSafetensors(Raw("overlap.safetensors",
                                  R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                  four)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("\"a\" and \"b\" overlap")));
  EXPECT_THAT(LoadSafetensors(Raw("dtype.safetensors", R"({"a":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}})", four)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("dtype F8_E4M3 cannot be read")));
  EXPECT_THAT(LoadSafetensors(Raw("size.safetensors", R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", four)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("8 bytes for 3 values of F32")));
  std::string huge(8, '\0');
  huge[4] = 1;  // a header of 2^32 bytes
  EXPECT_THAT(LoadSafetensors(Write("huge.safetensors", huge + "{}")),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("the header claims 4294967296 bytes")));
  EXPECT_THAT(LoadSafetensors(Write("lfs.safetensors", "version https://git-lfs.github.com/spec/v1\n")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("git-LFS pointer")));
}

TEST_F(InteropTest, BertKeysBothWaysAndTheSegmentRows) {
  const int64_t h = 4;
  StateDict hf = {{"bert.embeddings.word_embeddings.weight", torch::randn({10, h})},
                  {"bert.embeddings.position_embeddings.weight", torch::randn({6, h})},
                  {"bert.embeddings.token_type_embeddings.weight", torch::randn({2, h})},
                  {"bert.embeddings.LayerNorm.gamma", torch::randn({h})},  // an old transformers' name
                  {"bert.embeddings.LayerNorm.beta", torch::randn({h})},
                  {"bert.embeddings.position_ids", torch::arange(6)}};
  for (const char* part : {"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
                           "intermediate.dense", "output.dense", "attention.output.LayerNorm", "output.LayerNorm"}) {
    hf.emplace_back(std::string("bert.encoder.layer.0.") + part + ".weight", torch::randn({h, h}));
    hf.emplace_back(std::string("bert.encoder.layer.0.") + part + ".bias", torch::randn({h}));
  }
  KeyReport report;
  ASSERT_OK_AND_ASSIGN(StateDict uer, BertFromHuggingFace(hf, "none", &report));
  EXPECT_THAT(report.dropped, ::testing::ElementsAre("bert.embeddings.position_ids"));
  std::map<std::string, torch::Tensor> m(uer.begin(), uer.end());
  ASSERT_EQ(m.at("embedding.segment_embedding.weight").size(0), 3);
  EXPECT_TRUE(torch::equal(m.at("embedding.segment_embedding.weight")[0], torch::zeros({h})));
  EXPECT_TRUE(torch::equal(m.at("embedding.layer_norm.gamma"), hf[3].second));
  EXPECT_TRUE(torch::equal(m.at("encoder.transformer.0.self_attn.linear_layers.1.weight"),
                           std::find_if(hf.begin(), hf.end(), [](auto& kv) { return kv.first == "bert.encoder.layer.0.attention.self.key.weight"; })->second));
  KeyReport back_report;
  ASSERT_OK_AND_ASSIGN(StateDict back, BertToHuggingFace(uer, "none", &back_report));
  std::map<std::string, torch::Tensor> b(back.begin(), back.end());
  EXPECT_TRUE(b.count("embeddings.word_embeddings.weight")) << "a BertModel has no bert. prefix";
  EXPECT_TRUE(torch::equal(b.at("embeddings.token_type_embeddings.weight"), hf[2].second));
  // What a target needs and the file lacks is named.
  KeyReport r2;
  EXPECT_THAT(BertFromHuggingFace(hf, "mlm", &r2),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("lacks what --target mlm needs: cls.predictions.transform.dense.weight")));
  EXPECT_THAT(BertFromHuggingFace(hf, "gpt", &r2), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--target gpt")));
  // A target without a HuggingFace head is refused, naming the plugins that declare one.
  EXPECT_THAT(BertToHuggingFace(uer, "lm", &r2),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("bert (BertForPreTraining), mlm (BertForMaskedLM), classifier "
                                 "(BertForSequenceClassification), ner (BertForTokenClassification)")));
  EXPECT_EQ(BertHeadsIn(hf), "none");

  // The heads, as the plugins declare them: uer-cc -> HuggingFace -> uer-cc for each, every head
  // tensor back as it was, and the head a HuggingFace file holds found from its keys (for the
  // pre-training targets).
  struct Head {
    std::string target, architecture;
    bool pretraining;
    std::vector<std::pair<std::string, std::vector<int64_t>>> tensors;
  };
  const std::vector<int64_t> hh = {h, h}, v = {h};
  const std::vector<std::pair<std::string, std::vector<int64_t>>> mlm = {
      {"target.mlm_linear_1.weight", hh}, {"target.mlm_linear_1.bias", v}, {"target.layer_norm.gamma", v},
      {"target.layer_norm.beta", v}, {"target.mlm_linear_2.weight", {10, h}}, {"target.mlm_linear_2.bias", {10}}};
  std::vector<std::pair<std::string, std::vector<int64_t>>> bert = {
      {"target.nsp_linear_1.weight", hh}, {"target.nsp_linear_1.bias", v}, {"target.nsp_linear_2.weight", {2, h}},
      {"target.nsp_linear_2.bias", {2}}};
  bert.insert(bert.end(), mlm.begin(), mlm.end());
  const std::vector<Head> heads = {
      {"bert", "BertForPreTraining", true, bert},
      {"mlm", "BertForMaskedLM", true, mlm},
      {"classifier", "BertForSequenceClassification", false,
       {{"output_layer_1.weight", hh}, {"output_layer_1.bias", v}, {"output_layer_2.weight", {3, h}}, {"output_layer_2.bias", {3}}}},
      {"ner", "BertForTokenClassification", false, {{"output_layer.weight", {5, h}}, {"output_layer.bias", {5}}}}};
  EXPECT_EQ(HuggingFaceArchitecture("none").value_or(""), "BertModel");
  for (const Head& head : heads) {
    EXPECT_EQ(HuggingFaceArchitecture(head.target).value_or(""), head.architecture);
    StateDict with_head = uer;
    for (const auto& [name, shape] : head.tensors) with_head.emplace_back(name, torch::randn(shape));
    KeyReport out_report, in_report;
    ASSERT_OK_AND_ASSIGN(StateDict as_hf, BertToHuggingFace(with_head, head.target, &out_report));
    EXPECT_TRUE(out_report.dropped.empty()) << head.target << ": " << out_report.Summary();
    if (head.pretraining) {
      EXPECT_EQ(BertHeadsIn(as_hf), head.target);
    }
    ASSERT_OK_AND_ASSIGN(StateDict again, BertFromHuggingFace(as_hf, head.target, &in_report));
    std::map<std::string, torch::Tensor> before(with_head.begin(), with_head.end()), after(again.begin(), again.end());
    EXPECT_EQ(before.size(), after.size()) << head.target;
    for (const auto& [name, shape] : head.tensors) {
      ASSERT_TRUE(after.count(name)) << head.target << " " << name;
      EXPECT_TRUE(torch::equal(before.at(name), after.at(name))) << head.target << " " << name;
    }
  }
}

}  // namespace
}  // namespace uer::runtime
