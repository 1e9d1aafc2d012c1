"""The plugins that ship by default: registered name -> label. tools find them in their runfiles."""

BUILTIN_PLUGINS = {
}
