#!/usr/bin/env bash
# runners.sh — vtp-runner (issue 13), on throwaway clusters with the emulator
# (scripts/lib.sh), figures side by side in one run:
#  (e) scaling on this machine: one runner vs two, each at one encoder thread
#      (vtp.transcode_threads = 1 in the catalog, vtp.transcode_workers = 0),
#      on the same batch of generated clips: videos per wall second, two
#      runners / one;                                           goal >= 1.8
#  (f) CPU per video of a runner (its process and the helpers it waited for,
#      from /proc) vs an in-server transcode worker's (vtp.transcode_workers
#      = 1, no runner) on the same batch;                       goal <= 1.02
#  (g) catalog cost at scale, by simulation: one vtp-runner with
#      VTP_BENCH_SIM_SLOTS job slots (default 50) and a stand-in helper
#      (test/bench/vtp-standin: the real helper protocol, a sleep, a 2 KiB
#      rendition) through the real claim/heartbeat/publish path; database
#      CPU seconds and statements per video and per heartbeat, extrapolated
#      to 1,000 runners;                                    goal < 1 core
# VTP_BENCH_RUNS (default 3) repetitions of (e) and (f), interleaved;
# VTP_BENCH_SIM_VIDEOS (default 200) videos per phase of (g);
# VTP_BENCH_SIM_CONF: postgresql.conf lines for (g)'s cluster (to try one).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh
BASE=${VTP_BENCH_DIR:-/tmp/vtp-bench}/runners
RUNS=${VTP_BENCH_RUNS:-3}
SLOTS=${VTP_BENCH_SIM_SLOTS:-50}
SIMN=${VTP_BENCH_SIM_VIDEOS:-200}
PGBIN=$(pg_config --bindir)
RUNNER=$PGBIN/vtp-runner
HZ=$(getconf CLK_TCK)
CLIPS=$BASE/clips
[ -x "$RUNNER" ] || { echo "no $RUNNER: build and install vtp first"; exit 1; }
mkdir -p "$CLIPS"

