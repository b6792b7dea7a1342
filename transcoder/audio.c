/*
 * audio.c — the audio path: the chosen track decoded, resampled to stereo
 * 48 kHz (downmixing 5.1), AAC-encoded once, and every packet muxed into
 * every rendition.
 */
#include "pipeline.h"

static int	write_audio(tc *t, AVFrame *f);

/* The decoder, the resampling graph (stereo 48 kHz) and the one AAC encoder. */
int
tc_setup_audio(tc *t)
{
	AVStream   *st = t->ic->streams[t->aidx];
	const AVCodec *aac = avcodec_find_encoder(AV_CODEC_ID_AAC);
	AVChannelLayout in_layout = {0};
	AVFilterInOut *outputs = avfilter_inout_alloc();
	AVFilterInOut *inputs = avfilter_inout_alloc();
	AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
	char		layout[128];
	vbuf		args = VBUF_INIT;
	int			ret;

	ret = tc_open_decoder(t, t->aidx, &t->adec);
	if (ret != 0)
		return ret;
	if (t->adec->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || t->adec->ch_layout.nb_channels == 0)
		av_channel_layout_default(&in_layout, t->adec->ch_layout.nb_channels > 0 ? t->adec->ch_layout.nb_channels : 2);
	else
		av_channel_layout_copy(&in_layout, &t->adec->ch_layout);
	av_channel_layout_describe(&in_layout, layout, sizeof(layout));
	av_channel_layout_uninit(&in_layout);

	t->aenc = avcodec_alloc_context3(aac);
	t->aenc->sample_rate = 48000;
	av_channel_layout_copy(&t->aenc->ch_layout, &stereo);
	t->aenc->sample_fmt = AV_SAMPLE_FMT_FLTP;
	t->aenc->bit_rate = t->opt->audio_bitrate;
	t->aenc->time_base = (AVRational) {1, 48000};
	t->aenc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	ret = avcodec_open2(t->aenc, aac, NULL);
	if (ret < 0)
		return tc_fail_av(VTP_HELPER_ERR_INTERNAL, VTP_HELPER_EXIT_INTERNAL, "could not open the AAC encoder", ret);

	t->agraph = avfilter_graph_alloc();
	vbuf_printf(&args, "time_base=%d/%d:sample_rate=%d:sample_fmt=%s:channel_layout=%s",
				st->time_base.num, st->time_base.den, t->adec->sample_rate,
				av_get_sample_fmt_name(t->adec->sample_fmt), layout);
	ret = avfilter_graph_create_filter(&t->asrc, avfilter_get_by_name("abuffer"), "ain", args.data, NULL, t->agraph);
	if (ret >= 0)
		ret = avfilter_graph_create_filter(&t->asink, avfilter_get_by_name("abuffersink"), "aout", NULL, NULL, t->agraph);
	if (ret >= 0)
	{
		outputs->name = av_strdup("in");
		outputs->filter_ctx = t->asrc;
		inputs->name = av_strdup("out");
		inputs->filter_ctx = t->asink;
		ret = avfilter_graph_parse_ptr(t->agraph,
									   "[in]aresample=48000,aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo[out]",
									   &inputs, &outputs, NULL);
	}
	if (ret >= 0)
		ret = avfilter_graph_config(t->agraph, NULL);
	avfilter_inout_free(&inputs);
	avfilter_inout_free(&outputs);
	vbuf_free(&args);
	if (ret < 0)
		return tc_fail_av(VTP_HELPER_ERR_UNREADABLE, VTP_HELPER_EXIT_MEDIA, "could not build the audio filter graph", ret);
	av_buffersink_set_frame_size(t->asink, (unsigned) t->aenc->frame_size);
	return 0;
}

/* One frame (NULL flushes) to AAC; every packet into every rendition. */
static int
write_audio(tc *t, AVFrame *f)
{
	int			ret = avcodec_send_frame(t->aenc, f);
	int			i;

	if (ret < 0 && ret != AVERROR_EOF)
		return tc_fail_av(VTP_HELPER_ERR_INTERNAL, VTP_HELPER_EXIT_INTERNAL, "audio encoding failed", ret);
	for (;;)
	{
		ret = avcodec_receive_packet(t->aenc, t->pkt);
		if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
			return 0;
		if (ret < 0)
			return tc_fail_av(VTP_HELPER_ERR_INTERNAL, VTP_HELPER_EXIT_INTERNAL, "audio encoding failed", ret);
		/* encoded once, muxed into every rendition */
		for (i = 0; i < t->nrungs; i++)
		{
			rung_out   *ro = &t->rungs[i];

			av_packet_ref(t->opkt, t->pkt);
			t->opkt->stream_index = ro->ast->index;
			av_packet_rescale_ts(t->opkt, t->aenc->time_base, ro->ast->time_base);
			ret = av_interleaved_write_frame(ro->oc, t->opkt);
			if (ret < 0)
			{
				av_packet_unref(t->pkt);
				return tc_fail_av(VTP_HELPER_ERR_INTERNAL, VTP_HELPER_EXIT_INTERNAL, "could not write audio", ret);
			}
		}
		av_packet_unref(t->pkt);
	}
}

/* Every resampled frame to the encoder; flush: the encoder's tail too. */
int
tc_drain_audio(tc *t, int flush)
{
	int			ret;

	while ((ret = av_buffersink_get_frame(t->asink, t->filt)) >= 0)
	{
		ret = write_audio(t, t->filt);
		av_frame_unref(t->filt);
		if (ret != 0)
			return ret;
	}
	if (ret != AVERROR(EAGAIN) && ret != AVERROR_EOF)
		return tc_fail_av(VTP_HELPER_ERR_INTERNAL, VTP_HELPER_EXIT_INTERNAL, "audio filtering failed", ret);
	return flush ? write_audio(t, NULL) : 0;
}
