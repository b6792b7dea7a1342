/*
 * pipeline.c — one decode feeding every rendition, the main loop: demux →
 * decode → the video graph and encoders (video.c) and the audio path
 * (audio.c) → the report's rendition and done lines (report_out.c).
 * Follows FFmpeg's doc/examples/transcode.c, with the limits untrusted media
 * needs: the decoded timeline (not only the declared duration) is bounded by
 * --max-duration, a timestamp gap by TC_MAX_GAP_S, and each rung's output
 * frames by both; a failed run removes its partial outputs. The input is
 * opened in probe.c.
 */
#include "pipeline.h"

#include <unistd.h>

/* Seconds on the monotonic clock. */
static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A progress line at most once a second: how far the decoded video is, how fast. */
static void
maybe_report(tc *t, int64_t pts)
{
	double		now = now_s();

	if (now - t->last_report < 1.0 || t->probe.duration <= 0)
		return;
	t->last_report = now;
	{
		double		media = pts * av_q2d(t->ic->streams[t->vidx]->time_base);
		double		pct = 100.0 * media / t->probe.duration;
		double		speed = media / (now - t->t0);
		double		eta = speed > 0 ? (t->probe.duration - media) / speed : -1;

		tc_report_progress(pct < 0 ? 0 : pct > 99.9 ? 99.9 : pct, speed, media > 0 ? eta : -1);
	}
}

/*
 * The decoded timeline, whatever the file declares: a frame past
 * --max-duration, or a jump forward of more than TC_MAX_GAP_S between two
 * video frames (which the fps filter would fill with copies), is too_long.
 */
static int
check_timeline(tc *t, bool video, int64_t pts)
{
	AVRational	tb = t->ic->streams[video ? t->vidx : t->aidx]->time_base;
	double		at = pts * av_q2d(tb);

	if (at > t->opt->max_duration)
	{
		tc_report_error(VTP_HELPER_ERR_TOO_LONG, "decoded %s reaches %.1f s, past the limit of %.0f s (the file declares %.1f s)",
						video ? "video" : "audio", at, t->opt->max_duration, t->probe.duration);
		return VTP_HELPER_EXIT_MEDIA;
	}
	if (video && t->last_vpts != AV_NOPTS_VALUE && (pts - t->last_vpts) * av_q2d(tb) > TC_MAX_GAP_S)
	{
		tc_report_error(VTP_HELPER_ERR_TOO_LONG, "the video jumps from %.1f s to %.1f s: a gap over %.0f s would be filled "
						"with copies of one frame", t->last_vpts * av_q2d(tb), at, TC_MAX_GAP_S);
		return VTP_HELPER_EXIT_MEDIA;
	}
	if (video)
		t->last_vpts = pts;
	return 0;
}

/* Decode one packet (NULL flushes) of stream idx and push frames on. */
static int
decode(tc *t, int idx, AVPacket *pkt)
{
	int			video = idx == t->vidx;
	AVCodecContext *dec = video ? t->vdec : t->adec;
	int			ret = avcodec_send_packet(dec, pkt);

	if (ret < 0 && ret != AVERROR_EOF)
	{
		/* a corrupt packet: skip it, as players do */
		t->decode_errors++;
		return 0;
	}
	for (;;)
	{
		ret = avcodec_receive_frame(dec, t->frame);
		if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
			break;
		if (ret < 0)
		{
			t->decode_errors++;
			break;
		}
		if (video)
		{
			int64_t		pts = t->frame->best_effort_timestamp;

			pts = (pts == AV_NOPTS_VALUE) ? t->next_vpts : pts - t->vstart;
			t->frame->pts = pts;
			t->next_vpts = pts + (t->frame->pkt_duration > 0 ? t->frame->pkt_duration : 1);
			t->decoded++;
			if ((ret = check_timeline(t, true, pts)) != 0)
			{
				av_frame_unref(t->frame);
				return ret;
			}
			maybe_report(t, pts);
			ret = av_buffersrc_add_frame_flags(t->vsrc, t->frame, 0);
			if (ret < 0)
				return tc_fail_av(VTP_HELPER_ERR_UNREADABLE, VTP_HELPER_EXIT_MEDIA, "video frame rejected by the filter graph", ret);
			ret = tc_drain_video(t, 0);
		}
		else
		{
			if (t->frame->best_effort_timestamp != AV_NOPTS_VALUE)
			{
				t->frame->pts = t->frame->best_effort_timestamp - t->astart;
				if ((ret = check_timeline(t, false, t->frame->pts)) != 0)
				{
					av_frame_unref(t->frame);
					return ret;
				}
			}
			ret = av_buffersrc_add_frame_flags(t->asrc, t->frame, 0);
			if (ret < 0)
				return tc_fail_av(VTP_HELPER_ERR_UNREADABLE, VTP_HELPER_EXIT_MEDIA, "audio frame rejected by the filter graph", ret);
			ret = tc_drain_audio(t, 0);
		}
		av_frame_unref(t->frame);
		if (ret != 0)
			return ret;
	}
	return 0;
}

