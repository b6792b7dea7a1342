/*
 * report_out.c — the helper's side of the report: every JSON line
 * vtp-transcode prints on stdout is written here, in the protocol of
 * src/core/helper_protocol.h (the event names, the error codes, the bounds)
 * that the worker's reader (src/core/report*.c) checks. The rest of the
 * helper calls these and never prints a line of its own.
 */
#include <stdarg.h>
#include <stdio.h>

#include <libavutil/error.h>

#include "helper.h"
#include "pipeline.h"
#include "buf.h"

#define EVENT(name) "{\"event\":\"" name "\""

/* a message JSON-escaped (at most 6 bytes a byte) and its line fit the reader's bound */
_Static_assert(VTP_HELPER_SENT_MESSAGE * 6 + 256 < VTP_HELPER_MAX_LINE,
			   "an error line could pass the reader's VTP_HELPER_MAX_LINE");

/* One error line; code is one of the VTP_HELPER_ERR_* list. */
void
tc_report_error(const char *code, const char *fmt,...)
{
	va_list		ap;
	char		msg[VTP_HELPER_SENT_MESSAGE];
	vbuf		b = VBUF_INIT;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vbuf_puts(&b, EVENT(VTP_HELPER_EV_ERROR) ",\"code\":");
	vbuf_json_string(&b, code);
	vbuf_puts(&b, ",\"message\":");
	vbuf_json_string(&b, msg);
	vbuf_puts(&b, "}\n");
	fputs(b.data, stdout);
	fflush(stdout);
	vbuf_free(&b);
}

/* A libav failure as an error line in libav's own words; returns exitcode. */
int
tc_fail_av(const char *code, int exitcode, const char *what, int err)
{
	char		e[AV_ERROR_MAX_STRING_SIZE];

	av_strerror(err, e, sizeof(e));
	tc_report_error(code, "%s: %s", what, e);
	return exitcode;
}

/* eta_seconds < 0: not known yet (left out). */
void
tc_report_progress(double percent, double speed, double eta_seconds)
{
	if (eta_seconds < 0)
		printf(EVENT(VTP_HELPER_EV_PROGRESS) ",\"percent\":%.1f,\"speed\":%.2f}\n", percent, speed);
	else
		printf(EVENT(VTP_HELPER_EV_PROGRESS) ",\"percent\":%.1f,\"speed\":%.2f,\"eta_seconds\":%.0f}\n",
			   percent, speed, eta_seconds);
	fflush(stdout);
}

/* The sandbox line's common part, without its closing brace. */
static void
sandbox_fields(const tc_sandbox_info *info)
{
	printf(EVENT(VTP_HELPER_EV_SANDBOX) ",\"mode\":\"%s\",\"landlock_abi\":%d,\"landlock\":%s,\"seccomp\":\"allowlist\"",
		   info->mode == TC_SANDBOX_REQUIRED ? "required" : "best_effort",
		   info->landlock_abi, info->landlock ? "true" : "false");
}

/* The first report line: the sandbox in force. */
void
tc_report_sandbox(const tc_sandbox_info *info)
{
	sandbox_fields(info);
	printf("}\n");
	fflush(stdout);
}

/* --check-sandbox: the sandbox line with what it refused. */
void
tc_report_sandbox_check(const tc_sandbox_info *info, const tc_sandbox_check *c)
{
	sandbox_fields(info);
	printf(",\"socket\":\"%s\",\"io_uring\":\"%s\",\"exec\":\"%s\",\"fork\":\"%s\",\"signal_parent\":\"%s\","
		   "\"read_other_file\":\"%s\",\"read_source\":\"%s\",\"write_outdir\":\"%s\"}\n",
		   c->socket, c->io_uring, c->exec, c->fork, c->signal_parent, c->read_other_file,
		   c->read_source, c->write_outdir);
	fflush(stdout);
}

/* The probe and the plan, two lines written at once. */
void
tc_report_probe_plan(const tc_probe *p, const ladder_plan *plan)
{
	vbuf		b = VBUF_INIT;
	int			i;

	vbuf_printf(&b, EVENT(VTP_HELPER_EV_PROBE) ",\"width\":%d,\"height\":%d,\"rotation\":%d,\"duration\":%.3f,"
				"\"fps\":%.3f,\"video_bitrate\":%lld,\"interlaced\":%s,\"hdr\":%s,\"audio\":%s,"
				"\"audio_stream\":%d,\"audio_channels\":%d,\"video_codec\":",
				p->width, p->height, p->rotation, p->duration,
				p->fps_num / p->fps_den, (long long) p->video_bitrate,
				p->interlaced ? "true" : "false", p->hdr ? "true" : "false",
				p->has_audio ? "true" : "false", p->audio_stream, p->audio_channels);
	vbuf_json_string(&b, p->video_codec ? p->video_codec : "");
	vbuf_puts(&b, ",\"pix_fmt\":");
	vbuf_json_string(&b, p->pix_fmt ? p->pix_fmt : "");
	vbuf_puts(&b, "}\n" EVENT(VTP_HELPER_EV_PLAN) ",\"note\":");
	vbuf_json_string(&b, plan->note);
	vbuf_puts(&b, ",\"renditions\":[");
	for (i = 0; i < plan->nrungs; i++)
		vbuf_printf(&b, "%s{\"name\":\"%s\",\"width\":%d,\"height\":%d,\"maxrate\":%lld}",
					i ? "," : "", plan->rungs[i].name, plan->rungs[i].width, plan->rungs[i].height,
					(long long) plan->rungs[i].maxrate);
	vbuf_puts(&b, "]}\n");
	fputs(b.data, stdout);
	fflush(stdout);
	vbuf_free(&b);
}

/* One rendition line (flushed with the done line). */
void
tc_report_rendition(const ladder_rung *r, int64_t bytes, double duration, int64_t frames)
{
	printf(EVENT(VTP_HELPER_EV_RENDITION) ",\"name\":\"%s\",\"file\":\"%s.mp4\",\"width\":%d,\"height\":%d,"
		   "\"bytes\":%lld,\"bitrate\":%lld,\"duration\":%.3f,\"frames\":%lld}\n",
		   r->name, r->name, r->width, r->height, (long long) bytes,
		   duration > 0 ? (long long) (bytes * 8 / duration) : 0LL, duration, (long long) frames);
}

/* The last line of a transcode that succeeded. */
void
tc_report_done(double cpu_seconds, double wall_seconds, int decode_errors)
{
	printf(EVENT(VTP_HELPER_EV_DONE) ",\"cpu_seconds\":%.2f,\"wall_seconds\":%.2f,\"decode_errors\":%d}\n",
		   cpu_seconds, wall_seconds, decode_errors);
	fflush(stdout);
}
