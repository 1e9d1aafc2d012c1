// The BERT converters (tools/convert_bert_lib.cc): one library, eight tools named as UER-py's scripts.
#ifndef UER_TOOLS_CONVERT_BERT_H_
#define UER_TOOLS_CONVERT_BERT_H_

#include <string>

namespace uer::tools {

// Runs the conversion that `tool` names (convert_bert_from_huggingface_to_uer, ..._from_uer_to_google,
// convert_bert_text_classification_from_uer_to_huggingface, ...): its direction from the name's end,
// its default --target from "text_classification" / "token_classification". Returns the exit status.
int ConvertBertMain(int argc, char** argv, const std::string& tool);

}  // namespace uer::tools

#endif  // UER_TOOLS_CONVERT_BERT_H_
