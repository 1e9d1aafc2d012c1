# Sourced by the distributed tests: a 16-character vocabulary and a 160-line cls dataset in "$t"
# (d.uer), and `flags`, the pretrain flags of a tiny 2-layer BERT without dropout on it. The caller
# sets ws (runfiles root) and t (a scratch folder) and adds --total_steps/--save_checkpoint_steps.
{ echo "[PAD]"; for i in $(seq 1 99); do echo "[unused$i]"; done; printf '[UNK]\n[CLS]\n[SEP]\n[MASK]\n'; for c in a b c d e f g h i j k l m n o p; do echo $c; done; } > "$t/vocab.txt"
for i in $(seq 1 40); do printf '1\tabcdefgh\n0\tponmlkji\n1\tabcdmnop\n0\thgfedcba\n'; done > "$t/corpus.tsv"
"$ws/tools/preprocess" --corpus_path "$t/corpus.tsv" --vocab_path "$t/vocab.txt" --dataset_path "$t/d.uer" \
  --tokenizer char --seq_length 16 --target cls 2>/dev/null
flags=(--dataset_path "$t/d.uer" --vocab_path "$t/vocab.txt" --emb_size 32 --hidden_size 32 --feedforward_size 64
       --heads_num 2 --layers_num 2 --dropout 0 --target cls --total_steps 8 --report_steps 2 --learning_rate 1e-3
       --instances_buffer_size 64)
