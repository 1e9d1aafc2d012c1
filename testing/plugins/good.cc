// Loader test fixture: registers tokenizer "testing.good".
#include "testing/plugins/fixture.h"

namespace {
constexpr char kName[] = "testing.good";
using Factory = uer::testing::FixtureFactory<kName>;
}  // namespace

UER_REGISTER_FACTORY(Factory);
