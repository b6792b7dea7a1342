# vtp — video transcoding pipeline inside PostgreSQL (PGXS).
#
#   make demo    install what is missing, build, run a throwaway cluster and
#                the local S3/SQS emulator, show a video become Published
#   make check   every test: unit, live AWS client, pg_regress, TAP
#   make bench   speed, side by side with the ffmpeg CLI
#   make fuzz    the libFuzzer targets, FUZZ_SECONDS each (default 60)
#   make soak    a long run of random faults over VTP_SOAK_VIDEOS uploads

EXTENSION = vtp
# the version lives in vtp.control alone; the build and the tests read it from there
EXTVERSION := $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" vtp.control)
MODULE_big = vtp

# The rooms (docs/README.md shows the tree): each source is listed once, here.
#   src/core  pure helpers: no Postgres, no network
#   src/aws   the AWS client: SigV4, S3, SQS, the credential chain (libcurl, OpenSSL)
#   src/job   the transcode job engine: no Postgres header; its host implements job.h
#   src/pg    the Postgres glue: _PG_init and GUCs, shared memory, the catalog, SQL functions
#   bgworker  the background workers, hosts of the engine and the upload server
#   runner    vtp-runner, the engine's host on other machines (libpq; no Postgres server header)
CORE_SRC = src/core/buf.c src/core/json.c src/core/names.c src/core/ladder.c src/core/s3event.c \
           src/core/report.c src/core/report_events.c src/core/report_text.c src/core/backoff.c
AWS_SRC = src/aws/aws.c src/aws/aws_error.c src/aws/aws_parse.c src/aws/s3_request.c src/aws/s3.c src/aws/s3list.c \
          src/aws/sqs.c src/aws/sigv4.c src/aws/creds.c \
          src/aws/credchain.c src/aws/credcache.c src/aws/credhttp.c src/aws/credsts.c src/aws/credprocess.c
JOB_SRC = src/job/job.c src/job/heartbeat.c src/job/transfer.c src/job/helper.c src/job/sandbox_run.c \
          src/job/job_util.c src/job/child.c src/job/linebuf.c
PG_SRC = src/pg/vtp.c src/pg/settings.c src/pg/catalog.c src/pg/catalog_ingest.c src/pg/catalog_claim.c src/pg/catalog_proto.c \
         src/pg/catalog_reconcile.c src/pg/catalog_upload.c src/pg/catalog_urls.c src/pg/slots.c src/pg/wakeup.c \
         src/pg/sql_enqueue.c src/pg/sql_ops.c src/pg/sql_urls.c src/pg/sql_runner.c src/pg/aws_glue.c
BGW_SRC = bgworker/worker.c bgworker/ingest.c bgworker/transcode.c bgworker/transcode_settings.c \
          bgworker/reconcile.c bgworker/upload.c bgworker/http.c bgworker/http_server.c bgworker/http_respond.c \
          bgworker/http_limits.c bgworker/upload_queue.c
OBJS = $(patsubst %.c,%.o,$(CORE_SRC) $(AWS_SRC) $(JOB_SRC) $(PG_SRC) $(BGW_SRC))
DATA = vtp--1.0.sql vtp--1.0--1.1.sql vtp--1.2.sql vtp--1.1--1.2.sql vtp--1.3.sql vtp--1.2--1.3.sql vtp--1.4.sql vtp--1.3--1.4.sql
PGFILEDESC = "vtp - video transcoding pipeline"

REGRESS = vtp_grants vtp_upgrade vtp_schema vtp_api vtp_ops vtp_trust vtp_runner
REGRESS_OPTS = --inputdir=test --outputdir=test --temp-config=test/vtp.conf --temp-instance=./tmp_check
TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

PKGS = libcurl libcrypto libmicrohttpd
AVPKGS = libavformat libavcodec libavfilter libavutil
WARN = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare
# the rooms by -I, never ../ (the helper sees only core and its own folder)
CORE_INC = -Isrc/core
VTP_INC = $(CORE_INC) -Isrc/aws -Isrc/job -Isrc/pg -Ibgworker
VERSION_DEF = -DVTP_VERSION='"$(EXTVERSION)"'
PG_CPPFLAGS = $(VTP_INC) $(VERSION_DEF) $(shell pkg-config --cflags $(PKGS)) $(VTP_ASSERT)
PG_CFLAGS = $(WARN)
SHLIB_LINK = $(shell pkg-config --libs $(PKGS))
EXTRA_CLEAN = vtp-transcode vtp-runner test/unit/run_tests test/unit/aws_live test/unit/creds_live test/unit/job_live test/bench/s3put test/results test/regression.* tmp_check \
              test/fuzz/fuzz_s3event test/fuzz/fuzz_sigv4 test/fuzz/fuzz_http test/fuzz/fuzz_report test/fuzz/fuzz_creds test/fuzz/work \
              test/sandbox/escape

