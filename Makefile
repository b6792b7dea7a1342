# vtp — video transcoding pipeline inside PostgreSQL (PGXS).
#
#   make demo    install what is missing, build, run a throwaway cluster and
#                the local S3/SQS emulator, show a video become Published
#   make check   every test: unit, live AWS client, pg_regress, TAP
#   make bench   speed, side by side with the ffmpeg CLI
#   make fuzz    the libFuzzer targets, FUZZ_SECONDS each (default 60)
#   make soak    a long run of random faults over VTP_SOAK_VIDEOS uploads

EXTENSION = vtp
EXTVERSION = 1.3
MODULE_big = vtp
OBJS = src/vtp.o src/buf.o src/json.o src/s3event.o src/sigv4.o src/creds.o src/credchain.o src/credcache.o src/credhttp.o src/credsts.o src/credprocess.o \
       src/ladder.o src/names.o src/aws.o src/s3.o src/s3list.o src/sqs.o src/pgaws.o \
       src/catalog.o src/catalog_reconcile.o src/workers.o src/sqlapi.o src/sqlops.o \
       src/sqlurls.o src/upq.o bgworker/upload.o bgworker/http.o bgworker/http_limits.o \
       bgworker/worker.o bgworker/ingest.o bgworker/child.o bgworker/supervise.o \
       bgworker/transcode.o bgworker/transfer.o bgworker/reconcile.o \
       src/report.o bgworker/linebuf.o bgworker/sandbox_check.o
DATA = vtp--1.0.sql vtp--1.0--1.1.sql vtp--1.2.sql vtp--1.1--1.2.sql vtp--1.3.sql vtp--1.2--1.3.sql
PGFILEDESC = "vtp - video transcoding pipeline"

REGRESS = vtp_grants vtp_upgrade vtp_schema vtp_api vtp_ops vtp_trust
REGRESS_OPTS = --inputdir=test --outputdir=test --temp-config=test/vtp.conf --temp-instance=./tmp_check
TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

