# 002_workers.pl — the workers behave as Postgres processes: a transcoder
# child killed with SIGSEGV mid-encode is a retried attempt, not a crash of
# the worker or a restart of PostgreSQL; settings reload on SIGHUP.
use strict;
use warnings;
use lib 'test/perl';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use VtpTest;

my $s = start_emulator();
my $node = vtp_node('workers', $s, "vtp.transcode_threads = 1\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vtp');
my $start_time = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');

sub register
{
	my ($key, $file) = @_;
	awscli('put', 'temp-video-bucket', $key, $file);
	awscli('notify', $s->{events_queue_url}, 'temp-video-bucket', $key);
	my $id;
	for (1 .. 400)
	{
		$id = $node->safe_psql('postgres', "SELECT id FROM vtp_videos WHERE key = '$key'");
		return $id if $id;
		sleep 0.05;
	}
	die "video $key was not registered";
}

# long enough to catch the child at work (one codec thread)
my $clip = media('clip20.mp4', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30',
	'-f', 'lavfi', '-i', 'sine=frequency=300:sample_rate=48000', '-t', '20',
	'-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '3M', '-pix_fmt', 'yuv420p',
	'-c:a', 'aac', '-shortest');
my $id = register('uploads/crash/clip.mp4', $clip);

my $pid;
for (1 .. 600)
{
	($pid) = slurp_file($node->logfile) =~ /video $id attempt 1: transcoder pid (\d+) started/;
	last if $pid;
	sleep 0.05;
}
ok($pid, "transcoder child $pid started");
# let it get into the encode, then crash it
$node->poll_query_until('postgres', "SELECT progress > 5 FROM vtp_videos WHERE id = '$id'")
  or diag('progress was not reported before the kill');
ok(kill('SEGV', $pid), 'SIGSEGV sent to the transcoder mid-encode');

is(wait_status($node, $id, 240, 'Published', 'Failed'), 'Published', 'the video is Published after the crash');
is($node->safe_psql('postgres', "SELECT attempts FROM vtp_videos WHERE id = '$id'"), '2', 'on the second attempt');
like(slurp_file($node->logfile), qr/video $id attempt 1: transcoder killed by signal 11/,
	'the crash is logged as the child\'s');
is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $start_time,
	'PostgreSQL did not crash-restart');
is($node->safe_psql('postgres', "SELECT string_agg(name, ',' ORDER BY height) FROM vtp_renditions WHERE video_id = '$id'"),
	'480p,720p', 'a 720p source: 480p and 720p, recorded once');

# settings reload on SIGHUP: the next video gets the new ladder
$node->safe_psql('postgres', "ALTER SYSTEM SET vtp.renditions = '480p'");
$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
sleep 1;
my $small = media('small.mp4', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25', '-t', '2',
	'-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p');
my $id2 = register('uploads/reload/small.mp4', $small);
is(wait_status($node, $id2, 120, 'Published', 'Failed'), 'Published', 'a video without audio is Published');
is($node->safe_psql('postgres', "SELECT string_agg(name || ' ' || width || 'x' || height, ',') FROM vtp_renditions WHERE video_id = '$id2'"),
	'480p 854x480', 'after a reload, vtp.renditions = 480p gives one rendition');
my $file = "$PostgreSQL::Test::Utils::tmp_check/noaudio.mp4";
awscli('get', 'output-video-bucket', "videos/$id2/480p.mp4", $file);
is(scalar(grep { $_->{codec_type} eq 'audio' } @{ ffprobe_json($file)->{streams} }), 0,
	'no audio in, video-only rendition out');

$node->stop('fast');
done_testing();
