// A BERT converter's main: UER_TOOL_NAME (set by tools/BUILD) picks the direction and the heads.
#include "tools/convert_bert.h"

int main(int argc, char** argv) { return uer::tools::ConvertBertMain(argc, argv, UER_TOOL_NAME); }
