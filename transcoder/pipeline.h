/*
 * pipeline.h — the transcoder's shared state and the functions its files
 * give each other (probe.c: the input; audio.c: the audio path; pipeline.c:
 * video graph, encoders, muxers and the main loop). Private to vtp-transcode.
 */
#ifndef VTP_PIPELINE_H
#define VTP_PIPELINE_H

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include <libavcodec/avcodec.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>

#include "transcode.h"
#include "../src/buf.h"

typedef struct rung_out
{
	ladder_rung r;
	AVFilterContext *sink;
	AVCodecContext *enc;
	AVFormatContext *oc;
	AVStream   *vst;
	AVStream   *ast;
	char		path[4096];
	int64_t		frames;
} rung_out;

typedef struct tc
{
	const tc_options *opt;
	AVFormatContext *ic;
	int			vidx;
	int			aidx;
	AVCodecContext *vdec;
	AVCodecContext *adec;
	AVFilterGraph *vgraph;
	AVFilterGraph *agraph;
	AVFilterContext *vsrc;
	AVFilterContext *asrc;
	AVFilterContext *asink;
	AVCodecContext *aenc;
	rung_out	rungs[LADDER_MAX_RUNGS];
	int			nrungs;
	AVRational	fps;
	int64_t		vstart;			/* subtracted from pts, stream time base */
	int64_t		astart;
	int64_t		next_vpts;
	AVFrame    *frame;
	AVFrame    *filt;
	AVPacket   *pkt;
	AVPacket   *opkt;
	tc_probe	probe;
	int64_t		decoded;
	int			decode_errors;
	double		last_report;
	double		t0;
} tc;

/* The only containers vtp opens; never playlists (hls, concat, ...). */
#define FORMAT_WHITELIST "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mpegts"

extern double now_s(void);
extern int	fail_av(const char *code, int exitcode, const char *what, int err);

/* probe.c */
extern int	open_input(tc *t);
extern int	open_decoder(tc *t, int idx, AVCodecContext **out);

/* audio.c */
extern int	setup_audio(tc *t);
extern int	write_audio(tc *t, AVFrame *f);
extern int	drain_audio(tc *t, int flush);

#endif
