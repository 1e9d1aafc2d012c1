#!/usr/bin/env bash
# The layering rule of the plugin architecture: what a caller needs to know about a plugin is a
# capability the plugin declares (Target::ReadsPadding, Encoder::TrailingPaddingInvisible,
# Embedding::max_positions, TokenizerFactory::SplitsWithoutVocab, ...), never a comparison with its
# name. So no C++ file outside plugins/<kind>/<name>/ compares a string against a built-in plugin's
# name (plugins/builtin.bzl). The listed exceptions: core/config.cc, UER-py's JSON config
# compatibility map (it translates UER-py's names of embeddings and targets), and
# core/runtime/hf_config.cc, whose "bert" is HuggingFace's model_type (the BERT converters take the
# heads from the plugins' own declarations: TargetFactory / TaskFactory::HuggingFaceBertHead).
#
# The same for key names: no C++ file outside the plugins (tests and fuzzers aside, whose fixtures
# are checkpoints) holds a string literal that reaches into a plugin's module, a model slot followed
# by a module name the plugins register or an older name they upgrade ("embedding.word_embedding",
# "target.mlm.linear_2"): the runtime and the tools ask the plugins (HuggingFaceBertKeys,
# VocabularyRows, OldKeyNames) instead.
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

# The module names the plugins register, and the first part of the older names they rename.
plugin_src=$(find -L "$ws/plugins" \( -name '*.cc' -o -name '*.h' \) ! -name '*_test.cc')
modules=$(echo "$plugin_src" | xargs grep -ohE 'register_(module|parameter|buffer)\("[a-z_0-9]+"' |
          sed -E 's/.*\("//; s/"$//' | sort -u)
old=$(echo "$plugin_src" | xargs grep -ohE '\{"uer-[a-z0-9]+", "[a-z_0-9]+\.' | sed -E 's/.*, "([a-z_0-9]+)\.$/\1/' | sort -u)
[[ $(echo "$modules" | wc -l) -gt 20 && -n "$old" ]] || fail "too few module names read from plugins/"
keys=$(printf '%s\n%s\n' "$modules" "$old" | sort -u | paste -sd'|')
key_literal="\"(module\\.)?(embedding|encoder|target|subencoder)\\.($keys)[.\"]"
key_checked=0
while IFS= read -r f; do
  rel=${f#"$ws/"}
  [[ $rel == *_test.cc || $rel == *_fuzz.cc || $rel == testing/* ]] && continue
  key_checked=$((key_checked + 1))
  if hits=$(grep -nE "$key_literal" "$f" | grep -vE '^[0-9]+: *//'); then
    echo "$rel names a key inside a plugin's module (ask the plugin instead):"
    echo "$hits"
    bad=1
  fi
done < <(find -L "$ws/core" "$ws/tools" "$ws/bench" -maxdepth 3 \( -name '*.cc' -o -name '*.h' \))
[[ $key_checked -gt 20 ]] || fail "only $key_checked files checked for key names"
[[ $bad == 0 ]] || exit 1
echo "PASS: $checked files, none compares against a built-in plugin name (names: $(echo $names));" \
  "$key_checked files, none names a key inside a plugin's module (old names: $(echo $old))"
