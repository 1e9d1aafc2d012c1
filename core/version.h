// Version numbers of uer-cc and of its plugin API. Keep equal to bazel/versions.bzl
// (core/version_test.sh checks it).
#ifndef UER_CORE_VERSION_H_
#define UER_CORE_VERSION_H_

#define UER_VERSION_STRING "0.1.0"
// Bumped whenever a plugin interface in core/plugin_api.h changes incompatibly.
#define UER_PLUGIN_API_VERSION 7

#endif  // UER_CORE_VERSION_H_
