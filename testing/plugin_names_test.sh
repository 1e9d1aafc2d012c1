#!/usr/bin/env bash
# The layering rule of the plugin architecture: what a caller needs to know about a plugin is a
# capability the plugin declares (Target::ReadsPadding, Encoder::TrailingPaddingInvisible,
# Embedding::max_positions, TokenizerFactory::SplitsWithoutVocab, ...), never a comparison with its
# name. So no C++ file outside plugins/<kind>/<name>/ compares a string against a built-in plugin's
# name (plugins/builtin.bzl). The listed exceptions: core/config.cc, UER-py's JSON config
# compatibility map (it translates UER-py's names of embeddings and targets), and
# core/runtime/hf_config.cc, whose "bert" is HuggingFace's model_type (the BERT converters take the
# heads from the plugins' own declarations: TargetFactory / TaskFactory::HuggingFaceBertHead).
source "$TEST_SRCDIR/$TEST_WORKSPACE/testing/lib.sh" || exit 1
names=$(sed -n 's/^ *"[a-z_]*\/\([a-z_.]*\)": .*/\1/p' "$ws/plugins/builtin.bzl" | sort -u)
[[ -n "$names" ]] || fail "no built-in plugin names read from plugins/builtin.bzl"
alternation=$(echo "$names" | paste -sd'|')
exceptions="core/config.cc core/runtime/hf_config.cc"
checked=0; bad=0
while IFS= read -r f; do
  rel=${f#"$ws/"}
  [[ " $exceptions " == *" $rel "* ]] && continue
  checked=$((checked + 1))
  if hits=$(grep -nE "(==|!=) *\"($alternation)\"|\"($alternation)\" *(==|!=)" "$f"); then
    echo "$rel compares against a built-in plugin's name (declare a capability instead):"
    echo "$hits"
    bad=1
  fi
done < <(find -L "$ws/core" "$ws/tools" "$ws/testing" "$ws/bench" "$ws/plugins" -maxdepth 3 \
           \( -name '*.cc' -o -name '*.h' \) | grep -vE "/plugins/(embeddings|encoders|targets|tokenizers|tasks|subencoders)/[a-z_]+/" || true; \
         find -L "$ws/plugins/targets/common" "$ws/plugins/tokenizers/common" "$ws/plugins/tasks/common" -name '*.cc' -o -name '*.h' 2>/dev/null)
[[ $checked -gt 20 ]] || fail "only $checked files checked: the data of the test is wrong"
[[ $bad == 0 ]] || exit 1
echo "PASS: $checked files, none compares against a built-in plugin name (names: $(echo $names))"
