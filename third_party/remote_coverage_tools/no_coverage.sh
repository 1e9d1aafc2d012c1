#!/bin/sh
echo "bazel coverage is not available in uer-cc's offline build" >&2
exit 1
