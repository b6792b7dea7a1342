# 006_hostile.pl — uploads from strangers. Playlists saved as .mp4 that point
# at local files and at a URL, tiny files claiming huge pictures, truncated,
# empty, text and audio-only files go through the whole pipeline (S3 event →
# worker → sandboxed transcoder) and each ends Failed with a clear reason, at
# the first attempt, with nothing in the output bucket. The transcoder makes
# no network connection (a listener the playlists point at sees none) and
# cannot read other files (its sandbox is checked); PostgreSQL never restarts.
# Keys with quotes and backslashes, and credentials, are checked too.
# The decoded timeline is bounded whatever the file declares (vtp.max_duration
# is 20 s here): files that lie about their duration, or jump their
# timestamps ahead, end too_long; a decoder vtp does not support is never run.
use strict;
use warnings;
use lib 'test/perl';
use File::Path qw(remove_tree);
use IO::Socket::INET;
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use VtpTest;

my $s = start_emulator();
my $node = vtp_node('hostile', $s, "vtp.transcode_workers = 2\nvtp.max_duration = 20\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vtp');
my $started = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');
my $tmp = $PostgreSQL::Test::Utils::tmp_check;

# what a demuxer would connect to if it followed a playlist
my $trap = IO::Socket::INET->new(Listen => 16, LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp')
  or die "listener: $!";
my $trap_url = 'http://127.0.0.1:' . $trap->sockport . '/segment.ts';

sub file_with
{
	my ($name, $content) = @_;
	my $path = "$tmp/$name";
	open(my $fh, '>:raw', $path) or die "$path: $!";
	print $fh $content;
	close $fh;
	return $path;
}

# a tiny rawvideo AVI whose headers claim a w×h picture
sub claims_size
{
	my ($w, $h) = @_;
	my $raw = media('raw16.avi', '-f', 'lavfi', '-i', 'color=size=16x16:rate=1', '-frames:v', '1',
		'-c:v', 'rawvideo', '-pix_fmt', 'yuv420p');
	my $d = slurp_file($raw);
	my $i = index($d, 'avih');
	substr($d, $i + 8 + 32, 8) = pack('VV', $w, $h);
	my $j = index($d, 'strf');
	substr($d, $j + 8 + 4, 8) = pack('VV', $w, $h);
	return file_with("claims-${w}x$h.avi", $d);
}

my $clip = media('h-clip.mp4', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine',
	'-t', '6', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest',
	'-movflags', '+faststart');
my $clip_end = media('h-clip-moov-end.mp4', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-t', '6',
	'-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p');
my $audio = media('h-audio.mp4', '-f', 'lavfi', '-i', 'sine', '-t', '3', '-c:a', 'aac');
my $full = slurp_file($clip);
my $full_end = slurp_file($clip_end);

# a Matroska file whose Duration element says 2 s, whatever it holds
sub declares_2s
{
	my ($name, @ffargs) = @_;
	my $d = slurp_file(media("real-$name", @ffargs));
	my $i = index($d, "\x44\x89\x88");
	die "no 8-byte Duration in $name" if $i < 0;
	substr($d, $i + 3, 8) = pack('d>', 2000.0);
	return file_with($name, $d);
}
my @x264 = ('-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p');
# 30 s of video (a minute would be as cheap) that says 2 s
my $lies = declares_2s('lies-2s.mkv', '-f', 'lavfi', '-t', '30', '-i', 'testsrc2=size=320x240:rate=10', @x264);
# 3 s of video and 30 s of audio, saying 2 s
my $alies = declares_2s('audio-lies-2s.mkv', '-f', 'lavfi', '-t', '3', '-i', 'testsrc2=size=320x240:rate=10',
	'-f', 'lavfi', '-t', '30', '-i', 'sine', @x264, '-c:a', 'aac');
# one second, a 14 s jump, two more seconds: 17 s in all, under the limit, but the
# fps filter would fill the gap with 140 copies of one frame
my $gap = media('gap-14s.mkv', '-f', 'lavfi', '-t', '3', '-i', 'testsrc2=size=320x240:rate=10', @x264,
	'-vf', "setpts='PTS+if(gte(N,10),14/TB,0)'", '-fps_mode', 'passthrough');
# a jump of three hours, declaring 2 s: millions of copies on main's helper
my $hours = declares_2s('gap-3h.mkv', '-f', 'lavfi', '-t', '2', '-i', 'testsrc2=size=320x240:rate=10', @x264,
	'-vf', "setpts='PTS+if(gte(N,10),10800/TB,0)'", '-fps_mode', 'passthrough');
my $theora = media('theora.mkv', '-f', 'lavfi', '-t', '2', '-i', 'testsrc2=size=320x240:rate=10', '-c:v', 'libtheora');

my @cases = (
	[ 'hls-local.mp4', file_with('hls-local.mp4', "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n"),
		'unreadable', qr/it is hls, which vtp does not open/ ],
	[ 'hls-url.mp4', file_with('hls-url.mp4', "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n$trap_url\n#EXT-X-ENDLIST\n"),
		'unreadable', qr/it is hls/ ],
	[ 'concat-local.mp4', file_with('concat-local.mp4', "ffconcat version 1.0\nfile '/etc/passwd'\nfile '/etc/hostname'\n"),
		'unreadable', qr/it is concat, which vtp does not open/ ],
	[ 'concat-url.mp4', file_with('concat-url.mp4', "ffconcat version 1.0\nfile '$trap_url'\n"),
		'unreadable', qr/it is concat/ ],
	[ 'claims-8192.mp4', claims_size(8192, 8192), 'too_large', qr/picture 8192x8192 exceeds the limit 7680x4320/ ],
	[ 'claims-16384.mp4', claims_size(16384, 16384), 'too_large', qr/picture 16384x16384 exceeds/ ],
	[ 'truncated.mp4', file_with('truncated.mp4', substr($full, 0, int(length($full) / 2))),
		'truncated', qr/the video stops at .* of the 6\.0 s the file declares/ ],
	[ 'no-index.mp4', file_with('no-index.mp4', substr($full_end, 0, int(length($full_end) / 2))),
		'unreadable', qr/starts like MP4\/MOV but cannot be opened: it is truncated or damaged/ ],
	[ 'empty.mp4', file_with('empty.mp4', ''), 'empty', qr/the file is empty/ ],
	[ 'text.mp4', file_with('text.mp4', "Dear diary, today I uploaded a text file.\n" x 40),
		'unreadable', qr/not a video file vtp can read/ ],
	[ 'audio-only.mp4', $audio, 'no_video', qr/no video stream/ ],
	[ 'lies-2s.mkv', $lies, 'too_long', qr/decoded video reaches 20\.\d s, past the limit of 20 s \(the file declares 2\.0 s\)/ ],
	[ 'audio-lies-2s.mkv', $alies, 'too_long', qr/decoded audio reaches 20\.\d s, past the limit of 20 s/ ],
	[ 'gap-14s.mkv', $gap, 'too_long', qr/the video jumps from 0\.9 s to 15\.0 s: a gap over 10 s/ ],
	[ 'gap-3h.mkv', $hours, 'too_long', qr/decoded video reaches 1080\d\.\d s, past the limit of 20 s \(the file declares 2\.0 s\)/ ],
	[ 'theora.mkv', $theora, 'unsupported_codec', qr/vtp does not decode theora/ ],
);

my %id;
for my $c (@cases)
{
	my ($name, $file) = @$c;
	$id{$name} = register($node, $s, "uploads/hostile/$name", $file);
}
for my $c (@cases)
{
	my ($name, $file, $code, $re) = @$c;
	my $id = $id{$name};
	is(wait_status($node, $id, 120, 'Failed', 'Published'), 'Failed', "$name: Failed");
	my ($got_code, $msg, $attempts) = split /\|/,
	  $node->safe_psql('postgres', "SELECT error_code, error, attempts FROM vtp_videos WHERE id = '$id'");
	is($got_code, $code, "$name: reason $code");
	like($msg, $re, "$name: says why ($msg)");
	is($attempts, '1', "$name: at once, no retries");
	is(awscli('list', 'output-video-bucket', "videos/$id/"), '', "$name: nothing in the output bucket");
}

$trap->blocking(0);
my $peer = $trap->accept;
ok(!$peer, 'no transcoder connected to the URL the playlists name');
is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $started, 'PostgreSQL did not restart');
unlike(slurp_file($node->logfile), qr/terminated by signal|server process .* was terminated/,
	'no backend or worker crashed');

# the sandbox the transcoder runs in, as the transcoder reports it
{
	my $pkglib = `pg_config --pkglibdir`;
	chomp $pkglib;
	my $out = "$tmp/sandbox-out";
	mkdir $out;
	my ($o, $e);
	IPC::Run::run([ "$pkglib/vtp-transcode", '--check-sandbox', '--input', $clip, '--outdir', $out ], '>', \$o, '2>', \$e);
	my $r = decode_json($o);
	is($r->{mode}, 'required', 'sandbox: Landlock is required by default');
	ok($r->{landlock} && $r->{landlock_abi} >= 1, "sandbox: Landlock in force (ABI $r->{landlock_abi})");
	is($r->{seccomp}, 'allowlist', 'sandbox: seccomp is an allowlist');
	is($r->{socket}, 'refused', 'sandbox: no socket can be opened (seccomp)');
	is($r->{io_uring}, 'refused', 'sandbox: no io_uring (sockets without socket(2))');
	is($r->{exec}, 'refused', 'sandbox: no program can be started (seccomp)');
	is($r->{fork}, 'refused', 'sandbox: no process can be forked');
	is($r->{signal_parent}, 'refused', 'sandbox: its parent cannot be signalled');
	is($r->{read_source}, 'allowed', 'sandbox: the source can be read');
	is($r->{write_outdir}, 'allowed', 'sandbox: the output directory can be written');
	is($r->{read_other_file}, 'refused', 'sandbox: no other file can be read (Landlock)');
	diag('figure: sandbox ' . $o);

	# a transcode's first report line is the sandbox in force, before the probe
	remove_tree($out);
	mkdir $out;
	IPC::Run::run([ "$pkglib/vtp-transcode", '--input', $clip, '--outdir', $out, '--renditions', '480p' ],
		'>', \$o, '2>', \$e);
	my @lines = split /\n/, $o;
	like($lines[0], qr/^\{"event":"sandbox","mode":"required","landlock_abi":\d+,"landlock":true,"seccomp":"allowlist"\}$/,
		'the first report line is the sandbox in force');
	like($lines[1], qr/^\{"event":"probe"/, 'then the probe');
	like($lines[-1], qr/^\{"event":"done"/, 'and the transcode works inside it');

	# a picture over the limit hidden mid-stream (MPEG-TS declares no size: the first
	# SPS says 320x240, a later one 8192x4320): max_pixels, it is never decoded
	my $small = slurp_file(media('small-part.ts', '-f', 'lavfi', '-t', '2', '-i', 'testsrc2=size=320x240:rate=10', @x264));
	my $big = slurp_file(media('big-part.ts', '-f', 'lavfi', '-t', '0.2', '-i', 'color=size=8192x4320:rate=10', @x264,
		'-output_ts_offset', '2'));
	my $mixed = file_with('grows-mid-stream.ts', $small . $big);
	remove_tree($out);
	mkdir $out;
	IPC::Run::run([ "$pkglib/vtp-transcode", '--input', $mixed, '--outdir', $out ], '>', \$o, '2>', \$e);
	my @ev = map { decode_json($_) } grep { /^\{/ } split /\n/, $o;
	my ($done) = grep { $_->{event} eq 'done' } @ev;
	my ($rend) = grep { $_->{event} eq 'rendition' } @ev;
	ok($done && $done->{decode_errors} >= 1, 'a mid-stream picture over max-width x max-height is refused by the decoder');
	is($rend && $rend->{frames}, 20, 'and only the 20 frames within the limit are encoded');
}

# keys with quotes, backslashes and non-ASCII, through the S3 event path (every statement is parameterised)
{
	my $key = "uploads/keys/it's \"quoted\" \\ back \x{e9}t\x{e9} \$1; DROP TABLE vtp_videos;--.mp4";
	utf8::encode($key);
	my $id = register($node, $s, $key, $clip);
	is(wait_status($node, $id, 120, 'Published', 'Failed'), 'Published', 'a key with quotes, a backslash and SQL in it is Published');
	my $stored = $node->safe_psql('postgres', "SELECT key FROM vtp_videos WHERE id = '$id'");
	is($stored, $key, 'and stored exactly');
}

# credentials never show: not in settings, activity, views, rows or the log
{
	my $secret = $VtpTest::SECRET_KEY;
	my $seen = $node->safe_psql('postgres', q{
		SELECT string_agg(x, ' ') FROM (
		  SELECT setting AS x FROM pg_settings WHERE name LIKE 'vtp.%'
		  UNION ALL SELECT query FROM pg_stat_activity WHERE backend_type LIKE 'vtp %'
		  UNION ALL SELECT row_to_json(w)::text FROM vtp_workers w
		  UNION ALL SELECT row_to_json(v)::text FROM vtp_videos v
		  UNION ALL SELECT row_to_json(f)::text FROM vtp_failures f) t});
	unlike($seen, qr/\Q$secret\E|\Q$VtpTest::ACCESS_KEY\E/, 'no credential in settings, pg_stat_activity, the views or the rows');
	unlike(slurp_file($node->logfile), qr/\Q$secret\E/, 'no secret key in the server log');
}

$node->stop('fast');
done_testing();
