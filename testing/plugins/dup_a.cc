// Loader test fixture: registers tokenizer "testing.dup".
#include "testing/plugins/fixture.h"

namespace {
constexpr char kName[] = "testing.dup";
using Factory = uer::testing::FixtureFactory<kName>;
}  // namespace

UER_REGISTER_FACTORY(Factory);
