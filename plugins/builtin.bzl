"""The plugins that ship by default: registered name -> label. Tools find them in their runfiles."""

BUILTIN_PLUGINS = {
    "tokenizer/bert": "//plugins/tokenizers/bert",
    "tokenizer/char": "//plugins/tokenizers/char",
    "tokenizer/space": "//plugins/tokenizers/space",
}
