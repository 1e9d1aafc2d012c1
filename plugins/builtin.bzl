"""The plugins that ship by default: kind/name -> label. Tools find them in their runfiles."""

def plugin_sources(label):
    """The sources of the plugin at `label` (uer_plugin's NAME_sources)."""
    return label + "_sources" if ":" in label else "%s:%s_sources" % (label, label.split("/")[-1])

BUILTIN_PLUGINS = {
    "embedding/bert": "//plugins/embeddings/bert",
    "embedding/word": "//plugins/embeddings/word",
    "encoder/bert": "//plugins/encoders/bert",
    "encoder/attn": "//plugins/encoders/attn",
    "encoder/bilstm": "//plugins/encoders/bilstm",
    "encoder/cnn": "//plugins/encoders/cnn",
    "encoder/crnn": "//plugins/encoders/crnn",
    "encoder/gatedcnn": "//plugins/encoders/gatedcnn",
    "encoder/gpt": "//plugins/encoders/gpt",
    "encoder/gru": "//plugins/encoders/gru",
    "encoder/lstm": "//plugins/encoders/lstm",
    "encoder/rcnn": "//plugins/encoders/rcnn",
    "subencoder/avg": "//plugins/subencoders/avg",
    "subencoder/cnn": "//plugins/subencoders/cnn",
    "subencoder/gru": "//plugins/subencoders/gru",
    "subencoder/lstm": "//plugins/subencoders/lstm",
    "target/bert": "//plugins/targets/bert",
    "target/bilm": "//plugins/targets/bilm",
    "target/cls": "//plugins/targets/cls",
    "target/lm": "//plugins/targets/lm",
    "target/mlm": "//plugins/targets/mlm",
    "target/nsp": "//plugins/targets/nsp",
    "target/s2s": "//plugins/targets/s2s",
    "target_data/bert": "//plugins/targets/bert:data",
    "target_data/bilm": "//plugins/targets/bilm:data",
    "target_data/cls": "//plugins/targets/cls:data",
    "target_data/lm": "//plugins/targets/lm:data",
    "target_data/mlm": "//plugins/targets/mlm:data",
    "target_data/nsp": "//plugins/targets/nsp:data",
    "target_data/s2s": "//plugins/targets/s2s:data",
    "task/classifier": "//plugins/tasks/classifier",
    "task/mrc": "//plugins/tasks/mrc",
    "task/ner": "//plugins/tasks/ner",
    "tokenizer/bert": "//plugins/tokenizers/bert",
    "tokenizer/bert_hf": "//plugins/tokenizers/bert_hf",
    "tokenizer/char": "//plugins/tokenizers/char",
    "tokenizer/space": "//plugins/tokenizers/space",
}

# What tools/main_job.sh uses (a tiny BERT pre-trained with mlm on characters, then a classifier):
# `--config=main_job` gives the tools only these, so a new user's first build compiles about half
# of the plugins. Every other build carries all of BUILTIN_PLUGINS.
MAIN_JOB_PLUGINS = [
    "embedding/bert",
    "encoder/bert",
    "target/mlm",
    "target_data/mlm",
    "task/classifier",
    "tokenizer/bert",
    "tokenizer/char",
]
