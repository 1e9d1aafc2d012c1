// A BERT converter's main (UER-py's convert_bert_*.py flags): UER_TOOL_NAME, set by tools/BUILD,
// picks the direction and the default heads (core/runtime/apps/convert_bert.h).
//
//   bazel run //tools:convert_bert_from_huggingface_to_uer -- --input_model_path hf_folder/
//       --output_model_path model.bin [--target bert|mlm|none|classifier|ner] [--verify]
//   bazel run //tools:convert_bert_from_uer_to_huggingface -- --input_model_path model.bin
//       --output_model_path hf_folder/ --config_path models/bert/base.pbtxt --vocab_path vocab.txt
#include <iostream>

#include <gflags/gflags.h>

#include "absl/strings/str_cat.h"
#include "core/runtime/apps/convert_bert.h"
#include "tools/tool_common.h"

DEFINE_string(input_model_path, "", "The checkpoint to convert (a file, or a HuggingFace model folder).");
DEFINE_string(output_model_path, "", "Where the converted checkpoint goes (HuggingFace: a folder, .safetensors or .bin).");
DEFINE_bool(verify, false, "Read the written file back and compare every tensor bit for bit.");
DEFINE_string(vocab_path, "", "uer -> HuggingFace into a folder: the vocabulary copied as vocab.txt.");
DEFINE_string(output_config_path, "", "HuggingFace -> uer: where the model config from config.json goes (text proto).");
// Model flags (--config_path, --layers_num, --target: the heads, bert, mlm, none, classifier, ner or
// any target or task plugin that declares a HuggingFace head) come from tools/model_flags.cc.
DECLARE_string(config_path);
DECLARE_int32(layers_num);
DECLARE_string(target);

int main(int argc, char** argv) {
  auto conversion = uer::apps::BertConversionNamed(UER_TOOL_NAME);
  if (!conversion.ok()) {
    std::cerr << "error: " << conversion.status().message() << std::endl;
    return 2;
  }
  if (!conversion->default_target.empty()) {
    gflags::SetCommandLineOptionWithMode("target", conversion->default_target.c_str(), gflags::SET_FLAGS_DEFAULT);
  }
  const std::string usage = absl::StrCat(conversion->usage, "\nUsage: ", UER_TOOL_NAME,
                                         " --input_model_path IN --output_model_path OUT");
  uer::tools::InitTool(usage.c_str(), &argc, &argv);
  uer::tools::LoadPluginsFromFlags();  // the heads that --target names are the plugins' own declarations
  uer::apps::ConvertBertOptions o;
  o.input_model_path = FLAGS_input_model_path;
  o.output_model_path = FLAGS_output_model_path;
  o.target = FLAGS_target;
  o.verify = FLAGS_verify;
  o.vocab_path = FLAGS_vocab_path;
  o.output_config_path = FLAGS_output_config_path;
  if (uer::tools::FlagIsSet("layers_num")) o.layers_num = FLAGS_layers_num;
  o.resolve_config = [] { return uer::tools::ResolveModelConfig(FLAGS_config_path); };
  o.progress_name = gflags::ProgramInvocationShortName();
  return uer::tools::ExitCode(uer::apps::ConvertBert(conversion->direction, o));
}
