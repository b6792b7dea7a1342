#!/usr/bin/env bash
# pipeline.sh — the pipeline around the transcode, on a throwaway cluster
# with the emulator (scripts/lib.sh):
#  (c) overhead = Published time - notification time - transcode time, for a
#      20 s 1080p clip (median of 3);                          goal <= 1 s
#  (d) `pgbench -S` TPS against the same server while a transcode runs, as a
#      share of its idle TPS;                                   goal >= 70 %
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh
DIR=${VTP_BENCH_DIR:-/tmp/vtp-bench}/pipeline
PGBIN=$(pg_config --bindir)
trap env_stop EXIT
env_start "$DIR" 54349 19344 "${VTP_BENCH_CONF:-}"

# fauxqs takes single PUTs up to 11 MiB: the clips are sized to fit
clip() { # name seconds bitrate
  [ -s "$DIR/$1" ] || ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30,noise=alls=6:allf=t" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000" -t "$2" -c:v libx264 -preset veryfast -b:v "$3" \
    -maxrate "$3" -bufsize "$3" -pix_fmt yuv420p -c:a aac -shortest "$DIR/$1"
}
clip c20.mp4 20 4M
clip d30.mp4 30 2500k

publish() { # file key -> prints "overhead transcode_seconds total"
  node test/emulator/awscli.mjs put temp-video-bucket "$2" "$1"
  local t0; t0=$(node test/emulator/awscli.mjs notify "$EVENTS" temp-video-bucket "$2")
  for _ in $(seq 1 600); do
    s=$(psql -Atc "SELECT status FROM vtp_videos WHERE key = '$2'")
    case "$s" in Published|Failed) break ;; esac
    sleep 0.1
  done
  psql -Atc "SELECT round((extract(epoch FROM published_at) - $t0 - transcode_seconds)::numeric, 2) || ' ' ||
                    round(transcode_seconds::numeric, 1) || ' ' ||
                    round((extract(epoch FROM published_at) - $t0)::numeric, 1)
             FROM vtp_videos WHERE key = '$2' AND status = 'Published'"
}

echo "== (c) pipeline overhead, 20 s 1080p clip"
over=()
for i in 1 2 3; do
  read -r o t total < <(publish "$DIR/c20.mp4" "uploads/bench/c$i.mp4")
  echo "   run $i: notification to Published ${total} s, transcode ${t} s, overhead ${o} s"
  over+=("$o")
done
printf '%s\n' "${over[@]}" | sort -n | awk '{a[NR]=$1} END {printf "  (c) pipeline overhead (median): %.2f s (goal <= 1 s)\n", a[2]}'

echo "== (d) pgbench -S while a transcode runs (transcoder at nice $(psql -Atc 'SHOW vtp.transcode_nice'))"
"$PGBIN/pgbench" -h "$DIR" -p 54349 -U postgres -i -s 10 -q postgres >/dev/null 2>&1
tps() { "$PGBIN/pgbench" -h "$DIR" -p 54349 -U postgres -S -n -c 2 -j 2 -T 10 postgres 2>/dev/null |
  sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p'; }
idle=$(tps)
node test/emulator/awscli.mjs put temp-video-bucket uploads/bench/d.mp4 "$DIR/d30.mp4"
node test/emulator/awscli.mjs notify "$EVENTS" temp-video-bucket uploads/bench/d.mp4 >/dev/null
for _ in $(seq 1 300); do
  [ "$(psql -Atc "SELECT status = 'Processing' AND progress > 0 FROM vtp_videos WHERE key = 'uploads/bench/d.mp4'")" = t ] && break
  sleep 0.1
done
busy=$(tps)
still=$(psql -Atc "SELECT status FROM vtp_videos WHERE key = 'uploads/bench/d.mp4'")
awk -v i="$idle" -v b="$busy" -v s="$still" 'BEGIN {
  printf "  idle: %.0f TPS; during the transcode: %.0f TPS (video still %s at the end)\n", i, b, s
  printf "  (d) TPS share during a transcode: %.0f %% (goal >= 70 %%)\n", 100 * b / i }'