# --- the processes this script starts, stopped whatever happens ---
declare -A RPID=()
as_user=()
[ "$(id -u)" -eq 0 ] && as_user=(setpriv --reuid=postgres --regid=postgres --init-groups --)
cleanup() {
  local n
  for n in "${!RPID[@]}"; do kill -TERM "${RPID[$n]}" 2>/dev/null || true; done
  for n in "${!RPID[@]}"; do
    for _ in $(seq 1 100); do kill -0 "${RPID[$n]}" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "${RPID[$n]}" 2>/dev/null || true
  done
  env_stop
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_runner NAME ARGS...: one vtp-runner as the server's user, its log in the env's directory
start_runner() {
  local name=$1; shift
  mkdir -p "$ENV_DIR/scratch-$name"; chmod 700 "$ENV_DIR/scratch-$name"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$ENV_DIR/scratch-$name"
  "${as_user[@]}" "$RUNNER" --db "host=$ENV_DIR port=$ENV_PGPORT dbname=postgres user=bench_runner" \
    --name "$name" --scratch "$ENV_DIR/scratch-$name" "$@" 2>>"$ENV_DIR/runner-$name.log" &
  RPID[$name]=$!
}
# stop_runner NAME: SIGTERM, wait for its exit; STMTS: the statements its exit lines count
stop_runner() {
  local pid=${RPID[$1]}
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "RPID[$1]"
  LAST_STOP=$(date +%s)
  STMTS=$(grep -o '[0-9][0-9]* statements' "$ENV_DIR/runner-$1.log" | awk '{s += $1} END {print s + 0}')
}
# wait_runners N: until N runner slots report themselves waiting for tasks
wait_runners() {
  for _ in $(seq 1 600); do
    [ "$(psql -Atc "SELECT count(*) FROM vtp_runners WHERE role = 'bench_runner' AND state = 'idle'")" -ge "$1" ] && return 0
    sleep 0.2
  done
  echo "runners not ready:"; psql -c 'TABLE vtp_runners'; tail -20 "$ENV_DIR"/runner-*.log; return 1
}
grant_runner() {
  psql -qc "CREATE ROLE bench_runner LOGIN" -c "SELECT vtp_grant_runner('bench_runner')" >/dev/null
}
# CPU seconds of a process and of the children it waited for (/proc/PID/stat)
pcpu() { sed 's/^.*) //' "/proc/$1/stat" | awk -v hz="$HZ" '{printf "%.2f\n", ($12 + $13 + $14 + $15) / hz}'; }
pg_restart() {
  "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$ENV_DIR/data" -m fast -w stop >/dev/null
  "${as_pg[@]}" env AWS_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" \
    "$PGBIN/pg_ctl" -D "$ENV_DIR/data" -l "$ENV_DIR/postgres.log" -w start >/dev/null
  LAST_STOP=$(date +%s)
}
# A consumer stopped in a long poll (20 s) leaves it open in the emulator
# (fauxqs does not see the client go): it would take the next task and hide
# it for the visibility timeout. Enqueue only once such polls have ended.
LAST_STOP=0
polls_over() { local w=$((LAST_STOP + 21 - $(date +%s))); [ "$w" -le 0 ] || sleep "$w"; }
# busy CPU seconds of the whole machine (/proc/stat: all but idle and iowait)
busy() { awk -v hz="$HZ" '/^cpu / {printf "%.2f\n", ($2 + $3 + $4 + $7 + $8 + $9) / hz}' /proc/stat; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
spread() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {printf "min %.3f, median %.3f, max %.3f", a[1], (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2, a[NR]}'; }
range() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {printf "%.3f-%.3f", a[1], a[NR]}'; }

# ---------------------------------------------------------------- (e), (f)
# The batch: different content and sizes, biggest first (the queue hands
# them out in order, so two runners end close together). name lavfi seconds bitrate
BATCH=(
  "m1080 mandelbrot=size=1920x1080:rate=30 4 6M"
  "g1080 gradients=size=1920x1080:rate=30:speed=0.05 4 6M"
  "l1080 life=size=1920x1080:rate=30:mold=10:ratio=0.2:death_color=#602020:life_color=#20ff60 4 6M"
  "n1080 testsrc2=size=1920x1080:rate=30,noise=alls=20:allf=t+u 3 8M"
  "t1080 testsrc2=size=1920x1080:rate=30 4 6M"
  "n720 testsrc2=size=1280x720:rate=30,noise=alls=20:allf=t+u 6 5M"
  "m720 mandelbrot=size=1280x720:rate=30 6 4M"
  "l720 life=size=1280x720:rate=30:mold=10:ratio=0.2:death_color=#602020:life_color=#20ff60 5 4M"
  "t720 testsrc2=size=1280x720:rate=30 6 3M"
)
NB=${#BATCH[@]}
# VTP_BENCH_RUNS=0: (g) alone
E_MED=- E_SPREAD="not run" F_MED=- F_SPREAD="not run" F_CPUS=-
if [ "$RUNS" -gt 0 ]; then
  for c in "${BATCH[@]}"; do
    read -r name src secs rate <<<"$c"
    [ -s "$CLIPS/$name.mp4" ] || ffmpeg -nostdin -v error -y -f lavfi -i "$src" -f lavfi -i "sine=frequency=440:sample_rate=48000" \
      -t "$secs" -c:v libx264 -preset veryfast -b:v "$rate" -maxrate "$rate" -bufsize "$rate" -pix_fmt yuv420p \
      -c:a aac -shortest "$CLIPS/$name.mp4"
  done

  env_start "$BASE/scale" 54359 19354 "vtp.transcode_workers = 0
  vtp.transcode_threads = 1"
  grant_runner
  WORKERS=0
  want_workers() {
    [ "$WORKERS" = "$1" ] && return 0
    psql -qc "ALTER SYSTEM SET vtp.transcode_workers = $1"
    pg_restart
    WORKERS=$1
    [ "$1" = 0 ] && return 0
    for _ in $(seq 1 300); do
      [ "$(psql -Atc "SELECT count(*) FROM vtp_workers WHERE role = 'transcode' AND state = 'idle'")" = "$1" ] && return 0
      sleep 0.2
    done
    echo "the transcode worker is not ready"; tail -20 "$ENV_DIR/postgres.log"; return 1
  }

  # batch TAG: the clips uploaded under bench/TAG/, then enqueued in one
  # statement (tasks sent at its commit); waits until all are Published. Sets
  # B_WALL (the enqueue to the last publish), B_HCPU (the helpers' own CPU) and
  # B_BUSY (the machine's busy cores meanwhile, of 2: other work shows there).
  # Everything here runs in the script's own shell (no $(...) around it): the
  # runners it waits for are that shell's children.
  batch() {
    local tag=$1 i=0 c name keys="" t0 done puts=()
    for c in "${BATCH[@]}"; do
      read -r name _ <<<"$c"; i=$((i + 1))
      node test/emulator/awscli.mjs put temp-video-bucket "bench/$tag/$i-$name.mp4" "$CLIPS/$name.mp4" &
      puts+=($!)
      keys+="${keys:+,}'bench/$tag/$i-$name.mp4'"
    done
    for c in "${puts[@]}"; do wait "$c"; done
    polls_over
    B_BUSY=$(busy)
    t0=$(date +%s.%N)
    psql -qAtc "SELECT vtp_enqueue('temp-video-bucket', k) FROM unnest(ARRAY[$keys]) WITH ORDINALITY AS u(k, o) ORDER BY o" >/dev/null
    for _ in $(seq 1 1800); do
      done=$(psql -Atc "SELECT count(*) FILTER (WHERE status = 'Published') || ' ' || count(*) FILTER (WHERE status = 'Failed')
                        FROM vtp_videos WHERE key LIKE 'bench/$tag/%'")
      [ "${done% *}" -ge "$NB" ] && break
      [ "${done#* }" = 0 ] || { psql -c "SELECT key, error_code, error FROM vtp_videos WHERE key LIKE 'bench/$tag/%' AND status = 'Failed'"; return 1; }
      sleep 0.5
    done
    [ "${done% *}" -ge "$NB" ] || { echo "batch $tag did not finish"; return 1; }
    B_BUSY=$(awk -v a="$B_BUSY" -v b="$(busy)" -v t0="$t0" -v t1="$(date +%s.%N)" 'BEGIN {print (b - a) / (t1 - t0)}')
    read -r B_WALL B_HCPU < <(psql -Atc "SELECT round((extract(epoch FROM max(published_at)) - $t0)::numeric, 2) || ' ' ||
                                                round(sum(transcode_cpu_seconds)::numeric, 2)
                                         FROM vtp_videos WHERE key LIKE 'bench/$tag/%'")
  }

  # run_runners REP N: N runners of one slot each on the batch; sets W C H
  # (wall, the runners' CPU from /proc, the helpers' own CPU)
  run_runners() {
    local rep=$1 n=$2 k c0=0 c1=0 names=()
    want_workers 0
    for k in $(seq 1 "$n"); do names+=("r$rep-$n-$k"); start_runner "r$rep-$n-$k"; done
    wait_runners "$n"
    for k in "${names[@]}"; do c0=$(awk -v a="$c0" -v b="$(pcpu "${RPID[$k]}")" 'BEGIN {print a + b}'); done
    batch "r$rep-$n"
    for k in "${names[@]}"; do c1=$(awk -v a="$c1" -v b="$(pcpu "${RPID[$k]}")" 'BEGIN {print a + b}'); done
    for k in "${names[@]}"; do stop_runner "$k"; done
    W=$B_WALL H=$B_HCPU M=$B_BUSY C=$(awk -v a="$c0" -v b="$c1" 'BEGIN {print b - a}')
  }
  # run_server REP: the in-server transcode worker on the batch; sets W C H
  run_server() {
    local rep=$1 pid c0 c1
    want_workers 1
    pid=$(psql -Atc "SELECT pid FROM vtp_workers WHERE role = 'transcode'")
    c0=$(pcpu "$pid")
    batch "r$rep-srv"
    c1=$(pcpu "$pid")
    [ "$(psql -Atc "SELECT pid FROM vtp_workers WHERE role = 'transcode'")" = "$pid" ] || { echo "the transcode worker restarted"; return 1; }
    W=$B_WALL H=$B_HCPU M=$B_BUSY C=$(awk -v a="$c0" -v b="$c1" 'BEGIN {print b - a}')
  }

  echo "== (e)+(f) $NB clips (720p and 1080p: mandelbrot, gradients, life, testsrc2, noise), one encoder thread each, $RUNS runs interleaved"
  ratio=(); cratio=(); w1s=(); w2s=(); c1s=(); c2s=(); css=()
  for rep in $(seq 1 "$RUNS"); do
    # alternate the order so that a restart of the cluster is needed once per run
    one() { run_runners "$rep" 1; w1=$W c1=$C h1=$H m1=$M; run_runners "$rep" 2; w2=$W c2=$C h2=$H m2=$M; }
    srv() { run_server "$rep"; ws=$W cs=$C hs=$H ms=$M; }
    if [ $((rep % 2)) = 1 ]; then one; srv; else srv; one; fi
    awk -v n="$NB" -v r="$rep" -v w1="$w1" -v c1="$c1" -v h1="$h1" -v w2="$w2" -v c2="$c2" -v h2="$h2" \
        -v ws="$ws" -v cs="$cs" -v hs="$hs" -v m1="$m1" -v m2="$m2" -v ms="$ms" 'BEGIN {
      f = "%6.1f s wall, %.3f videos/s, %5.2f CPU s/video (helper %.2f, host %.3f); machine busy %.2f cores\n"
      printf "   run %d: 1 runner  " f, r, w1, n / w1, c1 / n, h1 / n, (c1 - h1) / n, m1
      printf "          2 runners " f, w2, n / w2, c2 / n, h2 / n, (c2 - h2) / n, m2
      printf "          in-server " f, ws, n / ws, cs / n, hs / n, (cs - hs) / n, ms
      printf "          throughput 2/1 runners %.3f; CPU per video runner/in-server %.3f\n", w1 / w2, c1 / cs }'
    ratio+=("$(awk -v a="$w1" -v b="$w2" 'BEGIN {print a / b}')")
    cratio+=("$(awk -v a="$c1" -v b="$cs" 'BEGIN {print a / b}')")
    w1s+=("$w1"); w2s+=("$w2"); c1s+=("$(awk -v c="$c1" -v n="$NB" 'BEGIN {print c / n}')")
    c2s+=("$(awk -v c="$c2" -v n="$NB" 'BEGIN {print c / n}')"); css+=("$(awk -v c="$cs" -v n="$NB" 'BEGIN {print c / n}')")
  done
  echo "  (e) throughput 2 runners / 1 runner: $(spread "${ratio[@]}") (goal >= 1.8)"
  echo "  (f) CPU per video, runner / in-server worker: $(spread "${cratio[@]}") (goal <= 1.02)"
  echo "      runner CPU s/video: $(spread "${c1s[@]}"); 2 runners: $(spread "${c2s[@]}"); in-server: $(spread "${css[@]}")"
  E_MED=$(printf '%.3f' "$(median "${ratio[@]}")"); E_SPREAD="$RUNS runs: $(range "${ratio[@]}")"
  F_MED=$(printf '%.3f' "$(median "${cratio[@]}")"); F_SPREAD="$RUNS runs: $(range "${cratio[@]}")"
  F_CPUS=$(printf '%.2f, %.2f, %.2f (medians)' "$(median "${c1s[@]}")" "$(median "${c2s[@]}")" "$(median "${css[@]}")")
  env_stop
fi

# ---------------------------------------------------------------- (g)
# One cluster, no in-server transcode worker, one vtp-runner with $SLOTS
# slots and the stand-in helper. vtp_runners is padded to 1,000 rows (the
# other runners of the extrapolation: each report updates its row among
# them). Windows, each between two snapshots of
# the cluster's CPU (every process of the postmaster's tree, from /proc, the
# exited ones in its cutime) and of pg_stat_statements (the runner role's
# statements by kind) and pg_stat_database:
#   base    no runner: the background workers alone (ingest polls its queue)
#   idle    the slots connected, no task
#   A       $SIMN videos, the stand-in "transcoding" 1 s each (no heartbeat)
#   B       $SIMN videos, 16 s each (a heartbeat every 5 s: three each)
# B - A is the cost of the heartbeats (and of whatever else a busy slot
# sends per second of transcode); A less those is the cost per video.
PAD=${VTP_BENCH_SIM_PAD:-$((1000 - SLOTS))}
LONG=16
REPORT=$BASE/report
mkdir -p "$REPORT"
echo "== (g) catalog cost at scale: one vtp-runner --jobs $SLOTS with test/bench/vtp-standin, $SIMN videos per phase"
env_start "$BASE/sim" 54369 19364 "vtp.transcode_workers = 0
shared_preload_libraries = 'vtp,pg_stat_statements'
max_connections = $((SLOTS + 40))
${VTP_BENCH_SIM_CONF:-}"
psql -qc 'CREATE EXTENSION pg_stat_statements'
grant_runner
psql -qc "INSERT INTO vtp_runners (name, role, host, pid, state)
          SELECT 'pad/' || g, 'bench_pad', 'pad', g, 'transcoding' FROM generate_series(1, $PAD) g"
PM=$(head -1 "$ENV_DIR/data/postmaster.pid")
# db_cpu: "all runner_backends" CPU seconds of the cluster's processes: each
# live one's threads from schedstat (nanoseconds: /proc/PID/stat counts in
# 10 ms ticks, too coarse for a hundred small deltas) and the children each
# reaped (cutime + cstime: the backends that have exited, in the postmaster's)
db_cpu() {
  perl -e 'my ($pm, $hz) = @ARGV; my ($all, $run) = (0, 0);
    for my $d (glob "/proc/[0-9]*") {
      open(my $f, "<", "$d/stat") or next; my $s = <$f>; close $f; defined $s or next;
      my ($pid) = $s =~ /^(\d+)/; $s =~ s/^.*\) //; my @f = split " ", $s;
      next unless $pid == $pm || $f[1] == $pm;
      my $t = ($f[13] + $f[14]) / $hz;
      for my $task (glob "$d/task/*/schedstat") {
        open(my $g, "<", $task) or next; my ($ns) = split " ", (<$g> // "0"); close $g; $t += $ns / 1e9;
      }
      $all += $t;
      open(my $c, "<", "$d/cmdline") or next; my $cl = <$c> // ""; close $c;
      $run += $t if $cl =~ /^postgres: bench_runner /;
    }
    printf "%.4f %.4f\n", $all, $run' "$PM" "$HZ"
}
# snap NAME: the counters now, into $REPORT/NAME (kinds: statements by kind)
snap() {
  local t c
  t=$(date +%s.%N); c=$(db_cpu)
  psql -qAtF' ' -c "SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()),
      coalesce((SELECT sum(calls) FROM pg_stat_statements WHERE userid = 'bench_runner'::regrole), 0),
      coalesce((SELECT sum(calls) FROM pg_stat_statements WHERE userid = 'bench_runner'::regrole AND query LIKE '%vtp_heartbeat%'), 0)" |
    { read -r x s h; echo "$t $c $x $s $h"; } >"$REPORT/$1"
  psql -qAtF' ' -c "SELECT CASE WHEN query LIKE '%vtp_heartbeat%vtp_runner_report%' THEN 'vtp_heartbeat+report'
                                WHEN query ~ 'vtp_[a-z_]+' THEN substring(query FROM 'vtp_[a-z_]+')
                                ELSE 'other' END AS kind, sum(calls)
                    FROM pg_stat_statements WHERE userid = 'bench_runner'::regrole GROUP BY 1 ORDER BY 1" >"$REPORT/$1.kinds"
}
# delta A B: "seconds cpu runner_backend_cpu xacts statements heartbeats" between two snapshots
delta() { paste -d' ' "$REPORT/$1" "$REPORT/$2" | awk '{printf "%.2f %.4f %.4f %d %d %d\n", $7 - $1, $8 - $2, $9 - $3, $10 - $4, $11 - $5, $12 - $6}'; }
RLOG=$ENV_DIR/runner-sim.log
published() { grep -c ' Published: ' "$RLOG" || true; }
# phase TAG SECONDS: SIMN videos through the S3 notifications, the stand-in taking SECONDS each
phase() {
  local tag=$1 want n last=0 still=0
  printf 'vtp-standin seconds: %s\n' "$2" >"$ENV_DIR/src-$tag.txt"
  want=$(($(published) + SIMN))
  snap "$tag.0"
  node test/emulator/awscli.mjs batch "$EVENTS" temp-video-bucket "sim/$tag/v" "$SIMN" "$ENV_DIR/src-$tag.txt" >/dev/null
  while n=$(published); [ "$n" -lt "$want" ]; do
    # progress is read from the runner's log, not the catalog: polling would be counted
    if [ "$n" = "$last" ]; then still=$((still + 1)); else still=0 last=$n; fi
    [ "$still" -lt 120 ] || { echo "phase $tag stuck at $n of $want"; psql -c "SELECT status, count(*) FROM vtp_videos GROUP BY 1"; tail -20 "$RLOG"; return 1; }
    sleep 0.5
  done
  sleep 3   # the backends' statistics reach pg_stat_database within a second of going idle
  snap "$tag.1"
}

snap base.0; sleep 15; snap base.1
start_runner sim --jobs "$SLOTS" --transcoder "$(pwd)/test/bench/vtp-standin"
wait_runners "$SLOTS"
sleep 3
snap idle.0; sleep 20; snap idle.1
phase a 1
phase b "$LONG"
bad=$(psql -Atc "SELECT count(*) FROM vtp_videos WHERE status <> 'Published'")
hbsecs=$(psql -Atc "SELECT round(sum(extract(epoch FROM published_at - started_at))::numeric, 1) FROM vtp_videos WHERE key LIKE 'sim/b/%'")
stop_runner sim
read -r T0 C0 _ X0 _ _ < <(delta base.0 base.1)
read -r TI CI RI XI SI HI < <(delta idle.0 idle.1)
read -r TA CA RA XA SA HA < <(delta a.0 a.1)
read -r TB CB RB XB SB HB < <(delta b.0 b.1)
echo "   window   seconds  DB CPU s  runner backends  xacts  runner statements  heartbeats"
for w in "base $T0 $C0 - $X0 - -" "idle $TI $CI $RI $XI $SI $HI" "A:1s $TA $CA $RA $XA $SA $HA" "B:${LONG}s $TB $CB $RB $XB $SB $HB"; do
  printf '   %-6s %9s %9s %16s %6s %18s %11s\n' $w
done
echo "   runner statements by kind (A, B per video):"
for k in $(cut -d' ' -f1 "$REPORT/b.1.kinds"); do
  awk -v k="$k" -v n="$SIMN" 'FILENAME ~ /a\.0/ && $1 == k {a0 = $2} FILENAME ~ /a\.1/ && $1 == k {a1 = $2}
      FILENAME ~ /b\.0/ && $1 == k {b0 = $2} FILENAME ~ /b\.1/ && $1 == k {b1 = $2}
      END {if (a1 - a0 || b1 - b0) printf "     %-22s %6.2f %6.2f\n", k, (a1 - a0) / n, (b1 - b0) / n}' \
    "$REPORT/a.0.kinds" "$REPORT/a.1.kinds" "$REPORT/b.0.kinds" "$REPORT/b.1.kinds"
done
echo "   the runner's own count (its exit lines, start-up and stop included): $STMTS statements"
[ "$bad" = 0 ] || echo "   WARNING: $bad video(s) not Published"

MIN=${VTP_BENCH_SIM_VIDEO_MINUTES:-5}
read -r G_VIDEO G_HB G_CORES G_CORES60 G_VST G_HBST G_STPS < <(awk -v n="$SIMN" -v t0="$T0" -v c0="$C0" -v ta="$TA" -v ca="$CA" -v sa="$SA" -v ha="$HA" \
    -v tb="$TB" -v cb="$CB" -v sb="$SB" -v hb="$HB" -v ti="$TI" -v ci="$CI" -v si="$SI" -v slots="$SLOTS" \
    -v jobsec="$hbsecs" -v min="$MIN" -v out="$REPORT/g.txt" 'BEGIN {
  bg = c0 / t0                                   # cores the cluster burns with no runner
  hbcpu = (cb - ca - bg * (tb - ta)) / (hb - ha) # CPU s per heartbeat
  vcpu = (ca - bg * ta - hbcpu * ha) / n         # CPU s per video
  hbst = (sb - sa) / (hb - ha); vst = (sa - hbst * ha) / n
  every = jobsec / hb                            # seconds of transcode per heartbeat
  idle = (ci / ti - bg) / slots                  # cores per idle slot
  r = 1000; len = min * 60; vps = r / len; hps = r / every; hps60 = r / 60
  cores = bg + vcpu * vps + hbcpu * hps; cores60 = bg + vcpu * vps + hbcpu * hps60
  printf "   background (no runner): %.4f cores; an idle slot: %.5f cores and %.3f statements/s\n", bg, idle, si / ti / slots > out
  printf "   per video:     %.2f ms DB CPU (the ingest of its notification and task included), %.2f runner statements\n", vcpu * 1000, vst > out
  printf "   per heartbeat: %.3f ms DB CPU, %.2f runner statements; one every %.2f s a video is claimed (measured: %d in %.0f s claimed)\n", hbcpu * 1000, hbst, every, hb, jobsec > out
  printf "   1,000 runners busy on %d-minute transcodes: %.2f videos/s, %.0f heartbeats/s (one per %.1f s each)\n", min, vps, hps, every > out
  printf "     cores = %.4f background + %.3f ms x %.2f videos/s + %.3f ms x %.0f heartbeats/s\n", bg, vcpu * 1000, vps, hbcpu * 1000, hps > out
  printf "           = %.4f + %.4f + %.4f = %.3f cores (goal < 1)\n", bg, vcpu * vps, hbcpu * hps, cores > out
  printf "     statements: %.0f/s (%.2f x %.2f + %.2f x %.0f)\n", vst * vps + hbst * hps, vst, vps, hbst, hps > out
  printf "     if a heartbeat went once a minute (half of vtp.visibility_timeout = 120 s): %.3f cores\n", cores60 > out
  printf "%.2f %.3f %.3f %.3f %.2f %.2f %.0f\n", vcpu * 1000, hbcpu * 1000, cores, cores60, vst, hbst, vst * vps + hbst * hps }')
cat "$REPORT/g.txt"
env_stop

echo "== summary (runners)"
row() { printf '  %-46s %-34s %s\n' "$@"; }
row "figure" "value" "goal"
row "(e) throughput, 2 runners / 1 runner" "$E_MED ($E_SPREAD)" ">= 1.8"
row "(f) CPU per video, runner / in-server worker" "$F_MED ($F_SPREAD)" "<= 1.02"
row "    CPU s/video: 1 runner, 2 runners, server" "$F_CPUS" ""
row "(g) DB CPU per video, per heartbeat" "$G_VIDEO ms, $G_HB ms (one run)" ""
row "(g) statements per video, per heartbeat" "$G_VST, $G_HBST" ""
row "(g) DB cores for 1,000 runners, $MIN-min videos" "$G_CORES ($G_STPS statements/s)" "< 1"
row "    the same with a heartbeat a minute" "$G_CORES60" ""
echo "  (the section took $((SECONDS / 60)) min $((SECONDS % 60)) s)"
