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
ROOT=$PWD
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
DEMO=${VTP_DEMO_DIR:-/tmp/vtp-demo}
PGBIN=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
PGPORT=${VTP_DEMO_PGPORT:-54329}
EMUPORT=${VTP_DEMO_S3PORT:-9324}
export AWS_ACCESS_KEY_ID=vtpdemokey AWS_SECRET_ACCESS_KEY=vtpdemosecret
unset AWS_SESSION_TOKEN

scripts/deps.sh
PGBIN=$(pg_config --bindir)
echo "== building and installing vtp"
make -s all
$SUDO make -s install

as_pg=()
if [ "$(id -u)" -eq 0 ]; then as_pg=(runuser -u postgres --); fi

# a previous demo's leftovers
if [ -f "$DEMO/data/postmaster.pid" ]; then "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$DEMO/data" -m immediate stop >/dev/null 2>&1 || true; fi
if [ -f "$DEMO/emulator.pid" ]; then kill "$(cat "$DEMO/emulator.pid")" 2>/dev/null || true; sleep 0.5; fi
rm -rf "$DEMO"
mkdir -p "$DEMO"
[ "$(id -u)" -eq 0 ] && chown postgres: "$DEMO"

cleanup() {
  if [ "${VTP_DEMO_KEEP:-0}" = 1 ]; then
    echo "left running: psql -h $DEMO -p $PGPORT -U postgres ; S3/SQS at http://127.0.0.1:$EMUPORT"
    return
  fi
  "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$DEMO/data" -m fast stop >/dev/null 2>&1 || true
  [ -f "$DEMO/emulator.pid" ] && kill "$(cat "$DEMO/emulator.pid")" 2>/dev/null || true
}
trap cleanup EXIT

echo "== starting the S3+SQS emulator on 127.0.0.1:$EMUPORT (signatures verified)"
node test/emulator/server.mjs --port "$EMUPORT" --backend-port 0 --state "$DEMO/emulator.json" \
  >"$DEMO/emulator.log" 2>&1 &
echo $! >"$DEMO/emulator.pid"
for _ in $(seq 1 100); do [ -s "$DEMO/emulator.json" ] && break; sleep 0.1; done
[ -s "$DEMO/emulator.json" ] || { cat "$DEMO/emulator.log"; exit 1; }
state() { node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1]))[process.argv[2]])' "$DEMO/emulator.json" "$1"; }
EVENTS=$(state events_queue_url)
TASKS=$(state tasks_queue_url)
export VTP_ENDPOINT="http://127.0.0.1:$EMUPORT"

echo "== starting a throwaway PostgreSQL cluster on port $PGPORT"
"${as_pg[@]}" "$PGBIN/initdb" -D "$DEMO/data" -A trust -U postgres >/dev/null
cat >>"$DEMO/data/postgresql.conf" <<CONF
port = $PGPORT
listen_addresses = ''
unix_socket_directories = '$DEMO'
shared_preload_libraries = 'vtp'
vtp.s3_endpoint = '$VTP_ENDPOINT'
vtp.sqs_endpoint = '$VTP_ENDPOINT'
vtp.events_queue_url = '$EVENTS'
vtp.tasks_queue_url = '$TASKS'
vtp.s3_part_size = '5MB'   # the emulator refuses request bodies over 11 MiB
CONF
"${as_pg[@]}" env AWS_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" \
  "$PGBIN/pg_ctl" -D "$DEMO/data" -l "$DEMO/postgres.log" -w start >/dev/null
psql() { "$PGBIN/psql" -X -h "$DEMO" -p "$PGPORT" -U postgres -d postgres "$@"; }
psql -qc 'CREATE EXTENSION vtp'
for _ in $(seq 1 100); do
  idle=$(psql -Atc "SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'vtp %' AND query LIKE 'waiting for %'")
  [ "$idle" -ge 2 ] && break
  sleep 0.2
done
echo "== vtp workers, as PostgreSQL shows them"
psql -c "SELECT pid, backend_type, query AS activity FROM pg_stat_activity WHERE backend_type LIKE 'vtp %'"

echo "== generating a 10 s 1080p30 sample with motion, noise and audio"
SAMPLE="$DEMO/sample-1080p.mp4"
ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30,noise=alls=6:allf=t" \
  -f lavfi -i "sine=frequency=440:sample_rate=44100" -t 10 -c:v libx264 -preset ultrafast \
  -b:v 6M -maxrate 6M -bufsize 12M -pix_fmt yuv420p -c:a aac -b:a 128k -shortest "$SAMPLE"
[ "$(id -u)" -eq 0 ] && chmod 644 "$SAMPLE"

KEY="uploads/demo/sample 1080p.mp4"
echo "== PUT s3://temp-video-bucket/$KEY, then the S3 notification (emulated) to the events queue"
node test/emulator/awscli.mjs put temp-video-bucket "$KEY" "$SAMPLE"
T0=$(date +%s.%N)
node test/emulator/awscli.mjs notify "$EVENTS" temp-video-bucket "$KEY"

last=""
for _ in $(seq 1 600); do
  line=$(psql -Atc "SELECT status || ' ' || coalesce(round(progress)::text || '%', '') FROM vtp_videos WHERE key = '$KEY'")
  if [ -n "$line" ] && [ "$line" != "$last" ]; then echo "   $(date +%T) $line"; last=$line; fi
  case "$line" in Published*|Failed*) break ;; esac
  sleep 0.5
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
echo "== the temp bucket now holds: $(node test/emulator/awscli.mjs list temp-video-bucket | wc -l) object(s)"
status=$(psql -Atc "SELECT status FROM vtp_videos WHERE key = '$KEY'")
[ "$status" = Published ]
