# lib.sh — shared by demo.sh and bench.sh: start and stop the local S3/SQS
# emulator and a throwaway PostgreSQL cluster with vtp preloaded.
# Source it, then: env_start DIR PGPORT S3PORT [extra postgresql.conf lines]; ...; env_stop
# Sets: PGBIN, VTP_ENDPOINT, EVENTS, TASKS; defines psql().

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
as_pg=()
[ "$(id -u)" -eq 0 ] && as_pg=(runuser -u postgres --)
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-vtplocalkey} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-vtplocalsecret}
unset AWS_SESSION_TOKEN

build_and_install() {
  scripts/deps.sh
  echo "== building and installing vtp"
  make -s all
  $SUDO make -s install
  PGBIN=$(pg_config --bindir)
}

env_stop() {
  [ -n "${ENV_DIR:-}" ] || return 0
  "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$ENV_DIR/data" -m fast stop >/dev/null 2>&1 || true
  [ -f "$ENV_DIR/emulator.pid" ] && kill "$(cat "$ENV_DIR/emulator.pid")" 2>/dev/null || true
}

psql() { "$PGBIN/psql" -X -h "$ENV_DIR" -p "$ENV_PGPORT" -U postgres -d postgres "$@"; }

env_start() {
  ENV_DIR=$1 ENV_PGPORT=$2
  local s3port=$3 extra=${4:-}
  # a previous run's leftovers
  if [ -f "$ENV_DIR/data/postmaster.pid" ]; then "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$ENV_DIR/data" -m immediate stop >/dev/null 2>&1 || true; fi
  if [ -f "$ENV_DIR/emulator.pid" ]; then kill "$(cat "$ENV_DIR/emulator.pid")" 2>/dev/null || true; sleep 0.5; fi
  rm -rf "$ENV_DIR"
  mkdir -p "$ENV_DIR"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$ENV_DIR"

  echo "== starting the S3+SQS emulator on 127.0.0.1:$s3port (signatures verified)"
  node test/emulator/server.mjs --port "$s3port" --backend-port 0 --state "$ENV_DIR/emulator.json" \
    >"$ENV_DIR/emulator.log" 2>&1 &
  echo $! >"$ENV_DIR/emulator.pid"
  for _ in $(seq 1 100); do [ -s "$ENV_DIR/emulator.json" ] && break; sleep 0.1; done
  [ -s "$ENV_DIR/emulator.json" ] || { cat "$ENV_DIR/emulator.log"; return 1; }
  EVENTS=$(env_state events_queue_url)
  TASKS=$(env_state tasks_queue_url)
  export VTP_ENDPOINT="http://127.0.0.1:$s3port"

  echo "== starting a throwaway PostgreSQL cluster on port $ENV_PGPORT"
  "${as_pg[@]}" "$PGBIN/initdb" -D "$ENV_DIR/data" -A trust -U postgres >/dev/null
  cat >>"$ENV_DIR/data/postgresql.conf" <<CONF
port = $ENV_PGPORT
listen_addresses = ''
unix_socket_directories = '$ENV_DIR'
shared_preload_libraries = 'vtp'
vtp.s3_endpoint = '$VTP_ENDPOINT'
vtp.sqs_endpoint = '$VTP_ENDPOINT'
vtp.events_queue_url = '$EVENTS'
vtp.tasks_queue_url = '$TASKS'
vtp.s3_part_size = '8MB'   # the emulator refuses request bodies over 11 MiB
$extra
CONF
  "${as_pg[@]}" env AWS_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" \
    "$PGBIN/pg_ctl" -D "$ENV_DIR/data" -l "$ENV_DIR/postgres.log" -w start >/dev/null
  psql -qc 'CREATE EXTENSION vtp'
  # wait until every vtp worker is idle and ready
  for _ in $(seq 1 100); do
    local busy
    busy=$(psql -Atc "SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'vtp %' AND query NOT LIKE 'waiting for %' AND query NOT LIKE 'listening%'")
    [ "$busy" = 0 ] && break
    sleep 0.2
  done
}

env_state() { node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1]))[process.argv[2]])' "$ENV_DIR/emulator.json" "$1"; }
