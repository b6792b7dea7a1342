# 004_media.pl — the transcoder on real-world shapes of media, generated here
# with the ffmpeg CLI and transcoded by the installed vtp-transcode helper
# (the program the transcode worker runs), each output checked with ffprobe:
# dimensions, pix_fmt, profile, GOP, A/V durations, faststart, no rotation.
use strict;
use warnings;
use lib 'test/perl';
use File::Path qw(make_path remove_tree);
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Utils;
use Test::More;
use VtpTest;

my $pkglib = `pg_config --pkglibdir`;
chomp $pkglib;
my $helper = "$pkglib/vtp-transcode";
ok(-x $helper, "the helper is installed at $helper");

# run the helper; returns (exit code, [events])
sub transcode
{
	my ($src, $out, @args) = @_;
	remove_tree($out);
	make_path($out);
	my ($stdout, $stderr);
	IPC::Run::run([ $helper, '--input', $src, '--outdir', $out, @args ], '>', \$stdout, '2>', \$stderr);
	my $rc = $? >> 8;
	my @ev = map { decode_json($_) } grep { /^\{/ } split /\n/, $stdout;
	return ($rc, \@ev);
}

sub keyframe_times
{
	my ($file) = @_;
	my ($out, $err);
	IPC::Run::run([ 'ffprobe', '-v', 'error', '-select_streams', 'v', '-skip_frame', 'nokey', '-show_entries',
		'frame=pts_time', '-of', 'csv=p=0', $file ], '>', \$out, '2>', \$err);
	return [ map { $_ + 0 } grep { length } split /\n/, $out ];
}

# every output of one case
sub check_case
{
	my ($name, $src, $want, %o) = @_;
	my $dir = "$PostgreSQL::Test::Utils::tmp_check/out-$name";
	my ($rc, $ev) = transcode($src, $dir);
	is($rc, 0, "$name: transcoded") or return;
	my ($probe) = grep { $_->{event} eq 'probe' } @$ev;
	my @rend = grep { $_->{event} eq 'rendition' } @$ev;
	is_deeply([ map { "$_->{name} $_->{width}x$_->{height}" } @rend ], $want, "$name: renditions @$want");
	my $srcdur = ffprobe_json($src)->{format}{duration};
	for my $r (@rend)
	{
		my $f = "$dir/$r->{file}";
		my $p = ffprobe_json($f);
		my ($v) = grep { $_->{codec_type} eq 'video' } @{ $p->{streams} };
		my ($a) = grep { $_->{codec_type} eq 'audio' } @{ $p->{streams} };
		my $tag = "$name $r->{name}";
		is("$v->{codec_name} $v->{profile} $v->{pix_fmt} $v->{width}x$v->{height}",
			"h264 High yuv420p $r->{width}x$r->{height}", "$tag: H.264 High yuv420p, as reported");
		ok(!grep({ defined $_->{rotation} } @{ $v->{side_data_list} // [] }), "$tag: no rotation flag");
		cmp_ok(abs($v->{duration} - ($o{duration} // $srcdur)), '<=', 0.1, "$tag: video duration $v->{duration}");
		if ($o{audio})
		{
			is("$a->{codec_name} $a->{sample_rate} $a->{channels}", 'aac 48000 2', "$tag: AAC stereo 48 kHz");
			cmp_ok(abs($a->{duration} - $v->{duration}), '<=', 0.1, "$tag: audio $a->{duration} s within 0.1 s of video");
		}
		else
		{
			ok(!$a, "$tag: no audio track");
		}
		my $kf = keyframe_times($f);
		ok(@$kf >= 1 && !grep({ abs($_ / 2 - int($_ / 2 + 0.5)) > 0.02 } @$kf), "$tag: keyframes every 2 s (@$kf)");
		ok(moov_before_mdat($f), "$tag: faststart");
		$o{check}->($tag, $v, $p) if $o{check};
	}
	return ($probe, $ev);
}

my @av = ('-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100');

# rotated phone clip: stored landscape, display matrix 90°
# (FFmpeg 5.1 writes the display matrix from the rotate tag only on stream copy)
my $land = media('landscape.mp4', '-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30', @av, '-t', '2',
	'-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest');
my $rot = media('rotated.mp4', '-i', $land, '-c', 'copy', '-metadata:s:v:0', 'rotate=90');
my ($p) = check_case('rotated', $rot, [ '480p 480x854', '720p 720x1280', '1080p 1080x1920' ], audio => 1);
ok($p->{rotation} == 90 || $p->{rotation} == 270, "rotated: the display matrix was read ($p->{rotation})");

check_case('portrait', media('portrait.mp4', '-f', 'lavfi', '-i', 'testsrc2=size=1080x1920:rate=30', '-t', '2',
	'-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'), [ '480p 480x854', '720p 720x1280', '1080p 1080x1920' ]);

check_case('360p', media('small360.mp4', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', @av, '-t', '2',
	'-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest'),
	[ '360p 640x360' ], audio => 1);

check_case('odd', media('odd.mp4', '-f', 'lavfi', '-i', 'testsrc2=size=1365x769:rate=30', '-t', '2',
	'-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv444p'), [ '480p 852x480', '720p 1278x720' ]);

# audio only: Failed with a clear reason, exit 2 (permanent)
my ($rc, $ev) = transcode(media('audio.m4a', @av, '-t', '2', '-c:a', 'aac'), "$PostgreSQL::Test::Utils::tmp_check/out-audio");
is($rc, 2, 'audio only: a permanent failure');
like(join(' ', map { "$_->{code}: $_->{message}" } grep { $_->{event} eq 'error' } @$ev), qr/^no_video: source has no video stream/,
	'audio only: reason no_video');

# 10-bit 4K HEVC
($p) = check_case('hevc10-4k', media('hevc10.mkv', '-f', 'lavfi', '-i', 'testsrc2=size=3840x2160:rate=30', '-t', '1',
	'-c:v', 'libx265', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p10le', '-x265-params', 'log-level=error'),
	[ '480p 854x480', '720p 1280x720', '1080p 1920x1080' ]);
is("$p->{video_codec} $p->{pix_fmt}", 'hevc yuv420p10le', '4K HEVC: a 10-bit source, 8-bit out');

# HLG HDR (BT.2020): tone-mapped to SDR BT.709
($p) = check_case('hlg', media('hlg.mp4', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-t', '2',
	'-c:v', 'libx265', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p10le', '-x265-params', 'log-level=error',
	'-color_primaries', 'bt2020', '-color_trc', 'arib-std-b67', '-colorspace', 'bt2020nc', '-tag:v', 'hvc1'),
	[ '480p 854x480', '720p 1280x720' ], check => sub {
		my ($tag, $v) = @_;
		my ($out, $err);
		IPC::Run::run([ 'ffprobe', '-v', 'error', '-select_streams', 'v', '-show_entries',
			'stream=color_transfer,color_primaries,color_space', '-of', 'csv=p=0',
			"$PostgreSQL::Test::Utils::tmp_check/out-hlg/" . ($tag =~ /480p/ ? '480p' : '720p') . '.mp4' ], '>', \$out, '2>', \$err);
		chomp $out;
		is($out, 'bt709,bt709,bt709', "$tag: tagged BT.709 SDR");
	});
ok($p->{hdr}, 'HLG: recognised as HDR');

# variable frame rate: gaps in the timestamps, constant rate out
my $vfr = media('vfr.mp4', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-t', '3',
	'-vf', "select='not(mod(n\\,3))+between(n\\,30\\,59)'", '-vsync', 'vfr',
	'-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p');
check_case('vfr', $vfr, [ '480p 854x480', '720p 1280x720' ], check => sub {
	my ($tag, $v) = @_;
	my ($out, $err);
	IPC::Run::run([ 'ffprobe', '-v', 'error', '-select_streams', 'v', '-show_entries', 'packet=duration_time',
		'-of', 'csv=p=0', "$PostgreSQL::Test::Utils::tmp_check/out-vfr/" . ($tag =~ /480p/ ? '480p' : '720p') . '.mp4' ],
		'>', \$out, '2>', \$err);
	my %d = map { sprintf('%.4f', $_) => 1 } grep { length } split /\n/, $out;
	is(scalar(keys %d), 1, "$tag: every frame lasts the same (" . join(',', keys %d) . ')');
});

# interlaced (top field first): deinterlaced
($p) = check_case('interlaced', media('interlaced.mp4', '-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=25', '-t', '2',
	'-c:v', 'libx264', '-preset', 'ultrafast', '-flags', '+ildct+ilme', '-x264opts', 'tff=1', '-pix_fmt', 'yuv420p'),
	[ '480p 854x480', '720p 1280x720', '1080p 1920x1080' ], check => sub {
		my ($tag, $v) = @_;
		my ($out, $err);
		IPC::Run::run([ 'ffprobe', '-v', 'error', '-select_streams', 'v', '-show_entries', 'stream=field_order',
			'-of', 'csv=p=0', "$PostgreSQL::Test::Utils::tmp_check/out-interlaced/" . (split / /, $tag)[1] . '.mp4' ], '>', \$out, '2>', \$err);
		chomp $out;
		like($out, qr/^(progressive|)$/, "$tag: progressive out");
	});
ok($p->{interlaced}, 'interlaced: detected');

# VP9/Opus in WebM
check_case('webm', media('vp9.webm', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', @av, '-t', '2',
	'-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '1M', '-c:a', 'libopus', '-shortest'),
	[ '480p 854x480', '720p 1280x720' ], audio => 1);

# MKV with two audio tracks, the default one 5.1: that one, downmixed
my $mkv = media('two-audio.mkv', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30',
	'-f', 'lavfi', '-i', 'sine=frequency=300:sample_rate=48000',
	'-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=48000', '-t', '2',
	'-filter_complex', '[2:a]pan=5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0[six]',
	'-map', '0:v', '-map', '1:a', '-map', '[six]', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
	'-c:a', 'aac', '-disposition:a:0', '0', '-disposition:a:1', 'default', '-shortest');
($p) = check_case('mkv-5.1', $mkv, [ '480p 854x480', '720p 1280x720' ], audio => 1);
is("$p->{audio_stream} $p->{audio_channels}", '2 6', 'mkv: the default track (5.1) is the one used');

# MPEG-4 Part 2 in AVI
check_case('avi', media('mpeg4.avi', '-f', 'lavfi', '-i', 'testsrc2=size=640x480:rate=25', @av, '-t', '2',
	'-c:v', 'mpeg4', '-q:v', '5', '-c:a', 'libmp3lame', '-shortest'), [ '480p 640x480' ], audio => 1);

# what older cameras and phones upload: every decoder on the whitelist that
# real files need must be there (Motion JPEG + PCM in AVI, H.263 in 3GP,
# WMV2 + WMA2 in AVI, ALAC in MOV)
check_case('mjpeg', media('camera.avi', '-f', 'lavfi', '-i', 'testsrc2=size=640x480:rate=25', @av, '-t', '2',
	'-c:v', 'mjpeg', '-q:v', '5', '-c:a', 'pcm_s16le', '-shortest'), [ '480p 640x480' ], audio => 1);
check_case('3gp', media('phone.3gp', '-f', 'lavfi', '-i', 'testsrc2=size=352x288:rate=15', @av, '-t', '2',
	'-c:v', 'h263', '-c:a', 'aac', '-shortest'), [ '288p 352x288' ], audio => 1);
check_case('wmv', media('wmv2.avi', '-f', 'lavfi', '-i', 'testsrc2=size=640x480:rate=25', @av, '-t', '2',
	'-c:v', 'wmv2', '-c:a', 'wmav2', '-shortest'), [ '480p 640x480' ], audio => 1);
check_case('alac', media('alac.mov', '-f', 'lavfi', '-i', 'testsrc2=size=640x480:rate=25', @av, '-t', '2',
	'-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'alac', '-shortest'), [ '480p 640x480' ], audio => 1);

# MPEG-TS that starts late (timestamps offset), H.264 + AAC
check_case('mpegts', media('late.ts', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', @av, '-t', '2',
	'-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', '-output_ts_offset', '10'),
	[ '480p 854x480', '720p 1280x720' ], audio => 1);

# limits are checked before decoding
my $huge = media('huge.mp4', '-f', 'lavfi', '-i', 'color=size=8192x8192:rate=1', '-t', '1', '-c:v', 'libx264',
	'-preset', 'ultrafast', '-pix_fmt', 'yuv420p');
($rc, $ev) = transcode($huge, "$PostgreSQL::Test::Utils::tmp_check/out-huge");
is($rc, 2, '8192x8192: refused');
like(join(' ', map { "$_->{code}: $_->{message}" } grep { $_->{event} eq 'error' } @$ev), qr/^too_large: picture 8192x8192 exceeds the limit/,
	'8192x8192: reason too_large');
($rc, $ev) = transcode($rot, "$PostgreSQL::Test::Utils::tmp_check/out-long", '--max-duration', '1');
like(join(' ', map { $_->{code} } grep { $_->{event} eq 'error' } @$ev), qr/^too_long$/, 'over vtp.max_duration: too_long');

done_testing();
