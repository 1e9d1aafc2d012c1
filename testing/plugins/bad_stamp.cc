// Loader test fixture: a stamp that claims another LibTorch. The loader must refuse the plugin and
// discard its registration of tokenizer "testing.bad_stamp".
#include "core/plugin_stamp.h"
#include "testing/plugins/fixture.h"

namespace {
constexpr char kName[] = "testing.bad_stamp";
using Factory = uer::testing::FixtureFactory<kName>;
}  // namespace

UER_REGISTER_FACTORY(Factory);

extern "C" __attribute__((section(".uer_plugin_stamp"), used, visibility("default")))
const char uer_plugin_stamp[] =
    "uer-plugin-stamp 2\nname=testing.bad_stamp\napi=" UER_STAMP_STR_(UER_PLUGIN_API_VERSION) "\nuer=" UER_VERSION_STRING
    "\ntorch=0.0.0-bad\nprotobuf=" UER_STAMP_STR_(GOOGLE_PROTOBUF_VERSION) "\ncxx11_abi=" UER_STAMP_STR_(_GLIBCXX_USE_CXX11_ABI)
    "\ncompiler=" __VERSION__ "\nsdk=" UER_SDK_HASH "\n";
