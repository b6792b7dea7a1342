#!/usr/bin/env bash
# demo.sh — `make demo`: install what is missing, build and install vtp, start
# a throwaway PostgreSQL cluster and the local S3/SQS emulator, put a
# generated 1080p sample in the temp bucket, and watch it become Published.
#
# The emulator delivers no S3 bucket notifications, so this script sends the
# exact notification JSON S3 would send after the upload (the one emulated
# step). Set VTP_DEMO_KEEP=1 to leave the cluster and emulator running.
#
# VTP_DEMO_RUNNERS=N (N >= 1) runs vtp the third way (docs/runner.md): the
# cluster with vtp.transcode_workers = 0, a login role granted the runner
# protocol (vtp_grant_runner), and N vtp-runner processes (demo-1 .. demo-N,
# logs in the demo directory) that do the transcode; they are stopped with
# SIGTERM at the end, as the cluster and the emulator are.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
DEMO=${VTP_DEMO_DIR:-/tmp/vtp-demo}
PORT=${VTP_DEMO_PGPORT:-54329}
RUNNERS=${VTP_DEMO_RUNNERS:-0}
case "$RUNNERS" in ''|*[!0-9]*) echo "VTP_DEMO_RUNNERS must be a number (0: no runners)" >&2; exit 2 ;; esac
RUNNERS=$((10#$RUNNERS))
# runners run as the cluster's owner (postgres when this runs as root), exec'd
# in place so that $! is the runner itself and SIGTERM reaches it
as_runner=()
[ "$(id -u)" -eq 0 ] && as_runner=(setpriv --reuid=postgres --regid=postgres --init-groups --)

stop_runners() {
  local f pid left
  for f in "$DEMO"/runner-*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f"); rm -f "$f"
    kill -TERM "$pid" 2>/dev/null || continue
    # SIGTERM hands a running task back at once: a runner is gone in a second or two
    for left in $(seq 100 -1 1); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    [ "$left" -gt 1 ] || { echo "   runner $pid did not stop within 10 s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; }
  done
}

start_runners() {
  local k db="host=$DEMO port=$PORT dbname=postgres user=vtp_runner"
  echo "== vtp.transcode_workers = 0: $RUNNERS vtp-runner process(es) do the transcodes, as role vtp_runner"
  psql -qAt -c "CREATE ROLE vtp_runner LOGIN" -c "SELECT vtp_grant_runner('vtp_runner')" >/dev/null
  psql -Atc "SELECT '   vtp_runner may call ' || count(*) || ' functions, and nothing else' FROM vtp_runner_functions()"
  for k in $(seq 1 "$RUNNERS"); do
    echo "   $PGBIN/vtp-runner --db '$db' --name demo-$k --scratch $DEMO/runner-$k.scratch  (log: $DEMO/runner-$k.log)"
    "${as_runner[@]}" "$PGBIN/vtp-runner" --db "$db" --name "demo-$k" --scratch "$DEMO/runner-$k.scratch" \
      >"$DEMO/runner-$k.log" 2>&1 </dev/null &
    echo $! >"$DEMO/runner-$k.pid"
  done
  for _ in $(seq 1 150); do
    [ "$(psql -Atc "SELECT count(*) FROM vtp_workers WHERE role = 'runner' AND state = 'idle'")" -ge "$RUNNERS" ] && break
    sleep 0.2
  done
  psql -c "SELECT name, host, pid, state, sandbox FROM vtp_workers WHERE role = 'runner' ORDER BY name"
}

build_and_install
cleanup() {
  if [ "${VTP_DEMO_KEEP:-0}" = 1 ]; then
    echo "left running: psql -h $DEMO -p $PORT -U postgres ; S3/SQS at $VTP_ENDPOINT"
    [ "$RUNNERS" -gt 0 ] && echo "  and $RUNNERS runner(s): kill -TERM \$(cat $DEMO/runner-*.pid)"
    return 0
  fi
  stop_runners
  env_stop
}
trap cleanup EXIT
stop_runners    # a previous VTP_DEMO_KEEP=1 run's
if [ "$RUNNERS" -gt 0 ]; then
  env_start "$DEMO" "$PORT" "${VTP_DEMO_S3PORT:-9324}" "vtp.transcode_workers = 0"
else
  env_start "$DEMO" "$PORT" "${VTP_DEMO_S3PORT:-9324}"
fi
echo "== vtp workers, as PostgreSQL shows them"
psql -c "SELECT pid, backend_type, query AS activity FROM pg_stat_activity WHERE backend_type LIKE 'vtp %'"
[ "$RUNNERS" -gt 0 ] && start_runners

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
psql -c "SELECT id, status, bucket, key, output_bucket, output_key, attempts, $([ "$RUNNERS" -gt 0 ] && echo 'claimed_by,') error_code, error
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
if [ "$RUNNERS" -gt 0 ]; then
  echo "== the workers: the server's own (host NULL: no transcode worker) and the runners"
  psql -c "SELECT name, host, state FROM vtp_workers ORDER BY host NULLS FIRST, name"
  for k in $(seq 1 "$RUNNERS"); do
    echo "   $DEMO/runner-$k.log:"
    sed 's/^/     /' "$DEMO/runner-$k.log"
  done
fi
echo "== the pipeline (vtp_queue)"
psql -c "SELECT status, videos, last_hour, median_latency_last_hour FROM vtp_queue"
echo "== the temp bucket now holds: $(node test/emulator/awscli.mjs list temp-video-bucket | wc -l) object(s) (the original is deleted once Published)"
status=$(psql -Atc "SELECT status FROM vtp_videos WHERE key = '$KEY'")
[ "$status" = Published ]
