// A trivial tokenizer used by the loader's test fixtures (each fixture .so registers it under
// another name).
#ifndef UER_TESTING_PLUGINS_FIXTURE_H_
#define UER_TESTING_PLUGINS_FIXTURE_H_

#include "absl/strings/str_split.h"
#include "core/tokenizer.h"

namespace uer::testing {

class SplitTokenizer : public core::Tokenizer {
 public:
  explicit SplitTokenizer(std::shared_ptr<const core::Vocab> vocab) : core::Tokenizer(std::move(vocab)) {}
  std::vector<std::string> Tokenize(std::string_view text) const override {
    return absl::StrSplit(absl::string_view(text.data(), text.size()), ' ', absl::SkipEmpty());
  }
};

template <const char* kName>
class FixtureFactory : public core::TokenizerFactory {
 public:
  std::string name() const override { return kName; }
  std::string help() const override { return "test fixture"; }
  absl::StatusOr<std::unique_ptr<core::Tokenizer>> Create(
      const core::TokenizerOptions& options) const override {
    return std::unique_ptr<core::Tokenizer>(new SplitTokenizer(options.vocab));
  }
};

}  // namespace uer::testing

#endif  // UER_TESTING_PLUGINS_FIXTURE_H_
