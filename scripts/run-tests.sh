#!/usr/bin/env bash
# Run every test/*.test.ts with node:test through tsx. Guards against a run that finds no tests:
# node's runner exits 0 when it is given no files or the files hold no tests.
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/.."
files=(test/*.test.ts)
if [ $# -gt 0 ]; then files=("$@"); fi
if [ ${#files[@]} -eq 0 ]; then echo "run-tests: no test files found under test/" >&2; exit 1; fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
node --import tsx --test --test-concurrency=2 "${files[@]}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
tests=$(grep -E '^# tests [0-9]+' "$log" | tail -1 | awk '{print $3}')
if [ "$rc" -eq 0 ] && [ "${tests:-0}" -eq 0 ]; then echo "run-tests: the runner found 0 tests" >&2; exit 1; fi
exit "$rc"
