#!/usr/bin/env bash
# Folders of short synthetic colour clips made by ffmpeg's own sources (crevnet dataset samples), to try
# training, evaluation and prediction on "your own videos" without any download (docs/own-videos.md):
#   datasets/pans   48 clips, 160×120, 24 frames: a crop panning at constant speed across a colour Mandelbrot
#                   still (the learning check of docs/results.md)
#   datasets/mixed  12 clips, 320×240, 40 frames: pans, ffmpeg's testsrc2 pattern, Mandelbrot zooms, colour Life
# The same seed makes the same clips. Runs the built CLI (npm install builds it).
set -euo pipefail
cd "$(dirname "$0")/.."
node dist/cli.js dataset samples --kind pan --count 48 --clip-size 160x120 --clip-frames 24 --pan-speed 8,16 --seed 2 --out datasets/pans
node dist/cli.js dataset samples --count 12 --seed 0 --out datasets/mixed
