// The version stamp of a plugin shared library. Every plugin defines `uer_plugin_info` once (the
// uer_plugin() Bazel macro generates it; a plugin built elsewhere writes one line):
//
//   #include "core/plugin_stamp.h"
//   UER_PLUGIN_DEFINE_INFO("acme.tiny_encoder")
//
// The loader reads the stamp *before* it accepts the plugin's registrations and refuses a plugin
// whose API version, uer-cc version, LibTorch version, protobuf version, C++11-ABI bit or compiler
// differs from core's.
#ifndef UER_CORE_PLUGIN_STAMP_H_
#define UER_CORE_PLUGIN_STAMP_H_

#include <google/protobuf/stubs/common.h>
#include <torch/version.h>

#include "core/version.h"

extern "C" {
struct UerPluginInfo {
  int struct_size;            // sizeof(UerPluginInfo) in the plugin
  int api_version;            // UER_PLUGIN_API_VERSION
  const char* plugin_name;    // a name for messages, e.g. "bert"
  const char* uer_version;    // UER_VERSION_STRING
  const char* torch_version;  // TORCH_VERSION
  int protobuf_version;       // GOOGLE_PROTOBUF_VERSION
  int cxx11_abi;              // _GLIBCXX_USE_CXX11_ABI
  const char* compiler;       // __VERSION__
};
}

#define UER_PLUGIN_INFO_INITIALIZER(NAME)                                          \
  {                                                                                \
    static_cast<int>(sizeof(UerPluginInfo)), UER_PLUGIN_API_VERSION, NAME,         \
        UER_VERSION_STRING, TORCH_VERSION, GOOGLE_PROTOBUF_VERSION,                \
        _GLIBCXX_USE_CXX11_ABI, __VERSION__                                        \
  }

#define UER_PLUGIN_DEFINE_INFO(NAME)                                                 \
  extern "C" __attribute__((visibility("default"))) const UerPluginInfo* uer_plugin_info() { \
    static const UerPluginInfo info = UER_PLUGIN_INFO_INITIALIZER(NAME);             \
    return &info;                                                                    \
  }

#endif  // UER_CORE_PLUGIN_STAMP_H_
