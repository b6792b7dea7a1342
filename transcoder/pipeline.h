/*
 * pipeline.h — the transcoder's shared state and the functions its files
 * give each other (probe.c: the input; audio.c: the audio path; video.c:
 * the video graph, encoders and muxers; pipeline.c: the main loop;
 * report_out.c: the report lines). Private to vtp-transcode.
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

#include "helper.h"
#include "buf.h"

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
	int64_t		last_vpts;		/* the previous video frame's, AV_NOPTS_VALUE before it */
	int64_t		max_frames;		/* per rung: (max_duration + one gap) at the output rate */
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

/*
 * The only decoders vtp runs (libavcodec decoder names, as codec_whitelist
 * matches them): what phones, cameras, browsers and editors upload in the
 * containers above, and what the media tests cover. Video: H.264, HEVC,
 * VP8, VP9, AV1 (dav1d, libavcodec's first AV1 decoder here), MPEG-2 and
 * MPEG-1 (broadcast TS, DVD rips), MPEG-4 part 2 and MS-MPEG4 v3 (AVI),
 * ProRes (editors' masters), Motion JPEG and DV (cameras and camcorders),
 * H.263 (3GP phones), WMV 1–3 and VC-1 (AVI and Matroska rips). Audio: AAC, MP3,
 * MP2, Opus, Vorbis, AC-3/E-AC-3, DTS, FLAC, ALAC, AMR-NB/WB (3GP), WMA v2
 * and the PCM layouts of MOV/AVI/MKV. Everything else (several hundred
 * decoders: game and legacy formats, images, subtitles, data) never sees a
 * byte.
 */
#define TC_CODEC_WHITELIST "h264,hevc,vp8,vp9,libdav1d,mpeg2video,mpeg1video,mpeg4,msmpeg4,prores," \
	"mjpeg,dvvideo,h263,vc1,wmv1,wmv2,wmv3," \
	"aac,aac_fixed,mp3float,mp3,mp2float,mp2,opus,vorbis,ac3,ac3_fixed,eac3,dca,flac,alac," \
	"amrnb,amrwb,wmav2," \
	"pcm_s16le,pcm_s16be,pcm_s24le,pcm_s24be,pcm_s32le,pcm_s32be,pcm_f32le,pcm_f32be,pcm_u8," \
	"pcm_alaw,pcm_mulaw"

/*
 * The longest jump forward between two consecutive video frames: the fps
 * filter fills a gap with copies of the last frame, so a timestamp jump of
 * hours would make it emit (and x264 encode) millions of frames.
 */
#define TC_MAX_GAP_S 10.0

/* report_out.c: a libav failure as an error line in libav's words; returns exitcode. */
extern int	tc_fail_av(const char *code, int exitcode, const char *what, int err);

/* probe.c: open the source under the limits and read its facts into t->probe; an exit code. */
extern int	tc_open_input(tc *t);

/* probe.c: open a whitelisted, size-capped decoder for stream idx into *out; an exit code. */
extern int	tc_open_decoder(tc *t, int idx, AVCodecContext **out);

/* video.c: the one video filter graph (rotate, deinterlace, tone-map, fps, split, scale per rung). */
extern int	tc_setup_video_graph(tc *t);

/* video.c: the x264 encoder and MP4 muxer of one rung, its header written. */
extern int	tc_open_rung(tc *t, rung_out *ro);

/* video.c: every filtered frame to its rung's encoder (flush: the encoders' tails too). */
extern int	tc_drain_video(tc *t, int flush);

/* audio.c: decoder, resampling graph and the one AAC encoder for t->aidx. */
extern int	tc_setup_audio(tc *t);

/* audio.c: every resampled frame to the encoder (flush: the encoder's tail too). */
extern int	tc_drain_audio(tc *t, int flush);

#endif
