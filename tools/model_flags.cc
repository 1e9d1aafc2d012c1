// The model flags shared by the tools that build a model (UER-py's names and defaults). They are
// read by name in ResolveModelConfig (tools/tool_common.h): a flag given on the command line wins
// over the config file, whose values win over these defaults.
#include <gflags/gflags.h>

DEFINE_string(config_path, "", "Model config: text proto (.pbtxt) or UER-py JSON.");
DEFINE_int32(emb_size, 768, "Embedding dimension.");
DEFINE_int32(hidden_size, 768, "Hidden state dimension.");
DEFINE_int32(feedforward_size, 3072, "Feed forward layer dimension.");
DEFINE_int32(kernel_size, 3, "Kernel size for CNN.");
DEFINE_int32(block_size, 2, "Block size for CNN.");
DEFINE_int32(heads_num, 12, "The number of heads in multi-head attention.");
DEFINE_int32(layers_num, 12, "The number of encoder layers.");
DEFINE_double(dropout, 0.1, "Dropout value.");
DEFINE_string(embedding, "bert", "Emebdding type: bert, word.");
DEFINE_string(encoder, "bert", "Encoder type: bert, lstm, gru, bilstm, gpt (or a plugin's).");
DEFINE_bool(bidirectional, false, "Specific to recurrent model.");
DEFINE_string(target, "bert", "The training target of the pretraining model: bert, lm, cls, mlm, bilm.");
DEFINE_int32(labels_num, 2, "Specific to classification tasks.");
// Subword models (UER-py's names): each word's characters, through a subencoder, added to its embedding.
DEFINE_string(subword_type, "none", "Subword feature type: none, char.");
DEFINE_string(sub_vocab_path, "", "The characters' vocabulary of a subword model (--subword_type char).");
DEFINE_string(subencoder, "avg", "Subencoder type: avg, lstm, gru, cnn.");
DEFINE_int32(sub_layers_num, 2, "The number of subencoder layers.");
