// Loader test fixture: a tokenizer factory whose Create always fails.
#include "core/tokenizer.h"

namespace {

class FailingFactory : public uer::core::TokenizerFactory {
 public:
  std::string name() const override { return "testing.failing"; }
  std::string help() const override { return "test fixture that cannot be created"; }
  absl::StatusOr<std::unique_ptr<uer::core::Tokenizer>> Create(
      const uer::core::TokenizerOptions&) const override {
    return absl::InvalidArgumentError("testing.failing always fails");
  }
};

}  // namespace

UER_REGISTER_FACTORY(FailingFactory);
