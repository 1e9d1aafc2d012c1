"""Pinned versions, shared by the build and tools/bootstrap.sh (keep TORCH_VERSION equal there)."""

TORCH_VERSION = "2.11.0"
UER_VERSION = "0.1.0"
PLUGIN_API_VERSION = 7
