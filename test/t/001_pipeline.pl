# 001_pipeline.pl — the core pipeline end to end: an object in the S3 temp
# bucket, announced by an S3 notification (the one emulated step: the
# emulator delivers none, so the harness sends S3's exact JSON), becomes a
# Published video with 480p/720p/1080p renditions in the output bucket.
use strict;
use warnings;
use lib 'test/perl';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use IPC::Run;
use JSON::PP;
use Test::More;
use Time::HiRes qw(time sleep);
use VtpTest;

my $s = start_emulator();
my $node = vtp_node('pipeline', $s);
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vtp');

# an application LISTENing for status changes (psql prints them after a command)
my ($lin, $lout, $lerr) = ("LISTEN vtp_status;\n", '', '');
my $listener = IPC::Run::start([ 'psql', '-X', '-d', $node->connstr('postgres') ], '<', \$lin, '>', \$lout, '2>', \$lerr);
$listener->pump while length $lin;    # LISTEN now, before anything happens

# workers show up as Postgres processes with clear backend types
$node->poll_query_until('postgres',
	"SELECT count(*) = 2 FROM pg_stat_activity WHERE backend_type IN ('vtp ingest', 'vtp transcode')")
  or die 'vtp workers did not start';
pass('ingest and transcode workers run, named in pg_stat_activity');

# a 1080p clip with motion, noise and audio
my $src = media('clip1080.mp4', '-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30,noise=alls=6:allf=t',
	'-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-t', '6',
	'-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '6M', '-pix_fmt', 'yuv420p',
	'-c:a', 'aac', '-b:a', '128k', '-shortest');
my $srcdur = ffprobe_json($src)->{format}{duration};
my $key = "uploads/t1/holiday clip (2026) +1.mp4";

# the same notification, three times: one row, one transcode
awscli('put', 'temp-video-bucket', $key, $src);
my $t0 = time();
awscli('notify', $s->{events_queue_url}, 'temp-video-bucket', $key, '3');

my $id;
for (1 .. 400)
{
	$id = $node->safe_psql('postgres', "SELECT id FROM vtp_videos WHERE key = \$\$$key\$\$");
	last if $id;
	sleep 0.05;
}
ok($id, 'the notification registered the video');
is(wait_status($node, $id, 240, 'Published', 'Failed'), 'Published', 'the video is Published');
my $elapsed = time() - $t0;
diag(sprintf('figure: 6 s 1080p clip, notification to Published: %.1f s', $elapsed));

my $row = $node->safe_psql('postgres',
	"SELECT attempts, output_bucket, output_key, error IS NULL, transcode_cpu_seconds > 0 FROM vtp_videos WHERE id = '$id'");
is($row, "1|output-video-bucket|videos/$id/|t|t", 'one attempt, output location recorded');
diag('figure: its transcode took ' . $node->safe_psql('postgres', "SELECT transcode_cpu_seconds FROM vtp_videos WHERE id = '$id'") . ' CPU s');
is($node->safe_psql('postgres', "SELECT count(*) FROM vtp_videos WHERE bucket = 'temp-video-bucket' AND key = \$\$$key\$\$"),
	'1', 'three deliveries of one notification made one row');

# renditions: sizes, codecs, durations, faststart
my @r = split /\n/, $node->safe_psql('postgres',
	"SELECT name, key, width, height, bytes FROM vtp_renditions WHERE video_id = '$id' ORDER BY height");
is(scalar(@r), 3, 'three renditions recorded');
my %want = ('480p' => [ 854, 480 ], '720p' => [ 1280, 720 ], '1080p' => [ 1920, 1080 ]);
my @listed = split /\n/, awscli('list', 'output-video-bucket', "videos/$id/");
is_deeply([ sort @listed ], [ sort map { "videos/$id/$_.mp4" } keys %want ], 'exactly the three files are in the output bucket');
for my $line (@r)
{
	my ($name, $rkey, $w, $h, $bytes) = split /\|/, $line;
	is_deeply([ $w, $h ], $want{$name}, "$name recorded at $w x $h");
	my $file = "$PostgreSQL::Test::Utils::tmp_check/$name.mp4";
	awscli('get', 'output-video-bucket', $rkey, $file);
	is(-s $file, $bytes, "$name: size in S3 matches the row");
	my $p = ffprobe_json($file);
	my ($v) = grep { $_->{codec_type} eq 'video' } @{ $p->{streams} };
	my ($a) = grep { $_->{codec_type} eq 'audio' } @{ $p->{streams} };
	is("$v->{codec_name} $v->{profile} $v->{pix_fmt} $v->{width}x$v->{height}",
		"h264 High yuv420p $want{$name}[0]x$want{$name}[1]", "$name: H.264 High yuv420p at the right size");
	is("$a->{codec_name} $a->{sample_rate} $a->{channels}", 'aac 48000 2', "$name: AAC stereo 48 kHz");
	cmp_ok(abs($v->{duration} - $srcdur), '<=', 0.1, "$name: video duration $v->{duration} within 0.1 s of $srcdur");
	cmp_ok(abs($a->{duration} - $srcdur), '<=', 0.1, "$name: audio duration $a->{duration} within 0.1 s of $srcdur");
	ok(moov_before_mdat($file), "$name: moov before mdat (faststart)");
}

