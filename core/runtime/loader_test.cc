// The loader, through real plugin shared libraries: the good ones, the deliberately broken fixtures
// of testing/plugins/ and the third-party example of docs/examples/acme_encoder/.
#include "core/runtime/loader.h"

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include <torch/nn/modules/linear.h>

#include "core/plugin_api.h"
#include "core/plugin_stamp.h"
#include "testing/test_util.h"

namespace uer::runtime {
using namespace ::uer::core;  // NOLINT: the SDK types the runtime works with
namespace {

using ::testing::HasSubstr;
using ::uer::testing::RunfilePath;
using ::uer::testing::StatusIs;

std::string Fixture(const std::string& name) {
  return std::filesystem::canonical(RunfilePath("testing/plugins/libuer_tokenizer_testing_" + name + ".so")).string();
}

std::string OriginOf(PluginKind kind, const std::string& name) {
  for (const RegistryEntry& e : registry::List()) {
    if (e.kind == kind && e.name == name) return e.origin;
  }
  return "";
}

TEST(LoaderTest, LoadsAGoodPluginOnceAndRecordsItsPath) {
  const std::string path = Fixture("good");
  ASSERT_OK(LoadPlugin(path));
  ASSERT_OK(LoadPlugin(path));  // a no-op the second time
  EXPECT_EQ(OriginOf(PluginKind::kTokenizer, "testing.good"), path);
  auto vocab = std::make_shared<Vocab>(*Vocab::FromTokens({"[UNK]", "a", "b"}, "inline"));
  ASSERT_OK_AND_ASSIGN(auto tokenizer, CreateTokenizer("testing.good", {vocab, true}));
  EXPECT_EQ(tokenizer->ConvertTokensToIds(tokenizer->Tokenize("a b c")), (std::vector<int64_t>{1, 2, 0}));
  std::vector<std::string> loaded = LoadedPluginPaths();
  EXPECT_EQ(std::count(loaded.begin(), loaded.end(), path), 1);
}

TEST(LoaderTest, RefusesAPluginWithoutStamp) {
  const std::string path = Fixture("no_stamp");
  EXPECT_THAT(LoadPlugin(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "plugin " + path +
                           " has no uer-cc stamp (section .uer_plugin_stamp): build it with the uer_plugin() Bazel "
                           "macro or add UER_PLUGIN_DEFINE_INFO(\"name\") to one of its sources (core/plugin_stamp.h)"));
  EXPECT_THAT(registry::Find(PluginKind::kTokenizer, "testing.no_stamp"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("unknown")));
}

TEST(LoaderTest, RefusesAPluginWithAWrongStamp) {
  const std::string path = Fixture("bad_stamp");
  EXPECT_THAT(LoadPlugin(path),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "plugin " + path + " does not match this uer-cc and was refused: LibTorch version 0.0.0-bad (plugin) vs " +
                           TORCH_VERSION + " (core). Rebuild the plugin against this plugin_api"));
  // Its registration was never made: the library was not mapped.
  EXPECT_THAT(registry::Find(PluginKind::kTokenizer, "testing.bad_stamp"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("unknown")));
}

// A plugin built against changed SDK headers is refused with both hashes named, and none of its code
// runs (the fixture's static initializer aborts the process if it ever does).
TEST(LoaderTest, RefusesAPluginBuiltAgainstOtherSdkHeaders) {
  const std::string path = Fixture("old_sdk");
  ASSERT_OK_AND_ASSIGN(PluginStamp stamp, ReadPluginStamp(path));
  ASSERT_NE(stamp["sdk"], CoreStamp().at("sdk"));
  EXPECT_EQ(CoreStamp().at("sdk"), UER_SDK_HASH);
  EXPECT_THAT(LoadPlugin(path),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "plugin " + path + " does not match this uer-cc and was refused: SDK headers hash " + stamp["sdk"] +
                           " (plugin) vs " + UER_SDK_HASH + " (core). Rebuild the plugin against this plugin_api"));
  EXPECT_THAT(registry::Find(PluginKind::kTokenizer, "testing.old_sdk"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("unknown")));
}

// Also: lookups on another thread while the plugins load never commit what a plugin registers (its
// registrations wait in the loading thread's scope until its stamp and names are checked).
TEST(LoaderTest, DuplicateNameAcrossPluginsNamesBothFiles) {
  const std::string a = Fixture("dup_a"), b = Fixture("dup_b");
  std::atomic<bool> done{false};
  std::thread looker([&] {
    while (!done.load()) (void)registry::Find(PluginKind::kTokenizer, "testing.dup");
  });
  absl::Status first = LoadPlugin(a), second = LoadPlugin(b);
  done = true;
  looker.join();
  ASSERT_OK(first);
  const absl::Status refused = absl::AlreadyExistsError("tokenizer \"testing.dup\" is registered twice: by " + a + " and by " + b);
  EXPECT_EQ(second, refused);
  EXPECT_EQ(OriginOf(PluginKind::kTokenizer, "testing.dup"), a);
  // Loading the refused file again says the same, not OK (its library stays mapped, unused).
  EXPECT_EQ(LoadPlugin(b), refused);
}

