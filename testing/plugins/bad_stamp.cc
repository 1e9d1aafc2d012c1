// Loader test fixture: a stamp that claims another LibTorch. The loader must refuse the plugin and
// discard its registration of tokenizer "testing.bad_stamp".
#include "core/plugin_stamp.h"
#include "testing/plugins/fixture.h"

namespace {
constexpr char kName[] = "testing.bad_stamp";
using Factory = uer::testing::FixtureFactory<kName>;
}  // namespace

UER_REGISTER_FACTORY(Factory);

extern "C" __attribute__((visibility("default"))) const UerPluginInfo* uer_plugin_info() {
  static UerPluginInfo info = UER_PLUGIN_INFO_INITIALIZER("testing.bad_stamp");
  info.torch_version = "0.0.0-bad";
  return &info;
}
