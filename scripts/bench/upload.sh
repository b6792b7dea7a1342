#!/usr/bin/env bash
# upload.sh — the HTTP upload server vs a direct multipart PUT of the same
# file to the same S3 endpoint (same client code, same part size), and the
# server's peak RSS while it streams a 2 GiB upload.
#
# VTP_BENCH_UPLOAD_MB (default 2048) sets the upload size.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh
BENCH=${VTP_BENCH_DIR:-/tmp/vtp-bench}/upload
SIZE_MB=${VTP_BENCH_UPLOAD_MB:-2048}
UPPORT=${VTP_BENCH_UPLOAD_PORT:-18088}

PGBIN=$(pg_config --bindir)
make -s test/bench/s3put
trap env_stop EXIT
env_start "$BENCH" 54339 19334 "vtp.transcode_workers = 0
vtp.upload_listen = '127.0.0.1:$UPPORT'
vtp.upload_max_bytes = '8GB'"
for _ in $(seq 1 100); do
  [ "$(psql -Atc "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'vtp upload' AND query LIKE 'listening%'")" = 1 ] && break
  sleep 0.2
done
TOKEN=$(psql -Atc "SELECT vtp_create_token('bench')")
PID=$(psql -Atc "SELECT pid FROM pg_stat_activity WHERE backend_type = 'vtp upload'")

echo "== upload: $SIZE_MB MiB file"
FILE="$BENCH/upload.bin"
head -c "${SIZE_MB}M" /dev/urandom >"$FILE"

cpu_of() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat"; }
rss_of() { awk '/VmRSS/ {print $2 / 1024}' "/proc/$1/status"; }

# direct: vtp's S3 client, 8 MiB parts
read -r d_wall d_cpu < <(./test/bench/s3put "$VTP_ENDPOINT" temp-video-bucket bench/direct.bin "$FILE" 8)

# through the server, sampling its RSS
rss0=$(rss_of "$PID"); peak=$rss0; cpu0=$(cpu_of "$PID")
t0=$(date +%s.%N)
curl -sS -o "$BENCH/answer.json" -w '%{http_code}' -X POST -T "$FILE" -H "Authorization: Bearer $TOKEN" \
  "http://127.0.0.1:$UPPORT/videos?filename=upload.bin" >"$BENCH/code" &
cpid=$!
while kill -0 $cpid 2>/dev/null; do
  r=$(rss_of "$PID"); peak=$(awk -v a="$peak" -v b="$r" 'BEGIN {print (b > a) ? b : a}')
  sleep 0.1
done
wait $cpid
t1=$(date +%s.%N)
code=$(cat "$BENCH/code")
[ "$code" = 201 ] || { echo "upload through the server failed: HTTP $code"; cat "$BENCH/answer.json"; exit 1; }
s_wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')
s_cpu=$(awk -v a="$cpu0" -v b="$(cpu_of "$PID")" 'BEGIN {print b - a}')

awk -v mb="$SIZE_MB" -v dw="$d_wall" -v dc="$d_cpu" -v sw="$s_wall" -v sc="$s_cpu" -v r0="$rss0" -v pk="$peak" 'BEGIN {
  printf "  direct PUT (multipart):   %7.1f MiB/s  %6.2f CPU s (client)\n", mb / dw, dc
  printf "  through the upload server:%7.1f MiB/s  %6.2f CPU s (upload worker)\n", mb / sw, sc
  printf "  throughput ratio server/direct: %.2f (goal >= 0.80)\n", dw / sw
  printf "  upload worker RSS: %.1f MiB before, %.1f MiB peak (+%.1f) for %d MiB\n", r0, pk, pk - r0, mb
}'
rm -f "$FILE"
