/*
 * pipeline.c — one decode feeding every rendition: demux → decode → one
 * filter graph (rotate, deinterlace, tone-map, constant frame rate, split →
 * scale per rung) → libx264 per rung; MP4 with faststart; the main loop.
 * Follows FFmpeg's doc/examples/transcode.c, with the limits untrusted media
 * needs: the decoded timeline (not only the declared duration) is bounded by
 * --max-duration, a timestamp gap by TC_MAX_GAP_S, and each rung's output
 * frames by both; a failed run removes its partial outputs. The input is
 * opened in probe.c, audio handled in audio.c.
 */
#include "pipeline.h"

#include <unistd.h>

/* The video graph: [deinterlace, rotate, tone-map,] fps, split, one scale per rung. */
static int
setup_video_graph(tc *t)
{
	AVStream   *st = t->ic->streams[t->vidx];
	AVFilterInOut *outputs = avfilter_inout_alloc();
	AVFilterInOut *inputs = NULL;
	AVRational	sar = t->vdec->sample_aspect_ratio;
	vbuf		args = VBUF_INIT,
				desc = VBUF_INIT;
	int			ret,
				i;

	t->vgraph = avfilter_graph_alloc();
	if (t->vgraph == NULL || outputs == NULL)
		return EXIT_INTERNAL;
	t->vgraph->scale_sws_opts = av_strdup("flags=bicubic");
	if (sar.num <= 0 || sar.den <= 0)
		sar = (AVRational) {1, 1};
	vbuf_printf(&args, "video_size=%dx%d:pix_fmt=%d:time_base=%d/%d:pixel_aspect=%d/%d",
				t->vdec->width, t->vdec->height, t->vdec->pix_fmt,
				st->time_base.num, st->time_base.den, sar.num, sar.den);
	ret = avfilter_graph_create_filter(&t->vsrc, avfilter_get_by_name("buffer"), "in", args.data, NULL, t->vgraph);
	if (ret < 0)
		goto fail;
	for (i = t->nrungs - 1; i >= 0; i--)
	{
		char		name[16];
		AVFilterInOut *io = avfilter_inout_alloc();

		snprintf(name, sizeof(name), "out%d", i);
		ret = avfilter_graph_create_filter(&t->rungs[i].sink, avfilter_get_by_name("buffersink"), name, NULL, NULL, t->vgraph);
		if (ret < 0 || io == NULL)
			goto fail;
		io->name = av_strdup(name);
		io->filter_ctx = t->rungs[i].sink;
		io->pad_idx = 0;
		io->next = inputs;
		inputs = io;
	}
	outputs->name = av_strdup("in");
	outputs->filter_ctx = t->vsrc;
	outputs->pad_idx = 0;
	outputs->next = NULL;

	vbuf_puts(&desc, "[in]");
	if (t->probe.interlaced)
		vbuf_puts(&desc, "yadif=deint=interlaced,");
	if (t->probe.rotation == 90)
		vbuf_puts(&desc, "transpose=clock,");
	else if (t->probe.rotation == 180)
		vbuf_puts(&desc, "hflip,vflip,");
	else if (t->probe.rotation == 270)
		vbuf_puts(&desc, "transpose=cclock,");
	if (t->probe.hdr)
		/* PQ/HLG BT.2020 → SDR BT.709: linear light, Hable tone curve, back to BT.709 */
		vbuf_puts(&desc, "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,"
				  "tonemap=tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=tv,format=yuv420p,");
	vbuf_printf(&desc, "fps=%d/%d,split=%d", t->fps.num, t->fps.den, t->nrungs);
	for (i = 0; i < t->nrungs; i++)
		vbuf_printf(&desc, "[s%d]", i);
	for (i = 0; i < t->nrungs; i++)
		vbuf_printf(&desc, ";[s%d]scale=%d:%d,setsar=1,format=yuv420p[out%d]",
					i, t->rungs[i].r.width, t->rungs[i].r.height, i);
	ret = avfilter_graph_parse_ptr(t->vgraph, desc.data, &inputs, &outputs, NULL);
	if (ret >= 0)
		ret = avfilter_graph_config(t->vgraph, NULL);
fail:
	avfilter_inout_free(&inputs);
	avfilter_inout_free(&outputs);
	vbuf_free(&args);
	vbuf_free(&desc);
	if (ret < 0)
		return fail_av("internal", EXIT_INTERNAL, "could not build the video filter graph", ret);
	return 0;
}


