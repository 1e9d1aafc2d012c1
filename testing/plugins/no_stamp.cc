// Loader test fixture: registers tokenizer "testing.no_stamp".
#include "testing/plugins/fixture.h"

namespace {
constexpr char kName[] = "testing.no_stamp";
using Factory = uer::testing::FixtureFactory<kName>;
}  // namespace

UER_REGISTER_FACTORY(Factory);
// Deliberately no UER_PLUGIN_DEFINE_INFO: the loader must refuse this library.
