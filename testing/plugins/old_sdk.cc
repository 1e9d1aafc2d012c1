// Loader test fixture: a plugin built against other SDK headers (the stamp's SDK hash is the hash of
// a copy of core's headers with one line changed, made by the BUILD's genrule). The loader must
// refuse it with both hashes named, before any of its code runs: its static initializer aborts.
#include <cstdlib>

#include "core/plugin_stamp.h"
#include "testing/plugins/fixture.h"
#include "testing/plugins/old_sdk_hash.h"

namespace {
constexpr char kName[] = "testing.old_sdk";
using Factory = uer::testing::FixtureFactory<kName>;
[[maybe_unused]] const int kRanCode = (std::abort(), 0);  // proves the loader never mapped this library
}  // namespace

UER_REGISTER_FACTORY(Factory);
UER_PLUGIN_DEFINE_INFO_WITH_SDK("testing.old_sdk", UER_OLD_SDK_HASH)