/*
 * A source whose video stops well before the duration its container
 * declares is truncated or damaged: failing beats publishing half a video.
 * (Durations estimated from the bit rate, as in MPEG-TS, are not trusted.)
 */
static int
check_complete(tc *t)
{
	double		got = t->next_vpts * av_q2d(t->ic->streams[t->vidx]->time_base);
	double		want = t->probe.duration;

	if (want <= 0 || t->ic->duration_estimation_method == AVFMT_DURATION_FROM_BITRATE)
		return 0;
	if (got < want * 0.9 && want - got > 1.0)
	{
		tc_report_error(VTP_HELPER_ERR_TRUNCATED, "the video stops at %.1f s of the %.1f s the file declares: it is truncated or damaged",
						got, want);
		return VTP_HELPER_EXIT_MEDIA;
	}
	return 0;
}

/* Write every rung's trailer; a rendition line each, then done. */
static int
finish(tc *t)
{
	int			i;
	struct rusage ru;

	for (i = 0; i < t->nrungs; i++)
	{
		rung_out   *ro = &t->rungs[i];
		struct stat st;
		double		dur = ro->frames / av_q2d(t->fps);
		int			ret = av_write_trailer(ro->oc);

		if (ret < 0)
			return tc_fail_av(VTP_HELPER_ERR_INTERNAL, VTP_HELPER_EXIT_INTERNAL, "could not finish the MP4", ret);
		avio_closep(&ro->oc->pb);
		if (stat(ro->path, &st) != 0)
		{
			tc_report_error(VTP_HELPER_ERR_INTERNAL, "output %s vanished", ro->path);
			return VTP_HELPER_EXIT_INTERNAL;
		}
		tc_report_rendition(&ro->r, (int64_t) st.st_size, dur, ro->frames);
	}
	getrusage(RUSAGE_SELF, &ru);
	tc_report_done(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
				   now_s() - t->t0, t->decode_errors);
	return 0;
}

/* Free everything; after a failure, remove the partial outputs too. */
static void
cleanup(tc *t, bool failed)
{
	int			i;

	for (i = 0; i < t->nrungs; i++)
	{
		if (t->rungs[i].oc)
		{
			if (t->rungs[i].oc->pb)
				avio_closep(&t->rungs[i].oc->pb);
			avformat_free_context(t->rungs[i].oc);
			if (failed)
				unlink(t->rungs[i].path);
		}
		avcodec_free_context(&t->rungs[i].enc);
	}
	avcodec_free_context(&t->aenc);
	avcodec_free_context(&t->vdec);
	avcodec_free_context(&t->adec);
	avfilter_graph_free(&t->vgraph);
	avfilter_graph_free(&t->agraph);
	avformat_close_input(&t->ic);
	av_frame_free(&t->frame);
	av_frame_free(&t->filt);
	av_packet_free(&t->pkt);
	av_packet_free(&t->opkt);
}

