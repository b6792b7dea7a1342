#!/usr/bin/env bash
# bench.sh — `make bench`: speed, measured side by side in one run on this
# machine. Machines are shared and noisy: read the ratios and CPU seconds,
# not a single wall time. Sections (VTP_BENCH=ladder,pipeline,upload,runners to choose):
#   ladder    a content set of five clips: vtp-transcode vs the ffmpeg CLI (same ladder) and vs the peer
#             default (3 plain ffmpeg medium crf 23 runs): CPU, VMAF per rung, bytes
#   pipeline  overhead around the transcode; pgbench -S TPS during a transcode
#   upload    the HTTP upload server vs a direct multipart PUT; its RSS on 2 GiB
#   runners   vtp-runner: 2 runners vs 1 (throughput), runner vs in-server
#             worker (CPU per video); the catalog's cost of 1,000 runners,
#             simulated with 50 slots and a stand-in helper
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
build_and_install
for s in ${VTP_BENCH:-ladder pipeline upload runners}; do
  s=${s//,/ }
  for one in $s; do
    echo "######## $one"
    "scripts/bench/$one.sh"
  done
done