PG_CONFIG ?= pg_config
# Goals that only run a script (which installs what is missing first) do not
# load PGXS: on a fresh machine pg_config and pkg-config's packages are not
# there yet, and PGXS's own "check" would be overridden (a warning on every
# make). Any other goal, or none, is a build: PGXS is loaded.
VTP_SCRIPT_GOALS = check demo deps bench fuzz soak
ifeq ($(MAKECMDGOALS),)
VTP_BUILD = 1
else ifneq ($(filter-out $(VTP_SCRIPT_GOALS),$(MAKECMDGOALS)),)
VTP_BUILD = 1
endif
ifdef VTP_BUILD
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
endif

# PGXS tracks no header dependencies: rebuild every object when a header changes
# (a stale object with an old struct layout is silent memory corruption)
$(OBJS): $(wildcard src/*/*.h bgworker/*.h) Makefile

# --- the transcoder helper: its own program, the only one linking libav ---
HELPER_SRC = transcoder/main.c transcoder/pipeline.c transcoder/probe.c transcoder/video.c transcoder/audio.c \
             transcoder/sandbox.c transcoder/sandbox_check.c transcoder/report_out.c src/core/ladder.c src/core/buf.c
HELPER_CFLAGS = -O2 -g $(WARN) $(CORE_INC) -Itranscoder $(VERSION_DEF) $(VTP_ASSERT)

all: vtp-transcode vtp-runner

vtp-transcode: $(HELPER_SRC) $(wildcard transcoder/*.h src/core/*.h) Makefile
	$(CC) $(HELPER_CFLAGS) $(shell pkg-config --cflags $(AVPKGS)) -o $@ $(HELPER_SRC) \
	  $(shell pkg-config --libs $(AVPKGS)) -lm

install: install-helper install-runner
install-helper: vtp-transcode
	$(INSTALL_PROGRAM) vtp-transcode '$(DESTDIR)$(pkglibdir)/vtp-transcode'

# --- vtp-runner: the job engine on other machines, reaching the catalog with libpq only ---
RUNNER_SRC = runner/main.c runner/supervise.c runner/runner_sys.c runner/runner_db.c runner/runner_call.c \
             runner/runner_settings.c runner/runner_report.c runner/runner_host.c runner/runner_slot.c
# libpq's client header only (PGXS's includedir), never the server's; no libmicrohttpd
RUNNER_PKGS = libcurl libcrypto
RUNNER_INC = $(CORE_INC) -Isrc/aws -Isrc/job -Irunner -I$(includedir)
RUNNER_CFLAGS = -O2 -g $(WARN) $(RUNNER_INC) $(VERSION_DEF) -DVTP_PKGLIBDIR='"$(pkglibdir)"' $(VTP_ASSERT)

vtp-runner: $(RUNNER_SRC) $(CORE_SRC) $(AWS_SRC) $(JOB_SRC) $(wildcard runner/*.h src/core/*.h src/aws/*.h src/job/*.h) Makefile
	$(CC) $(RUNNER_CFLAGS) $(shell pkg-config --cflags $(RUNNER_PKGS)) -o $@ $(filter %.c,$^) \
	  -L$(libdir) -lpq $(shell pkg-config --libs $(RUNNER_PKGS))

install-runner: vtp-runner
	$(INSTALL_PROGRAM) vtp-runner '$(DESTDIR)$(bindir)/vtp-runner'

# --- tests without a server ---
# the client programs link the pure parts and the AWS client, never the Postgres glue
CLIENT_SRC = $(CORE_SRC) $(AWS_SRC)
UNIT_SRC = test/unit/main.c test/unit/test_json.c test/unit/test_s3event.c test/unit/test_sigv4.c \
           test/unit/test_creds.c test/unit/test_ladder.c test/unit/test_aws_xml.c test/unit/test_names.c \
           test/unit/test_bucket.c test/unit/test_report.c test/unit/test_backoff.c \
           test/unit/test_upload_queue.c bgworker/upload_queue.c \
           test/unit/test_runner_settings.c runner/runner_settings.c
HDRS = $(wildcard src/*/*.h bgworker/*.h transcoder/*.h runner/*.h test/unit/*.h)
SAN = -fsanitize=address,undefined -fno-omit-frame-pointer
UNIT_CFLAGS = -g -O1 $(WARN) $(SAN) $(VTP_INC) -Irunner -I$(includedir) $(VERSION_DEF) $(VTP_ASSERT)

test/unit/run_tests: $(UNIT_SRC) $(CLIENT_SRC) $(HDRS)
	$(CC) $(UNIT_CFLAGS) -o $@ $(filter %.c,$^) $(shell pkg-config --libs $(PKGS))

test/unit/aws_live: test/unit/aws_live.c $(CLIENT_SRC) $(HDRS)
	$(CC) $(UNIT_CFLAGS) -o $@ $(filter %.c,$^) $(shell pkg-config --libs $(PKGS))

test/unit/creds_live: test/unit/creds_live.c $(CLIENT_SRC) $(HDRS)
	$(CC) $(UNIT_CFLAGS) -o $@ $(filter %.c,$^) $(shell pkg-config --libs $(PKGS))

# the job engine with a fake host (no Postgres) against the emulator and the real helper
test/unit/job_live: test/unit/job_live.c test/unit/job_fake.c $(CLIENT_SRC) $(JOB_SRC) $(HDRS)
	$(CC) $(UNIT_CFLAGS) -o $@ $(filter %.c,$^) $(shell pkg-config --libs $(PKGS))

test/bench/s3put: test/bench/s3put.c $(CLIENT_SRC) $(HDRS)
	$(CC) -O2 -g $(WARN) $(VTP_INC) $(VERSION_DEF) -o $@ $(filter %.c,$^) $(shell pkg-config --libs $(PKGS))

unittest: test/unit/run_tests
	./test/unit/run_tests

# the sandbox escape test: the helper's own sandbox.c, entered as the helper does (plain
# build: the sanitizers' runtimes need syscalls the allowlist refuses)
ESCAPE_SRC = test/sandbox/escape.c test/sandbox/escape_attempts.c test/sandbox/escape_helper.c \
             test/sandbox/escape_tap.c
test/sandbox/escape: $(ESCAPE_SRC) transcoder/sandbox.c $(HDRS) $(wildcard test/sandbox/*.h)
	$(CC) -O1 -g $(WARN) $(CORE_INC) -Itranscoder -Itest/sandbox -o $@ $(filter %.c,$^) -lpthread

sandboxtest: test/sandbox/escape vtp-transcode
	./test/sandbox/escape ./vtp-transcode

# --- libFuzzer targets (clang); `make fuzz` runs each for FUZZ_SECONDS ---
FUZZ_CC = clang
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer $(WARN) $(VTP_INC) $(VERSION_DEF)
FUZZERS = test/fuzz/fuzz_s3event test/fuzz/fuzz_sigv4 test/fuzz/fuzz_http test/fuzz/fuzz_report test/fuzz/fuzz_creds
FUZZ_LIBS = $(shell pkg-config --libs $(PKGS)) -lpthread

test/fuzz/fuzz_s3event test/fuzz/fuzz_sigv4 test/fuzz/fuzz_report test/fuzz/fuzz_creds: test/fuzz/%: test/fuzz/%.c $(CLIENT_SRC) $(HDRS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(shell pkg-config --cflags $(PKGS)) -o $@ $(filter %.c,$^) $(FUZZ_LIBS)

test/fuzz/fuzz_http: test/fuzz/fuzz_http.c bgworker/http.c bgworker/http_server.c bgworker/http_respond.c \
                     bgworker/http_limits.c bgworker/upload_queue.c $(CLIENT_SRC) $(HDRS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(shell pkg-config --cflags $(PKGS)) -o $@ $(filter %.c,$^) $(FUZZ_LIBS)

fuzzers: $(FUZZERS)

.PHONY: check demo bench unittest sandboxtest install-helper install-runner deps fuzz fuzzers soak

deps:
	scripts/deps.sh

# The one command that runs every test (in place of PGXS's own "check",
# which is not loaded for it: see VTP_SCRIPT_GOALS).
ifeq ($(filter check,$(MAKECMDGOALS)),check)
check:
	scripts/check.sh
endif

demo:
	scripts/demo.sh

bench:
	scripts/bench.sh

fuzz:
	scripts/fuzz.sh

# the long fault run (VTP_SOAK_VIDEOS, default 100), through the test harness
soak:
	VTP_TAP=test/soak/001_soak.pl scripts/check.sh