TEST(LoaderTest, FactoryErrorsReachTheCaller) {
  ASSERT_OK(LoadPlugin(Fixture("failing")));
  auto vocab = std::make_shared<Vocab>(*Vocab::FromTokens({"[UNK]"}, "inline"));
  EXPECT_THAT(CreateTokenizer("testing.failing", {vocab, true}),
              StatusIs(absl::StatusCode::kInvalidArgument, "testing.failing always fails"));
}

TEST(LoaderTest, MissingFileAndNonLibrary) {
  EXPECT_THAT(LoadPlugin("/nonexistent/libuer_x.so"),
              StatusIs(absl::StatusCode::kNotFound, "cannot load plugin /nonexistent/libuer_x.so: No such file or directory"));
  const std::string not_elf = std::filesystem::canonical(RunfilePath("testing/BUILD")).string();
  EXPECT_THAT(LoadPlugin(not_elf), StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("cannot load plugin " + not_elf + ": ")));
}

TEST(LoaderTest, UnknownEncoderListsTheLoadedOnes) {
  ASSERT_OK(LoadPlugin(RunfilePath("docs/examples/acme_encoder/libuer_encoder_acme_tiny.so")));
  v1::ModelConfig c;
  c.set_encoder("acme.tiyn");
  EXPECT_THAT(CreateEncoder(c, {}), StatusIs(absl::StatusCode::kNotFound,
                                             "unknown encoder \"acme.tiyn\"; known encoders: acme.tiny (did you mean \"acme.tiny\"?)"));
}

TEST(LoaderTest, ThirdPartyEncoderIsChosenByNameInAConfig) {
  ASSERT_OK(LoadPluginList(RunfilePath("docs/examples/acme_encoder/libuer_encoder_acme_tiny.so"), ','));
  ASSERT_OK_AND_ASSIGN(v1::ModelConfig config, LoadModelConfig(RunfilePath("docs/examples/acme_encoder/tiny.pbtxt")));
  ASSERT_EQ(config.encoder(), "acme.tiny");
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Encoder> encoder, CreateEncoder(config, {}));
  torch::manual_seed(7);
  torch::Tensor emb = torch::randn({2, 3, 8});
  torch::Tensor seg = torch::tensor({{1, 1, 0}, {1, 2, 2}});
  torch::Tensor out = encoder->Forward(emb, seg);
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{2, 3, 4}));
  auto params = encoder->named_parameters();
  ASSERT_TRUE(params.contains("linear.weight"));
  torch::Tensor expected = torch::tanh(torch::matmul(emb, params["linear.weight"].t()) + params["linear.bias"]) * 0.5;
  expected.index_put_({0, 2}, 0.0);
  EXPECT_TRUE(torch::allclose(out, expected, 1e-6, 1e-6));
  // The plugin validates its own option.
  config.mutable_options()->at("acme.scale") = "-1";
  EXPECT_THAT(CreateEncoder(config, {}), StatusIs(absl::StatusCode::kInvalidArgument,
                                                  "encoder \"acme.tiny\": option \"acme.scale\" must be a number > 0, got \"-1\""));
}

TEST(LoaderTest, StampComparisonNamesEveryMismatch) {
  PluginStamp other = CoreStamp();
  other["compiler"] = "clang 99";
  other["cxx11_abi"] = other["cxx11_abi"] == "1" ? "0" : "1";
  std::vector<std::string> d = CompareStamps(other, CoreStamp());
  ASSERT_EQ(d.size(), 2u);
  EXPECT_THAT(d[0], HasSubstr("_GLIBCXX_USE_CXX11_ABI"));
  EXPECT_THAT(d[1], HasSubstr("compiler clang 99 (plugin) vs "));
  other = CoreStamp();
  other["api"] = "99";
  other["sdk"] = "0000";
  d = CompareStamps(other, CoreStamp());
  ASSERT_EQ(d.size(), 1u);  // another API version: the other fields may mean other things
  EXPECT_EQ(d.front(), "plugin API version 99 (plugin) vs " + std::to_string(UER_PLUGIN_API_VERSION) + " (core)");
}

}  // namespace
}  // namespace uer::runtime
