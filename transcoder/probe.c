/*
 * probe.c — open the source, strictly: only the file protocol and the
 * supported containers; find the video and default audio streams; read the
 * probe facts (size, rotation, HDR, frame rate, bitrate) and refuse what is
 * over the limits before anything is decoded. Every decoder, the probe's
 * included, is one of TC_CODEC_WHITELIST and capped at max-width x
 * max-height pixels (max_pixels).
 */
#include "pipeline.h"

#include <limits.h>

#include <libavutil/avstring.h>

/* What the file looks like to libavformat's probe, for a clear refusal. */
static const char *
sniff_format(const char *path)
{
	static unsigned char buf[4096 + AVPROBE_PADDING_SIZE];
	AVProbeData pd;
	const AVInputFormat *f;
	FILE	   *fp = fopen(path, "rb");
	int			score = 0;

	if (fp == NULL)
		return NULL;
	memset(buf, 0, sizeof(buf));
	pd.buf_size = (int) fread(buf, 1, 4096, fp);
	fclose(fp);
	pd.buf = buf;
	pd.filename = "";
	pd.mime_type = NULL;
	f = av_probe_input_format3(&pd, 1, &score);
	return f && score > AVPROBE_SCORE_RETRY ? f->name : NULL;
}

/* Picture sizes the container declares, checked before anything is decoded. */
static int
check_declared_sizes(tc *t)
{
	for (unsigned i = 0; i < t->ic->nb_streams; i++)
	{
		AVCodecParameters *p = t->ic->streams[i]->codecpar;

		if (p->codec_type == AVMEDIA_TYPE_VIDEO &&
			(p->width > t->opt->max_width || p->height > t->opt->max_height))
		{
			tc_report_error(VTP_HELPER_ERR_TOO_LARGE, "picture %dx%d exceeds the limit %dx%d",
							p->width, p->height, t->opt->max_width, t->opt->max_height);
			return VTP_HELPER_EXIT_MEDIA;
		}
	}
	if ((int) t->ic->nb_streams > t->opt->max_streams)
	{
		tc_report_error(VTP_HELPER_ERR_TOO_MANY_STREAMS, "source has %u streams; the limit is %d",
						t->ic->nb_streams, t->opt->max_streams);
		return VTP_HELPER_EXIT_MEDIA;
	}
	return 0;
}

/* The decoder options every decoder gets: the picture size cap, the whitelist. */
static void
decoder_options(const tc *t, AVDictionary **o)
{
	int64_t		px = (int64_t) t->opt->max_width * t->opt->max_height;

	av_dict_set_int(o, "max_pixels", px > INT_MAX ? INT_MAX : px, 0);
	av_dict_set(o, "codec_whitelist", TC_CODEC_WHITELIST, 0);
}

/* avformat_find_stream_info with the decoders' limits (it decodes a few frames of each stream). */
static int
find_stream_info(tc *t)
{
	AVDictionary **opts = av_calloc(t->ic->nb_streams ? t->ic->nb_streams : 1, sizeof(*opts));
	unsigned	i,
				n = t->ic->nb_streams;
	int			ret;

	if (opts == NULL)
		return AVERROR(ENOMEM);
	for (i = 0; i < n; i++)
		decoder_options(t, &opts[i]);
	ret = avformat_find_stream_info(t->ic, opts);
	for (i = 0; i < n; i++)
		av_dict_free(&opts[i]);
	av_free(opts);
	return ret;
}

/* avformat_open_input with the whitelists; a clear refusal of what vtp does not open. */
static int
open_format(tc *t)
{
	AVDictionary *o = NULL;
	int			ret;
	const char *seen;
	char		e[AV_ERROR_MAX_STRING_SIZE];

	av_dict_set(&o, "protocol_whitelist", "file", 0);
	av_dict_set(&o, "format_whitelist", FORMAT_WHITELIST, 0);
	av_dict_set(&o, "max_streams", "64", 0);
	av_dict_set(&o, "codec_whitelist", TC_CODEC_WHITELIST, 0);
	ret = avformat_open_input(&t->ic, t->opt->input, NULL, &o);
	av_dict_free(&o);
	if (ret >= 0)
		return 0;
	seen = sniff_format(t->opt->input);
	if (seen && !av_match_list(seen, FORMAT_WHITELIST, ','))
	{
		tc_report_error(VTP_HELPER_ERR_UNREADABLE, "not a video file vtp can read: it is %s, which vtp does not open "
						"(only MP4/MOV, Matroska/WebM, AVI and MPEG-TS; never playlists)", seen);
		return VTP_HELPER_EXIT_MEDIA;
	}
	if (seen)
	{
		av_strerror(ret, e, sizeof(e));
		tc_report_error(VTP_HELPER_ERR_UNREADABLE, "the file starts like %s but cannot be opened: it is truncated or damaged (%s)",
						strncmp(seen, "mov", 3) == 0 ? "MP4/MOV" : seen, e);
		return VTP_HELPER_EXIT_MEDIA;
	}
	return tc_fail_av(VTP_HELPER_ERR_UNREADABLE, VTP_HELPER_EXIT_MEDIA, "not a video file vtp can read", ret);
}

