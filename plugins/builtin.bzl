"""The plugins that ship by default: kind/name -> label. Tools find them in their runfiles."""

BUILTIN_PLUGINS = {
    "embedding/bert": "//plugins/embeddings/bert",
    "embedding/word": "//plugins/embeddings/word",
    "encoder/bert": "//plugins/encoders/bert",
    "encoder/bilstm": "//plugins/encoders/bilstm",
    "encoder/gpt": "//plugins/encoders/gpt",
    "encoder/gru": "//plugins/encoders/gru",
    "encoder/lstm": "//plugins/encoders/lstm",
    "target/bert": "//plugins/targets/bert",
    "target/bilm": "//plugins/targets/bilm",
    "target/cls": "//plugins/targets/cls",
    "target/lm": "//plugins/targets/lm",
    "target/mlm": "//plugins/targets/mlm",
    "task/classifier": "//plugins/tasks/classifier",
    "task/ner": "//plugins/tasks/ner",
    "tokenizer/bert": "//plugins/tokenizers/bert",
    "tokenizer/char": "//plugins/tokenizers/char",
    "tokenizer/space": "//plugins/tokenizers/space",
}