static int
open_rung(tc *t, rung_out *ro)
{
	const AVCodec *x264 = avcodec_find_encoder_by_name("libx264");
	AVCodecContext *e;
	AVDictionary *o = NULL;
	char		num[32];
	int			gop = (int) lround(2.0 * av_q2d(t->fps));
	int			ret;

	if (x264 == NULL)
	{
		tc_report_error("internal", "libx264 is not available in this FFmpeg");
		return EXIT_INTERNAL;
	}
	snprintf(ro->path, sizeof(ro->path), "%s/%s.mp4", t->opt->outdir, ro->r.name);
	ret = avformat_alloc_output_context2(&ro->oc, NULL, "mp4", ro->path);
	if (ret < 0)
		return fail_av("internal", EXIT_INTERNAL, "could not create the MP4 muxer", ret);

	e = ro->enc = avcodec_alloc_context3(x264);
	e->width = ro->r.width;
	e->height = ro->r.height;
	e->pix_fmt = AV_PIX_FMT_YUV420P;
	e->sample_aspect_ratio = (AVRational) {1, 1};
	e->time_base = av_buffersink_get_time_base(ro->sink);
	e->framerate = t->fps;
	e->gop_size = gop;
	e->keyint_min = gop;
	e->rc_max_rate = ro->r.maxrate;
	e->rc_buffer_size = (int) ro->r.bufsize;
	e->thread_count = t->opt->threads;
	e->color_range = AVCOL_RANGE_MPEG;
	if (t->probe.hdr || t->vdec->colorspace == AVCOL_SPC_BT2020_NCL || t->vdec->colorspace == AVCOL_SPC_BT2020_CL)
	{
		/* tone-mapped (or wide-gamut tagged): the output is BT.709 */
		e->colorspace = AVCOL_SPC_BT709;
		e->color_primaries = AVCOL_PRI_BT709;
		e->color_trc = AVCOL_TRC_BT709;
	}
	else
	{
		e->colorspace = t->vdec->colorspace;
		e->color_primaries = t->vdec->color_primaries;
		e->color_trc = t->vdec->color_trc;
	}
	e->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	{
		/* the top rungs are where the rate cap binds: a slower preset pays there */
		bool		hd = ro->r.short_side >= 1080;

		av_dict_set(&o, "preset", hd ? t->opt->hd_preset : t->opt->preset, 0);
		snprintf(num, sizeof(num), "%g", hd ? t->opt->hd_crf : t->opt->crf);
	}
	av_dict_set(&o, "profile", "high", 0);
	av_dict_set(&o, "crf", num, 0);
	av_dict_set(&o, "x264-params", "scenecut=0:open-gop=0", 0);
	ret = avcodec_open2(e, x264, &o);
	av_dict_free(&o);
	if (ret < 0)
		return fail_av("internal", EXIT_INTERNAL, "could not open libx264", ret);

	ro->vst = avformat_new_stream(ro->oc, NULL);
	avcodec_parameters_from_context(ro->vst->codecpar, e);
	ro->vst->time_base = e->time_base;
	ro->vst->avg_frame_rate = t->fps;
	if (t->aenc)
	{
		ro->ast = avformat_new_stream(ro->oc, NULL);
		avcodec_parameters_from_context(ro->ast->codecpar, t->aenc);
		ro->ast->time_base = t->aenc->time_base;
	}
	ret = avio_open(&ro->oc->pb, ro->path, AVIO_FLAG_WRITE);
	if (ret < 0)
		return fail_av("internal", EXIT_INTERNAL, "could not create the output file", ret);
	av_dict_set(&o, "movflags", "+faststart", 0);
	ret = avformat_write_header(ro->oc, &o);
	av_dict_free(&o);
	if (ret < 0)
		return fail_av("internal", EXIT_INTERNAL, "could not write the MP4 header", ret);
	return 0;
}

