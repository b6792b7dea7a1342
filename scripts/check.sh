#!/usr/bin/env bash
# check.sh — `make check`: every test, from a fresh machine.
#  1. dependencies (scripts/deps.sh), build, install
#  2. C unit tests of the pure parts, under AddressSanitizer/UBSan, the
#     sandbox escape test (test/sandbox/escape.c, as root and as postgres),
#     and the libFuzzer targets replaying their committed seeds
#  3. the AWS client live against the S3+SQS emulator (signatures verified),
#     and the job engine with a fake host against it (test/unit/job_live.c)
#  4. pg_regress and the TAP integration tests, as an unprivileged user
#     (initdb refuses root) in a copy of the tree that user can read; then,
#     as root, the Debian route (pg_createcluster/pg_ctlcluster, 016_debian)
#  5. the assertion build (-DUSE_ASSERT_CHECKING, every Assert and
#     VTP_ASSERT live): unit tests, pg_regress and the TAP
#     files that drive claims, leases and publishing; then the plain build
#     is put back
# test/structure.pl checks the tree's shape right after the build.
# VTP_TAP="test/t/005_faults.pl ..." runs only those TAP files (and no pg_regress),
# for a quicker loop while working on one of them; VTP_KEEP=1 keeps the logs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

scripts/deps.sh
echo "== build and install"
make -s all
$SUDO make -s install

echo "== the tree's shape: rooms, sizes, no circles (test/structure.pl)"
perl test/structure.pl

echo "== unit tests"
make -s unittest

echo "== sandbox escape test (as root and as the unprivileged user)"
make -s test/sandbox/escape
./test/sandbox/escape "$(pg_config --pkglibdir)/vtp-transcode"
if [ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1; then
  esc=$(mktemp -d /tmp/vtp-escape-bin.XXXXXX)
  cp test/sandbox/escape "$esc/"
  chmod 755 "$esc"
  runuser -u postgres -- "$esc/escape" "$(pg_config --pkglibdir)/vtp-transcode"
  rm -rf "$esc"
fi

echo "== fuzz targets on their seed corpora (make fuzz runs them for longer)"
FUZZ_SECONDS=0 scripts/fuzz.sh

echo "== AWS client against the emulator"
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
state=$(mktemp -u /tmp/vtp-emu.XXXXXX)
AWS_ACCESS_KEY_ID=vtptestkey AWS_SECRET_ACCESS_KEY=vtptestsecret \
  node test/emulator/server.mjs --port "$port" --backend-port 0 --cred-port 0 --state "$state" --max-seconds 600 >/dev/null 2>&1 &
emu=$!
trap 'kill $emu 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -s "$state" ] && break; sleep 0.1; done
make -s test/unit/aws_live test/unit/creds_live test/unit/job_live
tasks=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).tasks_queue_url)' "$state")
AWS_ACCESS_KEY_ID=vtptestkey AWS_SECRET_ACCESS_KEY=vtptestsecret \
  ./test/unit/aws_live "http://127.0.0.1:$port" "$tasks"
echo "== the job engine with a fake host, against the emulator and the helper"
AWS_ACCESS_KEY_ID=vtptestkey AWS_SECRET_ACCESS_KEY=vtptestsecret \
  ./test/unit/job_live "http://127.0.0.1:$port" "$tasks" ./vtp-transcode
echo "== the AWS credential chain against loopback IMDSv2, ECS and STS"
creds=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).cred_endpoint)' "$state")
AWS_ACCESS_KEY_ID=vtptestkey AWS_SECRET_ACCESS_KEY=vtptestsecret \
  ./test/unit/creds_live "http://127.0.0.1:$port" "$creds" "$tasks"
kill $emu; wait $emu 2>/dev/null || true
trap - EXIT
rm -f "$state"

# run_suite LABEL [make installcheck arguments]: pg_regress and TAP in a copy
# of the tree the unprivileged user owns; the details and exit on failure
run_suite() {
  local label=$1; shift
  echo "== $label"
  work=$(mktemp -d /tmp/vtp-check.XXXXXX)
  cp -a "$ROOT/." "$work/"
  rm -rf "$work/tmp_check" "$work/test/results"
  run_as=()
  if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres: "$work"
    run_as=(runuser -u postgres --)
  fi
  status=0
  "${run_as[@]}" env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
    AWS_SHARED_CREDENTIALS_FILE="$work/test/regress-credentials" HOME="$work" \
    make -C "$work" -s installcheck PROVE_FLAGS=--timer "$@" || status=$?
}

# show_failure: what the last run_suite or prove left, then exit with its status
show_failure() {
  echo "== failure details"
  [ -f "$work/test/regression.diffs" ] && cat "$work/test/regression.diffs"
  for f in "$work"/tmp_check/log/*; do
    [ -f "$f" ] || continue
    echo "---- $f (last 80 lines)"
    tail -n 80 "$f"
  done
  echo "(kept in $work)"
  exit $status
}

run_suite "pg_regress and TAP tests" ${VTP_TAP:+PROVE_TESTS="$VTP_TAP" REGRESS=}
# the Debian route (test/t/016_debian.pl) makes a real cluster with
# pg_createcluster and starts it with pg_ctlcluster: that needs root, so it
# runs here (the unprivileged run above skips it)
if [ "$(id -u)" -eq 0 ] && { [ -z "${VTP_TAP:-}" ] || [[ " $VTP_TAP " == *016_debian* ]]; }; then
  echo "== the Debian route: pg_createcluster, pg_ctlcluster (as root)"
  (cd "$work" && env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
    TESTDIR="$work" PATH="$(pg_config --bindir):$PATH" \
    prove --timer -I "$(pg_config --pgxs | sed 's|/src/makefiles/pgxs.mk$||')/src/test/perl" -I . \
    test/t/016_debian.pl) || status=$?
fi
[ $status -ne 0 ] && show_failure
if [ "${VTP_KEEP:-0}" = 1 ]; then echo "(kept in $work)"; else rm -rf "$work"; fi

# The assertion build (house style: one build with -DUSE_ASSERT_CHECKING):
# PostgreSQL's Assert() in the Postgres glue and VTP_ASSERT elsewhere abort
# on a broken invariant (rung counts, slot ownership, lease states, upload
# queue links). The plain build is installed again afterwards, whatever happens.
if [ -z "${VTP_TAP:-}" ]; then
  restore_plain() { make -s clean >/dev/null; make -s all >/dev/null; $SUDO make -s install >/dev/null; }
  trap restore_plain EXIT
  echo "== the assertion build (-DUSE_ASSERT_CHECKING)"
  make -s clean >/dev/null
  make -s all VTP_ASSERT=-DUSE_ASSERT_CHECKING
  $SUDO make -s install VTP_ASSERT=-DUSE_ASSERT_CHECKING
  make -s unittest VTP_ASSERT=-DUSE_ASSERT_CHECKING
  assert_tap="test/t/001_pipeline.pl test/t/005_faults.pl test/t/007_ops.pl test/t/011_interrupted.pl test/t/003_upload.pl test/t/017_runners.pl"
  run_suite "pg_regress and TAP ($assert_tap) on the assertion build" PROVE_TESTS="$assert_tap"
  [ $status -ne 0 ] && show_failure
  grep -l "TRAP: FailedAssertion\|Assertion .* failed" "$work"/tmp_check/log/* 2>/dev/null && { status=1; show_failure; }
  rm -rf "$work"
  trap - EXIT
  echo "== the plain build again"
  restore_plain
fi
echo "== make check: all passed"
