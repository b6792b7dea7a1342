# 011_interrupted.pl — two smaller holes of the trust boundary, tried from
# the outside:
#  - a video that takes its worker down every time (here: the worker is
#    SIGKILLed mid-transcode, as a crash would) is retried only
#    vtp.max_attempts times, then Failed `interrupted`, instead of being
#    re-queued after every crash-restart for ever;
#  - LISTEN has no privilege check, so any role that can connect hears
#    vtp_status: its payload carries only id, status, previous status and
#    reason code — no key, no error message.
use strict;
use warnings;
use lib 'test/perl';
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use VtpTest;

my $s = start_emulator();
my $node = vtp_node('interrupted', $s, q{
vtp.max_attempts = 2
vtp.visibility_timeout = '10s'
vtp.transcode_threads = 1
restart_after_crash = on
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vtp');
sub sql { return $node->safe_psql('postgres', $_[0]); }

sql("CREATE ROLE regress_listener LOGIN");

# long enough to be killed mid-transcode (about 20 s of transcoding at one thread)
my $long = media('i720long.mp4', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30',
	'-f', 'lavfi', '-i', 'sine=frequency=300:sample_rate=48000', '-t', '30',
	'-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '1M', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest');

my $id = register($node, $s, 'uploads/crashy/video.mp4', $long);
for my $attempt (1 .. 2)
{
	my $worker = wait_until(120, sub {
		sql("SELECT pid FROM vtp_workers WHERE video_id = '$id' AND attempt = $attempt AND child_pid IS NOT NULL");
	});
	ok($worker, "attempt $attempt is transcoding in worker $worker");
	my $restarts = log_count($node, qr/all server processes terminated; reinitializing/);
	ok(kill('KILL', $worker), "attempt $attempt: the worker is SIGKILLed mid-transcode");
	ok(wait_until(60, sub { log_count($node, qr/all server processes terminated; reinitializing/) > $restarts }),
		"attempt $attempt: PostgreSQL crash-restarts");
	$node->poll_query_until('postgres', 'SELECT true') or die 'the server did not come back';
}
is(wait_status($node, $id, 60, 'Failed'), 'Failed',
	'after vtp.max_attempts interrupted attempts the video is Failed, not re-queued again');
is(sql("SELECT attempts || ' ' || error_code FROM vtp_videos WHERE id = '$id'"), '2 interrupted',
	'with attempts = vtp.max_attempts and the reason interrupted');
like(sql("SELECT error FROM vtp_videos WHERE id = '$id'"), qr/each of the 2 attempts/, 'and a message that says so');
sleep 3;
is(sql("SELECT status FROM vtp_videos WHERE id = '$id'"), 'Failed', 'and it stays Failed (no third claim)');
is(log_count($node, qr/video $id attempt 3/), 0, 'no third attempt was started');

# a normal video goes through, heard by a role with nothing but the right
# to connect (the crash-restarts above would have ended an earlier session)
my ($lin, $lout, $lerr) = ("LISTEN vtp_status;\n", '', '');
my $listener = IPC::Run::start([ 'psql', '-X', '-d', $node->connstr('postgres') . ' user=regress_listener' ],
	'<', \$lin, '>', \$lout, '2>', \$lerr);
$listener->pump while length $lin;
my $clip = media('i480.mp4', '-f', 'lavfi', '-i', 'testsrc2=size=854x480:rate=30',
	'-f', 'lavfi', '-i', 'sine=frequency=500:sample_rate=48000', '-t', '2',
	'-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest');
# (a long poll cut by a crash-restart may have been handed a message: it
# comes back after its visibility timeout, hence the longer wait)
awscli('put', 'temp-video-bucket', 'uploads/fine/video.mp4', $clip);
awscli('notify', $s->{events_queue_url}, 'temp-video-bucket', 'uploads/fine/video.mp4');
my $ok = wait_id($node, 'uploads/fine/video.mp4', 150);
ok($ok, 'the next video is registered');
is(wait_status($node, $ok, 180, 'Published', 'Failed'), 'Published', 'the next video is Published');
$lin .= "SELECT 1;\n\\q\n";
$listener->finish;
my @seen = map { decode_json($_) } $lout =~ /Asynchronous notification "vtp_status" with payload "(.*?)" received/g;
ok(scalar(@seen) >= 3, 'a role that may only connect hears vtp_status (LISTEN has no privilege check)');
my %keys = map { join(',', sort keys %$_) => 1 } @seen;
is(join(' | ', sort keys %keys), 'id,previous_status,reason,status',
	'so the payload has only id, status, previous_status and reason: no key, message or attempts');
unlike($lout, qr/uploads\//, 'no object key reaches the listener');

done_testing();