static int
write_video(tc *t, rung_out *ro, AVFrame *f)
{
	int			ret = avcodec_send_frame(ro->enc, f);

	if (ret < 0 && ret != AVERROR_EOF)
		return fail_av("internal", EXIT_INTERNAL, "video encoding failed", ret);
	for (;;)
	{
		ret = avcodec_receive_packet(ro->enc, t->opkt);
		if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
			return 0;
		if (ret < 0)
			return fail_av("internal", EXIT_INTERNAL, "video encoding failed", ret);
		/* FFmpeg 5.1's libx264 packets carry no duration */
		if (t->opkt->duration <= 0)
			t->opkt->duration = av_rescale_q(1, av_inv_q(t->fps), ro->enc->time_base);
		t->opkt->stream_index = ro->vst->index;
		av_packet_rescale_ts(t->opkt, ro->enc->time_base, ro->vst->time_base);
		ret = av_interleaved_write_frame(ro->oc, t->opkt);
		if (ret < 0)
			return fail_av("internal", EXIT_INTERNAL, "could not write video", ret);
	}
}

static int
drain_video(tc *t, int flush)
{
	int			i,
				ret;

	for (i = 0; i < t->nrungs; i++)
	{
		rung_out   *ro = &t->rungs[i];

		while ((ret = av_buffersink_get_frame(ro->sink, t->filt)) >= 0)
		{
			t->filt->pict_type = AV_PICTURE_TYPE_NONE;
			if (++ro->frames > t->max_frames)
			{
				av_frame_unref(t->filt);
				tc_report_error("too_long", "the %s output passes %lld frames, more than %.0f s at %d/%d fps allows",
								ro->r.name, (long long) t->max_frames, t->opt->max_duration, t->fps.num, t->fps.den);
				return EXIT_MEDIA;
			}
			ret = write_video(t, ro, t->filt);
			av_frame_unref(t->filt);
			if (ret != 0)
				return ret;
		}
		if (ret != AVERROR(EAGAIN) && ret != AVERROR_EOF)
			return fail_av("internal", EXIT_INTERNAL, "video filtering failed", ret);
		if (flush && (ret = write_video(t, ro, NULL)) != 0)
			return ret;
	}
	return 0;
}



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
		tc_report_error("too_long", "decoded %s reaches %.1f s, past the limit of %.0f s (the file declares %.1f s)",
						video ? "video" : "audio", at, t->opt->max_duration, t->probe.duration);
		return EXIT_MEDIA;
	}
	if (video && t->last_vpts != AV_NOPTS_VALUE && (pts - t->last_vpts) * av_q2d(tb) > TC_MAX_GAP_S)
	{
		tc_report_error("too_long", "the video jumps from %.1f s to %.1f s: a gap over %.0f s would be filled "
						"with copies of one frame", t->last_vpts * av_q2d(tb), at, TC_MAX_GAP_S);
		return EXIT_MEDIA;
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
				return fail_av("unreadable", EXIT_MEDIA, "video frame rejected by the filter graph", ret);
			ret = drain_video(t, 0);
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
				return fail_av("unreadable", EXIT_MEDIA, "audio frame rejected by the filter graph", ret);
			ret = drain_audio(t, 0);
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
		tc_report_error("truncated", "the video stops at %.1f s of the %.1f s the file declares: it is truncated or damaged",
						got, want);
		return EXIT_MEDIA;
	}
	return 0;
}