# the original is gone from the temp bucket; one transcode ran; no task left
like(awscli('head', 'temp-video-bucket', $key), qr/"status":404/, 'the original was deleted from the temp bucket');
is(log_count($node, qr/video $id attempt \d+: transcoder pid/), 1, 'one transcode for three notifications');
my $left;
for (1 .. 40)
{
	$left = awscli('count', $s->{tasks_queue_url}) + awscli('count', $s->{events_queue_url});
	last if $left == 0;
	sleep 0.25;
}
is($left, 0, 'no task or event message is left in the queues');

# a text file named .mp4 ends Failed with a reason, and nothing crashes
my $start_time = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');
my $txt = "$PostgreSQL::Test::Utils::tmp_check/notes.mp4";
append_to_file($txt, "these are my holiday notes, not a video\n" x 50);
awscli('put', 'temp-video-bucket', 'uploads/t2/notes.mp4', $txt);
awscli('notify', $s->{events_queue_url}, 'temp-video-bucket', 'uploads/t2/notes.mp4');
my $bad;
for (1 .. 400)
{
	$bad = $node->safe_psql('postgres', "SELECT id FROM vtp_videos WHERE key = 'uploads/t2/notes.mp4'");
	last if $bad;
	sleep 0.05;
}
is(wait_status($node, $bad, 120, 'Failed', 'Published'), 'Failed', 'a text file named .mp4 ends Failed');
like($node->safe_psql('postgres', "SELECT error_code || ': ' || error FROM vtp_videos WHERE id = '$bad'"),
	qr/^unreadable: not a video file vtp can read/, 'with a clear reason');
is($node->safe_psql('postgres', "SELECT attempts FROM vtp_videos WHERE id = '$bad'"), '1', 'and no retries');
is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $start_time, 'PostgreSQL did not restart');

# vtp_enqueue: the SQL entrance for an object already in S3
my $key3 = "uploads/t3/it's \"quoted\" \\ back.mp4";
awscli('put', 'temp-video-bucket', $key3, $src);
my $qk = $key3 =~ s/'/''/gr;
my $id3 = $node->safe_psql('postgres', "SELECT vtp_enqueue('temp-video-bucket', '$qk')");
like($id3, qr/^[0-9a-f-]{36}$/, 'vtp_enqueue returns the video id');
is($node->safe_psql('postgres', "SELECT vtp_enqueue('temp-video-bucket', '$qk')"), $id3,
	'vtp_enqueue of the same object returns the same id');
is(wait_status($node, $id3, 240, 'Published', 'Failed'), 'Published', 'an enqueued video is Published');
my ($ret, $out, $err) = $node->psql('postgres', "SELECT vtp_enqueue('temp-video-bucket', 'uploads/none.mp4')",
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/42704.*does not exist/s, 'vtp_enqueue of a missing object: SQLSTATE 42704 and a reason');

# the LISTENing session saw the video's life, in order
$lin .= "SELECT 1;\n\\q\n";
$listener->finish;
my @seen = map { JSON::PP::decode_json($_) } $lout =~ /Asynchronous notification "vtp_status" with payload "(.*?)" received/g;
my @mine = grep { $_->{id} eq $id } @seen;
is(join(' ', map { ($_->{previous_status} // '-') . '>' . $_->{status} } @mine), '->Pending Pending>Processing Processing>Published',
	'NOTIFY vtp_status: Pending, Processing, Published');
my ($failed) = grep { $_->{id} eq $bad && $_->{status} eq 'Failed' } @seen;
is($failed && $failed->{reason}, 'unreadable', 'a Failed notification carries the reason');

# the workers stop within seconds on a fast shutdown
my $t1 = time();
$node->stop('fast');
my $stop = time() - $t1;
cmp_ok($stop, '<', 5, 'pg_ctl stop -m fast stops the workers within 5 s');
diag(sprintf('figure: pg_ctl stop -m fast took %.2f s', $stop));
unlike(slurp_file($node->logfile), qr/AKIA|$VtpTest::SECRET_KEY/, 'no credential appears in the server log');

done_testing();
