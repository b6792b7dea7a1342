#!/usr/bin/env bash
# demo.sh — `make demo`: install what is missing, build and install vtp, start
# a throwaway PostgreSQL cluster and the local S3/SQS emulator, put a
# generated 1080p sample in the temp bucket, and watch it become Published.
#
# The emulator delivers no S3 bucket notifications, so this script sends the
# exact notification JSON S3 would send after the upload (the one emulated
# step). Set VTP_DEMO_KEEP=1 to leave the cluster and emulator running.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
DEMO=${VTP_DEMO_DIR:-/tmp/vtp-demo}

build_and_install
cleanup() {
  if [ "${VTP_DEMO_KEEP:-0}" = 1 ]; then
    echo "left running: psql -h $DEMO -p ${VTP_DEMO_PGPORT:-54329} -U postgres ; S3/SQS at $VTP_ENDPOINT"
    return
  fi
  env_stop
}
trap cleanup EXIT
env_start "$DEMO" "${VTP_DEMO_PGPORT:-54329}" "${VTP_DEMO_S3PORT:-9324}"
echo "== vtp workers, as PostgreSQL shows them"
psql -c "SELECT pid, backend_type, query AS activity FROM pg_stat_activity WHERE backend_type LIKE 'vtp %'"

echo "== generating a 10 s 1080p30 sample with motion, noise and audio"
SAMPLE="$DEMO/sample-1080p.mp4"
ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30,noise=alls=6:allf=t" \
  -f lavfi -i "sine=frequency=440:sample_rate=44100" -t 10 -c:v libx264 -preset ultrafast \
  -b:v 6M -maxrate 6M -bufsize 12M -pix_fmt yuv420p -c:a aac -b:a 128k -shortest "$SAMPLE"

KEY="uploads/demo/sample 1080p.mp4"
echo "== PUT s3://temp-video-bucket/$KEY, then the S3 notification (emulated) to the events queue"
node test/emulator/awscli.mjs put temp-video-bucket "$KEY" "$SAMPLE"
T0=$(node test/emulator/awscli.mjs notify "$EVENTS" temp-video-bucket "$KEY")

echo "== waiting for it (status and ETA from vtp_videos; the worker and its live progress from vtp_workers)"
last=""
for _ in $(seq 1 1200); do
  line=$(psql -Atc "SELECT v.status || coalesce(' ' || round(coalesce(w.progress, v.progress)) || '%', '')
                           || coalesce(', ETA ' || greatest(0, round(extract(epoch FROM v.progress_eta - now())))::text || ' s', '')
                           || coalesce(' — ' || w.name || ': ' || w.state, '')
                      FROM vtp_videos v LEFT JOIN vtp_workers w ON w.video_id = v.id WHERE v.key = '$KEY'")
  if [ -n "$line" ] && [ "$line" != "$last" ]; then echo "   $(date +%T) $line"; last=$line; fi
  case "$line" in Published*|Failed*) break ;; esac
  sleep 0.25
done

echo "== the video"
psql -c "SELECT id, status, bucket, key, output_bucket, output_key, attempts, error_code, error
         FROM vtp_videos WHERE key = '$KEY'" -x
echo "== its renditions"
psql -c "SELECT r.name, r.width || 'x' || r.height AS size, r.bytes, r.bitrate, r.key
         FROM vtp_renditions r JOIN vtp_videos v ON v.id = r.video_id WHERE v.key = '$KEY' ORDER BY r.height"
psql -Atc "SELECT format('notification to Published: %s s; transcode CPU: %s s',
                         round((extract(epoch FROM published_at) - $T0)::numeric, 1), transcode_cpu_seconds)
           FROM vtp_videos WHERE key = '$KEY' AND status = 'Published'"
echo "== presigned download URLs (vtp_output_urls, valid 1 hour), each fetched once to show it works"
ID=$(psql -Atc "SELECT id FROM vtp_videos WHERE key = '$KEY'")
psql -Atc "SELECT rendition || ' ' || url FROM vtp_output_urls('$ID')" | while read -r name url; do
  got=$(curl -s -o /dev/null -w '%{http_code}, %{size_download} bytes' "$url")
  echo "   $name ($got)"
  echo "     $url"
done
echo "== the pipeline (vtp_queue)"
psql -c "SELECT status, videos, last_hour, median_latency_last_hour FROM vtp_queue"
echo "== the temp bucket now holds: $(node test/emulator/awscli.mjs list temp-video-bucket | wc -l) object(s) (the original is deleted once Published)"
status=$(psql -Atc "SELECT status FROM vtp_videos WHERE key = '$KEY'")
[ "$status" = Published ]