static void
report_plan(tc *t, const ladder_plan *plan)
{
	vbuf		b = VBUF_INIT;
	int			i;

	vbuf_printf(&b, "{\"event\":\"probe\",\"width\":%d,\"height\":%d,\"rotation\":%d,\"duration\":%.3f,"
				"\"fps\":%.3f,\"video_bitrate\":%lld,\"interlaced\":%s,\"hdr\":%s,\"audio\":%s,"
				"\"audio_stream\":%d,\"audio_channels\":%d,\"video_codec\":",
				t->probe.width, t->probe.height, t->probe.rotation, t->probe.duration,
				t->probe.fps_num / t->probe.fps_den, (long long) t->probe.video_bitrate,
				t->probe.interlaced ? "true" : "false", t->probe.hdr ? "true" : "false",
				t->probe.has_audio ? "true" : "false", t->probe.audio_stream, t->probe.audio_channels);
	vbuf_json_string(&b, t->probe.video_codec ? t->probe.video_codec : "");
	vbuf_puts(&b, ",\"pix_fmt\":");
	vbuf_json_string(&b, t->probe.pix_fmt ? t->probe.pix_fmt : "");
	vbuf_puts(&b, "}\n{\"event\":\"plan\",\"note\":");
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
			return fail_av("internal", EXIT_INTERNAL, "could not finish the MP4", ret);
		avio_closep(&ro->oc->pb);
		if (stat(ro->path, &st) != 0)
		{
			tc_report_error("internal", "output %s vanished", ro->path);
			return EXIT_INTERNAL;
		}
		printf("{\"event\":\"rendition\",\"name\":\"%s\",\"file\":\"%s.mp4\",\"width\":%d,\"height\":%d,"
			   "\"bytes\":%lld,\"bitrate\":%lld,\"duration\":%.3f,\"frames\":%lld}\n",
			   ro->r.name, ro->r.name, ro->r.width, ro->r.height, (long long) st.st_size,
			   dur > 0 ? (long long) (st.st_size * 8 / dur) : 0LL, dur, (long long) ro->frames);
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"event\":\"done\",\"cpu_seconds\":%.2f,\"wall_seconds\":%.2f,\"decode_errors\":%d}\n",
		   ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
		   now_s() - t->t0, t->decode_errors);
	fflush(stdout);
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

int
tc_run(const tc_options *opt)
{
	tc			t;
	ladder_plan plan;
	ladder_source src;
	char		err[256];
	int			ret,
				i;

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
	if ((ret = open_input(&t)) != 0)
		goto out;
	t.max_frames = (int64_t) ceil((opt->max_duration + TC_MAX_GAP_S) * av_q2d(t.fps)) + 2;
	src.width = t.probe.width;
	src.height = t.probe.height;
	src.rotation = t.probe.rotation;
	src.bitrate = t.probe.video_bitrate;
	if (ladder_plan_make(&src, opt->renditions, &plan, err, sizeof(err)) != 0)
	{
		tc_report_error("bad_plan", "%s", err);
		ret = EXIT_MEDIA;
		goto out;
	}
	report_plan(&t, &plan);
	t.nrungs = plan.nrungs;
	for (i = 0; i < plan.nrungs; i++)
		t.rungs[i].r = plan.rungs[i];

	if ((ret = open_decoder(&t, t.vidx, &t.vdec)) != 0)
		goto out;
	if (t.aidx >= 0 && (ret = setup_audio(&t)) != 0)
		goto out;
	if ((ret = setup_video_graph(&t)) != 0)
		goto out;
	for (i = 0; i < t.nrungs; i++)
		if ((ret = open_rung(&t, &t.rungs[i])) != 0)
			goto out;

	while ((ret = av_read_frame(t.ic, t.pkt)) >= 0)
	{
		int			idx = t.pkt->stream_index;

		ret = 0;
		if (idx == t.vidx || idx == t.aidx)
			ret = decode(&t, idx, t.pkt);
		av_packet_unref(t.pkt);
		if (ret != 0)
			goto out;
	}
	if (ret != AVERROR_EOF)
		t.decode_errors++;		/* a read error mid-file ends the input, as in ffmpeg */

	if ((ret = decode(&t, t.vidx, NULL)) != 0)
		goto out;
	if (t.decoded == 0)
	{
		tc_report_error("no_frames", "no video frame could be decoded");
		ret = EXIT_MEDIA;
		goto out;
	}
	if ((ret = check_complete(&t)) != 0)
		goto out;
	/* close at the end of the last frame, not its start, or fps drops it */
	if ((ret = av_buffersrc_close(t.vsrc, t.next_vpts, AV_BUFFERSRC_FLAG_PUSH)) < 0 ||
		(ret = drain_video(&t, 1)) != 0)
	{
		ret = ret < 0 ? EXIT_INTERNAL : ret;
		goto out;
	}
	if (t.aidx >= 0)
	{
		if ((ret = decode(&t, t.aidx, NULL)) != 0)
			goto out;
		if ((ret = av_buffersrc_add_frame_flags(t.asrc, NULL, 0)) < 0 || (ret = drain_audio(&t, 1)) != 0)
		{
			ret = ret < 0 ? EXIT_INTERNAL : ret;
			goto out;
		}
	}
	ret = finish(&t);
out:
	cleanup(&t, ret != 0);
	return ret;
}