/* Plan the rungs for the probe (the plan line), then open the decoders, the graphs and the rungs. */
static int
plan_and_open(tc *t)
{
	ladder_plan plan;
	ladder_source src;
	char		err[256];
	int			ret,
				i;

	src.width = t->probe.width;
	src.height = t->probe.height;
	src.rotation = t->probe.rotation;
	src.bitrate = t->probe.video_bitrate;
	if (ladder_plan_make(&src, t->opt->renditions, &plan, err, sizeof(err)) != 0)
	{
		tc_report_error(VTP_HELPER_ERR_BAD_PLAN, "%s", err);
		return VTP_HELPER_EXIT_MEDIA;
	}
	tc_report_probe_plan(&t->probe, &plan);
	t->nrungs = plan.nrungs;
	for (i = 0; i < plan.nrungs; i++)
		t->rungs[i].r = plan.rungs[i];

	if ((ret = tc_open_decoder(t, t->vidx, &t->vdec)) != 0)
		return ret;
	if (t->aidx >= 0 && (ret = tc_setup_audio(t)) != 0)
		return ret;
	if ((ret = tc_setup_video_graph(t)) != 0)
		return ret;
	for (i = 0; i < t->nrungs; i++)
		if ((ret = tc_open_rung(t, &t->rungs[i])) != 0)
			return ret;
	return 0;
}

/* Demux and decode the whole input; a read error mid-file ends it, as in ffmpeg. */
static int
read_all(tc *t)
{
	int			ret;

	while ((ret = av_read_frame(t->ic, t->pkt)) >= 0)
	{
		int			idx = t->pkt->stream_index;

		ret = 0;
		if (idx == t->vidx || idx == t->aidx)
			ret = decode(t, idx, t->pkt);
		av_packet_unref(t->pkt);
		if (ret != 0)
			return ret;
	}
	if (ret != AVERROR_EOF)
		t->decode_errors++;		/* a read error mid-file ends the input, as in ffmpeg */
	return 0;
}

/* At the end of the input: flush the decoders, check the video is whole, flush graphs and encoders. */
static int
flush_all(tc *t)
{
	int			ret;

	if ((ret = decode(t, t->vidx, NULL)) != 0)
		return ret;
	if (t->decoded == 0)
	{
		tc_report_error(VTP_HELPER_ERR_NO_FRAMES, "no video frame could be decoded");
		return VTP_HELPER_EXIT_MEDIA;
	}
	if ((ret = check_complete(t)) != 0)
		return ret;
	/* close at the end of the last frame, not its start, or fps drops it */
	if ((ret = av_buffersrc_close(t->vsrc, t->next_vpts, AV_BUFFERSRC_FLAG_PUSH)) < 0 ||
		(ret = tc_drain_video(t, 1)) != 0)
		return ret < 0 ? VTP_HELPER_EXIT_INTERNAL : ret;
	if (t->aidx >= 0)
	{
		if ((ret = decode(t, t->aidx, NULL)) != 0)
			return ret;
		if ((ret = av_buffersrc_add_frame_flags(t->asrc, NULL, 0)) < 0 || (ret = tc_drain_audio(t, 1)) != 0)
			return ret < 0 ? VTP_HELPER_EXIT_INTERNAL : ret;
	}
	return 0;
}

/* The whole transcode: open, plan, read, flush, finish; on failure the partial outputs go. */
int
tc_run(const tc_options *opt)
{
	tc			t;
	int			ret;

	memset(&t, 0, sizeof(t));
	t.opt = opt;
	t.aidx = -1;
	t.t0 = now_s();
	av_log_set_level(AV_LOG_ERROR);
	t.frame = av_frame_alloc();
	t.filt = av_frame_alloc();
	t.pkt = av_packet_alloc();
	t.opkt = av_packet_alloc();

	t.last_vpts = AV_NOPTS_VALUE;
	if ((ret = tc_open_input(&t)) != 0)
		goto out;
	t.max_frames = (int64_t) ceil((opt->max_duration + TC_MAX_GAP_S) * av_q2d(t.fps)) + 2;
	if ((ret = plan_and_open(&t)) != 0 ||
		(ret = read_all(&t)) != 0 ||
		(ret = flush_all(&t)) != 0)
		goto out;
	ret = finish(&t);
out:
	cleanup(&t, ret != 0);
	return ret;
}
