#!/usr/bin/env bash
# Scores a separator as docs/default_model.md does: the first 100 mixtures of every seeded test
# set under TESTSETS (the synthetic test-music, test-speech and test-sfx, and each domain of the
# real-recording realtest), by exact labels, with the absent-query level and the paraphrase gap.
# One evaluation at a time (JOBS=2 runs two at once). Writes OUT/<set>.json and OUT/<set>.txt.
#   bash scripts/score_default_model.sh MODEL TESTSETS OUT
set -euo pipefail
if [ $# -ne 3 ]; then
  echo "usage: $0 MODEL TESTSETS OUT" >&2
  exit 2
fi
model=$1 testsets=$2 out=$3
jobs=${JOBS:-1}
mkdir -p "$out"
export OMP_NUM_THREADS=1
score() {  # score NAME TESTSET [eval options...]
  local name=$1 set=$2
  shift 2
  soundsift eval --model "$model" --testset "$testsets/$set" --limit 100 --absent --paraphrase-gap "$@" \
    --json "$out/$name.json" > "$out/$name.txt" 2>&1
}
run() {  # at most $jobs evaluations at once
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
  score "$@" &
}
for set in music speech sfx; do
  run "test-$set" "test-$set"
done
for domain in "speech over sfx" "speech over music" "instrument pairs" "sfx pairs"; do
  run "real-${domain// /-}" realtest --domain "$domain"
done
wait
echo "scores in $out"
