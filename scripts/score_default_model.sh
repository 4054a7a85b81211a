#!/usr/bin/env bash
# Scores a separator as docs/default_model.md does: the first 40 mixtures of each seeded test
# set (test-music, test-speech, test-sfx under TESTSETS), exact labels and paraphrases, two
# evaluations at a time. Writes OUT/<set>.json and OUT/<set>.txt.
#   bash scripts/score_default_model.sh MODEL TESTSETS OUT
set -euo pipefail
if [ $# -ne 3 ]; then
  echo "usage: $0 MODEL TESTSETS OUT" >&2
  exit 2
fi
model=$1 testsets=$2 out=$3
mkdir -p "$out"
export OMP_NUM_THREADS=1
score() {  # score SET NAME [eval options...]
  local set=$1 name=$2
  shift 2
  soundsift eval --model "$model" --testset "$testsets/test-$set" --limit 40 "$@" --json "$out/$name.json" \
    > "$out/$name.txt" 2>&1
}
for set in music speech; do
  score "$set" "$set" & labels=$!
  score "$set" "$set-paraphrases" --queries paraphrases & paraphrases=$!
  wait "$labels"
  wait "$paraphrases"
done
score sfx sfx
echo "scores in $out"