/* The video stream (never a cover picture) and the default audio track, else libavformat's best. */
static int
choose_streams(tc *t)
{
	t->vidx = av_find_best_stream(t->ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (t->vidx < 0 || (t->ic->streams[t->vidx]->disposition & AV_DISPOSITION_ATTACHED_PIC))
	{
		tc_report_error(VTP_HELPER_ERR_NO_VIDEO, "source has no video stream (%s)",
						t->ic->nb_streams ? "audio or data only" : "no streams at all");
		return VTP_HELPER_EXIT_MEDIA;
	}
	/* the default audio track, else the one libavformat thinks best */
	t->aidx = -1;
	for (unsigned i = 0; i < t->ic->nb_streams; i++)
		if (t->ic->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO &&
			(t->ic->streams[i]->disposition & AV_DISPOSITION_DEFAULT))
		{
			t->aidx = (int) i;
			break;
		}
	if (t->aidx < 0)
		t->aidx = av_find_best_stream(t->ic, AVMEDIA_TYPE_AUDIO, -1, t->vidx, NULL, 0);
	if (t->aidx < 0)
		t->aidx = -1;
	t->probe.audio_stream = t->aidx;
	t->probe.audio_channels = t->aidx >= 0 ? t->ic->streams[t->aidx]->codecpar->ch_layout.nb_channels : 0;
	return 0;
}

/* The probe facts of video stream st: size, codec, interlace, HDR, bitrate, duration, rotation, fps. */
static void
read_facts(tc *t, AVStream *st)
{
	const uint8_t *sd;

	t->probe.width = st->codecpar->width;
	t->probe.height = st->codecpar->height;
	t->probe.has_audio = t->aidx >= 0;
	t->probe.video_codec = avcodec_get_name(st->codecpar->codec_id);
	t->probe.pix_fmt = av_get_pix_fmt_name((enum AVPixelFormat) st->codecpar->format);
	t->probe.interlaced = st->codecpar->field_order != AV_FIELD_PROGRESSIVE &&
		st->codecpar->field_order != AV_FIELD_UNKNOWN;
	t->probe.hdr = st->codecpar->color_trc == AVCOL_TRC_SMPTE2084 ||
		st->codecpar->color_trc == AVCOL_TRC_ARIB_STD_B67;
	t->probe.video_bitrate = st->codecpar->bit_rate;
	if (t->probe.video_bitrate <= 0 && t->ic->bit_rate > 0)
		t->probe.video_bitrate = t->ic->bit_rate - (t->aidx >= 0 ? 128000 : 0);
	if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
		t->probe.duration = st->duration * av_q2d(st->time_base);
	else if (t->ic->duration != AV_NOPTS_VALUE && t->ic->duration > 0)
		t->probe.duration = t->ic->duration / (double) AV_TIME_BASE;

	sd = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
	if (sd)
	{
		double		theta = -av_display_rotation_get((const int32_t *) sd);

		if (!isnan(theta))
		{
			theta -= 360 * floor(theta / 360 + 0.9 / 360);
			t->probe.rotation = ((int) lround(theta / 90) * 90) % 360;
		}
	}
	t->fps = av_guess_frame_rate(t->ic, st, NULL);
	if (t->fps.num <= 0 || t->fps.den <= 0 || av_q2d(t->fps) < 1 || av_q2d(t->fps) > 120)
		t->fps = (AVRational) {30, 1};
	t->fps = av_make_q(t->fps.num, t->fps.den);
	av_reduce(&t->fps.num, &t->fps.den, t->fps.num, t->fps.den, 1001000);
	t->probe.fps_num = t->fps.num;
	t->probe.fps_den = t->fps.den;
}

/* The probe facts against the limits: a picture size, not over the maximum, nor the duration. */
static int
check_facts(tc *t)
{
	if (t->probe.width <= 0 || t->probe.height <= 0)
	{
		tc_report_error(VTP_HELPER_ERR_UNREADABLE, "video stream has no picture size");
		return VTP_HELPER_EXIT_MEDIA;
	}
	if (t->probe.width > t->opt->max_width || t->probe.height > t->opt->max_height)
	{
		tc_report_error(VTP_HELPER_ERR_TOO_LARGE, "picture %dx%d exceeds the limit %dx%d",
						t->probe.width, t->probe.height, t->opt->max_width, t->opt->max_height);
		return VTP_HELPER_EXIT_MEDIA;
	}
	if (t->probe.duration > t->opt->max_duration)
	{
		tc_report_error(VTP_HELPER_ERR_TOO_LONG, "duration %.0f s exceeds the limit %.0f s",
						t->probe.duration, t->opt->max_duration);
		return VTP_HELPER_EXIT_MEDIA;
	}
	return 0;
}

/* Open the source strictly, choose its streams, read and check its facts (see the file's header). */
int
tc_open_input(tc *t)
{
	int			ret;
	AVStream   *st;
	struct stat st_in;
	int64_t		start;

	if (stat(t->opt->input, &st_in) == 0 && st_in.st_size == 0)
	{
		tc_report_error(VTP_HELPER_ERR_EMPTY, "the file is empty (0 bytes)");
		return VTP_HELPER_EXIT_MEDIA;
	}
	if ((ret = open_format(t)) != 0)
		return ret;
	if ((ret = check_declared_sizes(t)) != 0)
		return ret;
	ret = find_stream_info(t);
	if (ret < 0)
		return tc_fail_av(VTP_HELPER_ERR_UNREADABLE, VTP_HELPER_EXIT_MEDIA, "could not read stream information", ret);
	if ((int) t->ic->nb_streams > t->opt->max_streams)
	{
		tc_report_error(VTP_HELPER_ERR_TOO_MANY_STREAMS, "source has %u streams; the limit is %d",
						t->ic->nb_streams, t->opt->max_streams);
		return VTP_HELPER_EXIT_MEDIA;
	}
	if ((ret = choose_streams(t)) != 0)
		return ret;
	st = t->ic->streams[t->vidx];
	read_facts(t, st);
	if ((ret = check_facts(t)) != 0)
		return ret;
	start = t->ic->start_time == AV_NOPTS_VALUE ? 0 : t->ic->start_time;
	t->vstart = av_rescale_q(start, AV_TIME_BASE_Q, st->time_base);
	if (t->aidx >= 0)
		t->astart = av_rescale_q(start, AV_TIME_BASE_Q, t->ic->streams[t->aidx]->time_base);
	return 0;
}

/* A decoder for stream idx: one of TC_CODEC_WHITELIST, capped at max_pixels. */
int
tc_open_decoder(tc *t, int idx, AVCodecContext **out)
{
	AVStream   *st = t->ic->streams[idx];
	const AVCodec *dec = avcodec_find_decoder(st->codecpar->codec_id);
	AVCodecContext *c;
	AVDictionary *o = NULL;
	int			ret;

	if (dec == NULL)
	{
		tc_report_error(VTP_HELPER_ERR_UNSUPPORTED_CODEC, "no decoder for %s", avcodec_get_name(st->codecpar->codec_id));
		return VTP_HELPER_EXIT_MEDIA;
	}
	if (!av_match_list(dec->name, TC_CODEC_WHITELIST, ','))
	{
		tc_report_error(VTP_HELPER_ERR_UNSUPPORTED_CODEC, "vtp does not decode %s (decoder %s)",
						avcodec_get_name(st->codecpar->codec_id), dec->name);
		return VTP_HELPER_EXIT_MEDIA;
	}
	c = avcodec_alloc_context3(dec);
	if (c == NULL)
		return VTP_HELPER_EXIT_INTERNAL;
	*out = c;
	ret = avcodec_parameters_to_context(c, st->codecpar);
	if (ret < 0)
		return tc_fail_av(VTP_HELPER_ERR_UNREADABLE, VTP_HELPER_EXIT_MEDIA, "bad codec parameters", ret);
	c->pkt_timebase = st->time_base;
	c->thread_count = t->opt->threads;
	decoder_options(t, &o);
	ret = avcodec_open2(c, dec, &o);
	av_dict_free(&o);
	if (ret < 0)
		return tc_fail_av(VTP_HELPER_ERR_UNSUPPORTED_CODEC, VTP_HELPER_EXIT_MEDIA, "could not open the decoder", ret);
	return 0;
}
