#!/usr/bin/env bash
# Bundle a trained checkpoint and regenerate its published results.
#   scripts/bundle-model.sh [--checkpoint DIR] RUN_DIR [EVAL_COUNT] [FULL_COUNT]
# Copies RUN_DIR/best (or the checkpoint DIR, e.g. RUN_DIR/last or a kept copy), re-saved without its
# optimizer state, to outputs/pretrained/mmnist-CONFIG/ (CONFIG = the
# checkpoint's config name, e.g. mmnist-small; which one is the default is DEFAULT_MODEL_NAME in
# src/model/pretrained.ts), evaluates it on
# EVAL_COUNT (default 10000) sequences generated from MNIST test digits with seed 0, and writes
# metrics.json, per_frame.csv/.png, samples.png, the run's loss curve and commands, and README GIFs.
# With FULL_COUNT (e.g. 10000) it also evaluates that many sequences (same seed) into
# metrics-FULL_COUNT.json and per_frame-FULL_COUNT.csv.
set -euo pipefail
cd "$(dirname "$0")/.."
usage='usage: scripts/bundle-model.sh [--checkpoint DIR] RUN_DIR [EVAL_COUNT] [FULL_COUNT]'
checkpoint=
if [ "${1:-}" = --checkpoint ]; then checkpoint=${2:?$usage}; shift 2; fi
run=${1:?$usage}
count=${2:-10000}
full=${3:-}
src=${checkpoint:-$run/best}
[ -f "$src/model.json" ] || { echo "no checkpoint at $src" >&2; exit 2; }
[ -f "$run/command.txt" ] || { echo "no training run at $run (command.txt missing)" >&2; exit 2; }
name=mmnist-$(node -e "console.log(JSON.parse(require('fs').readFileSync('$src/config.json','utf8')).name)")
dest=outputs/pretrained/$name
tmp=$(mktemp -d outputs/pretrained/.bundle-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# Load (verifying the manifest) and save the model and state only: a bundle carries no optimizer state
# (a best/ written by hand from a kept copy may have it).
CK_SRC="$src" CK_OUT="$tmp/model" node --input-type=module -e "
  const m = await import('$PWD/dist/index.js');
  await m.initBackend('wasm');
  const c = await m.loadCheckpoint(process.env.CK_SRC);
  await m.saveCheckpoint(process.env.CK_OUT, { model: c.model, state: c.state, train: c.train });"
mv "$tmp/model"/* "$tmp"/ && rmdir "$tmp/model"
[ -f "$run/loss_curve.png" ] && cp "$run/loss_curve.png" "$tmp/"
[ -f "$run/loss_curve.svg" ] && cp "$run/loss_curve.svg" "$tmp/"
cp "$run/command.txt" "$tmp/train-commands.txt"
step=$(node -e "console.log(JSON.parse(require('fs').readFileSync('$src/state.json','utf8')).step ?? '?')")
cat > "$tmp/COMMANDS.md" <<MD
# How this model was made

Checkpoint: \`$src\` at iteration $step, copied by \`scripts/bundle-model.sh ${checkpoint:+--checkpoint $checkpoint }$run $count${full:+ $full}\`.

Training commands (from the run's command.txt; every start and resume is recorded):

\`\`\`
$(cat "$run/command.txt")
\`\`\`

Evaluation (metrics.json, per_frame.csv, per_frame.png, samples.png):

\`\`\`
npx crevnet eval --model $name --count $count --seed 0 --out DIR --json
\`\`\`

The full-size files (metrics-N.json, per_frame-N.csv), when present, come from the same command with
\`--count N\` (its JSON output → metrics-N.json, per_frame.csv → per_frame-N.csv).

GIFs: \`crevnet dataset mmnist --split test --count 1 --seed S --out seq.mp4\` then
\`crevnet predict --model $name --frames seq.mp4 --start 10 --compare --format gif\` for S = 11, 12, 13.
MD
chmod 755 "$tmp"
rm -rf "$dest.old"
[ -d "$dest" ] && mv "$dest" "$dest.old"
mv "$tmp" "$dest"
rm -rf "$dest.old"
trap - EXIT
# Results are produced from the bundled location, exactly as a user reproduces them.
work=$(mktemp -d outputs/pretrained/.eval-XXXXXX)
trap 'rm -rf "$work"' EXIT
node dist/cli.js eval --model "$name" --count "$count" --seed 0 --out "$work" --json > "$work/metrics.json"
mv "$work/metrics.json" "$work/per_frame.csv" "$work/per_frame.png" "$work/samples.png" "$dest/"
if [ -n "$full" ]; then
  mkdir "$work/full"
  node dist/cli.js eval --model "$name" --count "$full" --seed 0 --out "$work/full" --json > "$work/full/metrics.json"
  mv "$work/full/metrics.json" "$dest/metrics-$full.json"
  mv "$work/full/per_frame.csv" "$dest/per_frame-$full.csv"
fi
# README media: ground truth | prediction | |difference| for three generated test sequences.
for seed in 11 12 13; do
  node dist/cli.js dataset mmnist --split test --count 1 --seed "$seed" --out "$work/seq-$seed.mp4" > /dev/null
  node dist/cli.js predict --model "$name" --frames "$work/seq-$seed.mp4" --start 10 --compare --format gif \
    --out "$dest/example-$seed.gif" --json > /dev/null
done
echo "bundled $src (iteration $step) → $dest"