PKGS = libcurl libcrypto libmicrohttpd
AVPKGS = libavformat libavcodec libavfilter libavutil
WARN = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare
# the layers by -I, not ../: pure and AWS parts (src), workers (bgworker), the helper (transcoder)
VTP_INC = -Isrc -Ibgworker -Itranscoder
PG_CPPFLAGS = -Isrc -Ibgworker -DVTP_VERSION='"$(EXTVERSION)"' $(shell pkg-config --cflags $(PKGS))
PG_CFLAGS = $(WARN)
SHLIB_LINK = $(shell pkg-config --libs $(PKGS))
EXTRA_CLEAN = vtp-transcode test/unit/run_tests test/unit/aws_live test/unit/creds_live test/bench/s3put test/results test/regression.* tmp_check \
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
$(OBJS): $(wildcard src/*.h bgworker/*.h) Makefile

# --- the transcoder helper: its own program, the only one linking libav ---
HELPER_SRC = transcoder/main.c transcoder/pipeline.c transcoder/probe.c transcoder/audio.c transcoder/sandbox.c transcoder/sandbox_check.c \
             src/ladder.c src/buf.c
HELPER_CFLAGS = -O2 -g $(WARN) -Isrc -Itranscoder -DVTP_VERSION='"$(EXTVERSION)"'

all: vtp-transcode

vtp-transcode: $(HELPER_SRC) transcoder/transcode.h transcoder/pipeline.h src/ladder.h src/buf.h
	$(CC) $(HELPER_CFLAGS) $(shell pkg-config --cflags $(AVPKGS)) -o $@ $(HELPER_SRC) \
	  $(shell pkg-config --libs $(AVPKGS)) -lm

install: install-helper
install-helper: vtp-transcode
	$(INSTALL_PROGRAM) vtp-transcode '$(DESTDIR)$(pkglibdir)/vtp-transcode'

# --- tests without a server ---
UNIT_SRC = test/unit/main.c test/unit/test_json.c test/unit/test_s3event.c test/unit/test_sigv4.c \
           test/unit/test_creds.c test/unit/test_ladder.c test/unit/test_aws_xml.c test/unit/test_names.c test/unit/test_bucket.c \
           test/unit/test_report.c src/report.c \
           src/names.c src/buf.c src/json.c src/s3event.c src/sigv4.c src/creds.c src/credchain.c src/credcache.c src/credhttp.c src/credsts.c src/credprocess.c src/ladder.c src/aws.c src/s3.c src/s3list.c src/sqs.c
SAN = -fsanitize=address,undefined -fno-omit-frame-pointer
UNIT_CFLAGS = -g -O1 $(WARN) $(SAN) $(VTP_INC) -DVTP_VERSION='"$(EXTVERSION)"'

test/unit/run_tests: $(UNIT_SRC) test/unit/unit.h src/report.h
	$(CC) $(UNIT_CFLAGS) -o $@ $(UNIT_SRC) $(shell pkg-config --libs $(PKGS))

test/unit/aws_live: test/unit/aws_live.c src/names.c src/buf.c src/json.c src/sigv4.c src/creds.c src/credchain.c src/credcache.c src/credhttp.c src/credsts.c src/credprocess.c src/aws.c src/s3.c src/s3list.c src/sqs.c
	$(CC) $(UNIT_CFLAGS) -o $@ $^ $(shell pkg-config --libs $(PKGS))

test/unit/creds_live: test/unit/creds_live.c src/names.c src/buf.c src/json.c src/sigv4.c src/creds.c src/credchain.c src/credcache.c src/credhttp.c src/credsts.c src/credprocess.c src/aws.c src/s3.c src/s3list.c src/sqs.c
	$(CC) $(UNIT_CFLAGS) -o $@ $^ $(shell pkg-config --libs $(PKGS))

test/bench/s3put: test/bench/s3put.c src/names.c src/buf.c src/json.c src/sigv4.c src/creds.c src/credchain.c src/credcache.c src/credhttp.c src/credsts.c src/credprocess.c src/aws.c src/s3.c src/s3list.c src/sqs.c
	$(CC) -O2 -g $(WARN) $(VTP_INC) -DVTP_VERSION='"$(EXTVERSION)"' -o $@ $^ $(shell pkg-config --libs $(PKGS))

unittest: test/unit/run_tests
	./test/unit/run_tests

# the sandbox escape test: the helper's own sandbox.c, entered as the helper does (plain
# build: the sanitizers' runtimes need syscalls the allowlist refuses)
test/sandbox/escape: test/sandbox/escape.c transcoder/sandbox.c transcoder/transcode.h
	$(CC) -O1 -g $(WARN) -Isrc -Itranscoder -o $@ test/sandbox/escape.c transcoder/sandbox.c -lpthread

sandboxtest: test/sandbox/escape vtp-transcode
	./test/sandbox/escape ./vtp-transcode

# --- libFuzzer targets (clang); `make fuzz` runs each for FUZZ_SECONDS ---
FUZZ_CC = clang
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer $(WARN) $(VTP_INC) -DVTP_VERSION='"$(EXTVERSION)"'
FUZZ_AWS = src/buf.c src/json.c src/sigv4.c src/creds.c src/credchain.c src/credcache.c src/credhttp.c src/credsts.c src/credprocess.c src/aws.c src/s3.c src/s3list.c src/sqs.c
FUZZERS = test/fuzz/fuzz_s3event test/fuzz/fuzz_sigv4 test/fuzz/fuzz_http test/fuzz/fuzz_report test/fuzz/fuzz_creds

test/fuzz/fuzz_s3event: test/fuzz/fuzz_s3event.c src/s3event.c src/json.c src/buf.c src/names.c
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^ $(shell pkg-config --libs libcrypto)

test/fuzz/fuzz_sigv4: test/fuzz/fuzz_sigv4.c src/sigv4.c src/buf.c
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^ $(shell pkg-config --libs libcrypto)

test/fuzz/fuzz_http: test/fuzz/fuzz_http.c bgworker/http.c bgworker/http_limits.c bgworker/http.h bgworker/http_int.h src/upq.c src/names.c $(FUZZ_AWS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(shell pkg-config --cflags $(PKGS)) -o $@ $(filter %.c,$^) \
	  $(shell pkg-config --libs $(PKGS)) -lpthread

test/fuzz/fuzz_report: test/fuzz/fuzz_report.c src/report.c src/report.h src/json.c src/buf.c src/ladder.c src/names.c
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^) $(shell pkg-config --libs libcrypto)

test/fuzz/fuzz_creds: test/fuzz/fuzz_creds.c src/creds.c src/creds.h src/json.c src/buf.c src/aws.c src/sigv4.c src/credchain.c src/credcache.c src/credhttp.c src/credsts.c src/credprocess.c
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(shell pkg-config --cflags $(PKGS)) -o $@ $(filter %.c,$^) $(shell pkg-config --libs $(PKGS)) -lpthread

fuzzers: $(FUZZERS)

.PHONY: check demo bench unittest sandboxtest install-helper deps fuzz fuzzers soak

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
