/*
 * video.c — the video output side: one filter graph from the decoder to
 * every rung (rotate, deinterlace, tone-map, constant frame rate, split →
 * scale per rung), libx264 per rung, MP4 with faststart. Each rung's output
 * frames are bounded by t->max_frames (pipeline.c sets it from
 * --max-duration), so a file cannot make x264 encode more than that.
 */
#include "pipeline.h"

/* The video graph: [deinterlace, rotate, tone-map,] fps, split, one scale per rung. */
int
tc_setup_video_graph(tc *t)
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
		return VTP_HELPER_EXIT_INTERNAL;
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
		return tc_fail_av(VTP_HELPER_ERR_INTERNAL, VTP_HELPER_EXIT_INTERNAL, "could not build the video filter graph", ret);
	return 0;
}
/* One rung's libx264 (a slower preset from 1080p up, where the rate cap binds) and MP4 muxer, faststart. */
int
tc_open_rung(tc *t, rung_out *ro)
{
	const AVCodec *x264 = avcodec_find_encoder_by_name("libx264");
	AVCodecContext *e;
	AVDictionary *o = NULL;
	char		num[32];
	int			gop = (int) lround(2.0 * av_q2d(t->fps));
	int			ret;

	if (x264 == NULL)
	{
		tc_report_error(VTP_HELPER_ERR_INTERNAL, "libx264 is not available in this FFmpeg");
		return VTP_HELPER_EXIT_INTERNAL;
	}
	snprintf(ro->path, sizeof(ro->path), "%s/%s.mp4", t->opt->outdir, ro->r.name);
	ret = avformat_alloc_output_context2(&ro->oc, NULL, "mp4", ro->path);
	if (ret < 0)
		return tc_fail_av(VTP_HELPER_ERR_INTERNAL, VTP_HELPER_EXIT_INTERNAL, "could not create the MP4 muxer", ret);

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
		return tc_fail_av(VTP_HELPER_ERR_INTERNAL, VTP_HELPER_EXIT_INTERNAL, "could not open libx264", ret);

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
		return tc_fail_av(VTP_HELPER_ERR_INTERNAL, VTP_HELPER_EXIT_INTERNAL, "could not create the output file", ret);
	av_dict_set(&o, "movflags", "+faststart", 0);
	ret = avformat_write_header(ro->oc, &o);
	av_dict_free(&o);
	if (ret < 0)
		return tc_fail_av(VTP_HELPER_ERR_INTERNAL, VTP_HELPER_EXIT_INTERNAL, "could not write the MP4 header", ret);
	return 0;
}

/* One frame (NULL flushes) to the rung's encoder, its packets to its muxer. */
static int
write_video(tc *t, rung_out *ro, AVFrame *f)
{
	int			ret = avcodec_send_frame(ro->enc, f);

	if (ret < 0 && ret != AVERROR_EOF)
		return tc_fail_av(VTP_HELPER_ERR_INTERNAL, VTP_HELPER_EXIT_INTERNAL, "video encoding failed", ret);
	for (;;)
	{
		ret = avcodec_receive_packet(ro->enc, t->opkt);
		if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
			return 0;
		if (ret < 0)
			return tc_fail_av(VTP_HELPER_ERR_INTERNAL, VTP_HELPER_EXIT_INTERNAL, "video encoding failed", ret);
		/* FFmpeg 5.1's libx264 packets carry no duration */
		if (t->opkt->duration <= 0)
			t->opkt->duration = av_rescale_q(1, av_inv_q(t->fps), ro->enc->time_base);
		t->opkt->stream_index = ro->vst->index;
		av_packet_rescale_ts(t->opkt, ro->enc->time_base, ro->vst->time_base);
		ret = av_interleaved_write_frame(ro->oc, t->opkt);
		if (ret < 0)
			return tc_fail_av(VTP_HELPER_ERR_INTERNAL, VTP_HELPER_EXIT_INTERNAL, "could not write video", ret);
	}
}

/* Every filtered frame to its rung, each rung bounded by t->max_frames; flush: the encoders' tails. */
int
tc_drain_video(tc *t, int flush)
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
				tc_report_error(VTP_HELPER_ERR_TOO_LONG, "the %s output passes %lld frames, more than %.0f s at %d/%d fps allows",
								ro->r.name, (long long) t->max_frames, t->opt->max_duration, t->fps.num, t->fps.den);
				return VTP_HELPER_EXIT_MEDIA;
			}
			ret = write_video(t, ro, t->filt);
			av_frame_unref(t->filt);
			if (ret != 0)
				return ret;
		}
		if (ret != AVERROR(EAGAIN) && ret != AVERROR_EOF)
			return tc_fail_av(VTP_HELPER_ERR_INTERNAL, VTP_HELPER_EXIT_INTERNAL, "video filtering failed", ret);
		if (flush && (ret = write_video(t, ro, NULL)) != 0)
			return ret;
	}
	return 0;
}
