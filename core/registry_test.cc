#include "core/registry.h"

#include "core/tokenizer.h"
#include "testing/test_util.h"

namespace uer::core {
namespace {

using ::testing::HasSubstr;
using ::uer::testing::ScopedFactoryOverride;
using ::uer::testing::StatusIs;

class NullTokenizerFactory : public TokenizerFactory {
 public:
  std::string name() const override { return "null"; }
  std::string help() const override { return "no tokens"; }
  absl::StatusOr<std::unique_ptr<Tokenizer>> Create(const TokenizerOptions&) const override {
    return absl::UnimplementedError("null");
  }
};

class NullTokenizerFactory2 : public NullTokenizerFactory {
 public:
  std::string help() const override { return "a second one"; }
};

class WordTokenizerFactory : public NullTokenizerFactory {
 public:
  std::string name() const override { return "word"; }
};

TEST(RegistryTest, FindsARegisteredFactoryByKindAndName) {
  ScopedFactoryOverride<NullTokenizerFactory> f;
  ASSERT_OK(f.status());
  ASSERT_OK_AND_ASSIGN(const TokenizerFactory* found, FindFactory<TokenizerFactory>("null"));
  EXPECT_EQ(found->help(), "no tokens");
  // The same name is free in another kind.
  EXPECT_THAT(registry::Find(PluginKind::kEncoder, "null"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("unknown encoder \"null\"")));
}

TEST(RegistryTest, DuplicateNameNamesBothOrigins) {
  ScopedFactoryOverride<NullTokenizerFactory> f;
  ASSERT_OK(f.status());
  absl::Status st = registry::Register(std::make_unique<NullTokenizerFactory2>(), "/tmp/libother.so");
  EXPECT_THAT(st, StatusIs(absl::StatusCode::kAlreadyExists,
                           "tokenizer \"null\" is registered twice: by test override and by /tmp/libother.so"));
}

TEST(RegistryTest, UnknownNameListsKnownNamesAndSuggests) {
  ScopedFactoryOverride<NullTokenizerFactory> a;
  ScopedFactoryOverride<WordTokenizerFactory> b;
  EXPECT_THAT(registry::Find(PluginKind::kTokenizer, "wurd"),
              StatusIs(absl::StatusCode::kNotFound,
                       "unknown tokenizer \"wurd\"; known tokenizers: null, word (did you mean \"word\"?)"));
  EXPECT_THAT(registry::Find(PluginKind::kTokenizer, "zzzzzzzz"),
              StatusIs(absl::StatusCode::kNotFound, "unknown tokenizer \"zzzzzzzz\"; known tokenizers: null, word"));
}

TEST(RegistryTest, ListIsSortedAndUnregisterRemoves) {
  {
    ScopedFactoryOverride<WordTokenizerFactory> b;
    ScopedFactoryOverride<NullTokenizerFactory> a;
    std::vector<std::string> names = registry::Names(PluginKind::kTokenizer);
    EXPECT_EQ(names, (std::vector<std::string>{"null", "word"}));
    std::vector<RegistryEntry> all = registry::List();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].origin, "test override");
  }
  EXPECT_TRUE(registry::Names(PluginKind::kTokenizer).empty());
}

TEST(RegistryTest, ResolveOptionsFillsDefaultsAndChecksTypes) {
  using Type = PluginOption::Type;
  const std::vector<PluginOption> declared = {{"stride", Type::kInt64, "128", "h"},
                                              {"verbose", Type::kBool, "false", "h"},
                                              {"column", Type::kString, "text_a", "h"}};
  ASSERT_OK_AND_ASSIGN(auto values, ResolveOptions(declared, {{"stride", "64"}, {"labels_num", "3"}}));
  EXPECT_EQ(values.at("stride"), "64");       // given
  EXPECT_EQ(values.at("verbose"), "false");   // the default
  EXPECT_EQ(values.at("column"), "text_a");
  EXPECT_EQ(values.at("labels_num"), "3");    // not declared: passed on
  EXPECT_THAT(ResolveOptions(declared, {{"stride", "wide"}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--stride wide: not a valid int64")));
  EXPECT_THAT(ResolveOptions(declared, {{"verbose", "maybe"}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--verbose maybe: not a valid bool")));
}

TEST(RegistryTest, KindNames) {
  std::vector<std::string> names;
  for (PluginKind k : AllKinds()) names.push_back(KindName(k));
  EXPECT_EQ(names, (std::vector<std::string>{"embedding", "encoder", "target", "tokenizer", "subencoder", "task", "target_data"}));
}

}  // namespace
}  // namespace uer::core
