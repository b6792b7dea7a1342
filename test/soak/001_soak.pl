# 001_soak.pl — `make soak`: a long run of 005_faults' kind. VTP_SOAK_VIDEOS
# uploads (default 100) go through two transcode workers while faults come
# one after another, at random: transcoder children SIGKILLed mid-encode,
# transcode workers SIGKILLed (PostgreSQL crash-restarts), immediate
# restarts, fast stops, S3/SQS outages. It ends with the same invariants:
# every video Published exactly once, nothing stuck, the output bucket
# holding exactly the Published renditions.
use strict;
use warnings;
use lib 'test/perl';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use VtpTest;

my $videos = $ENV{VTP_SOAK_VIDEOS} || 100;
my $seed = $ENV{VTP_SOAK_SEED} || time();
srand($seed);
diag("soak: $videos videos, seed $seed (VTP_SOAK_SEED repeats a run)");

my $s = start_emulator();
my $node = vtp_node('soak', $s, q{
vtp.transcode_workers = 2
vtp.transcode_threads = 1
vtp.visibility_timeout = '10s'
vtp.reconcile_interval = '2s'
vtp.task_resend_after = '20s'
vtp.orphan_object_age = '20s'
vtp.storage_outage_timeout = '300s'
vtp.max_attempts = 10
restart_after_crash = on
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vtp');
sub sql { return $node->safe_psql('postgres', $_[0]); }

my @clips = map {
	media("soak-$_.mp4", '-f', 'lavfi', '-i', "testsrc2=size=640x360:rate=30,hue=h=$_*40", '-f', 'lavfi', '-i',
		"sine=frequency=" . (300 + 50 * $_), '-t', 2 + $_, '-c:v', 'libx264', '-preset', 'ultrafast',
		'-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest')
} 1 .. 4;

my $batches = int(($videos + 9) / 10);
my $sent = 0;
my (%faults, %seen);
my $t0 = time();
for my $b (1 .. $batches)
{
	my $n = $videos - $sent > 10 ? 10 : $videos - $sent;
	my @keys = split /\n/, awscli('batch', $s->{events_queue_url}, 'temp-video-bucket',
		sprintf('uploads/soak/b%03d-', $b), $n, $clips[ $b % 4 ]);
	$sent += $n;
	# while the batch is worked on, kill children at random
	my $until = time() + 4 + rand(6);
	while (time() < $until)
	{
		for my $pid (split /\n/, sql('SELECT child_pid FROM vtp_workers WHERE child_pid IS NOT NULL'))
		{
			next if $seen{$pid}++ || rand() > 0.3;    # one child in three dies
			sleep(rand(0.5));
			$faults{'child SIGKILL'}++ if kill('KILL', $pid);
		}
		sleep 0.3;
	}
	# and one bigger fault now and then
	my $r = rand();
	if ($r < 0.15)
	{
		my ($w) = split /\n/, sql("SELECT pid FROM vtp_workers WHERE role = 'transcode' AND video_id IS NOT NULL");
		if ($w && kill('KILL', $w))
		{
			$faults{'worker SIGKILL'}++;
			sleep 3;
			$node->poll_query_until('postgres', 'SELECT true');
		}
	}
	elsif ($r < 0.25)
	{
		restart_immediate($node);
		$faults{'restart -m immediate'}++;
	}
	elsif ($r < 0.35)
	{
		$node->stop('fast');
		$node->start;
		$faults{'stop -m fast'}++;
	}
	elsif ($r < 0.45)
	{
		awscli('outage', 5 + int(rand(15)));
		$faults{'S3/SQS outage'}++;
		sleep 20;
	}
}
diag('soak: faults ' . join(', ', map { "$_ x$faults{$_}" } sort keys %faults));

ok($node->poll_query_until('postgres',
		"SELECT count(*) = $videos FROM vtp_videos WHERE key LIKE 'uploads/soak/%' AND status IN ('Published', 'Failed')"),
	"all $videos videos settled");
is(sql("SELECT count(*) FROM vtp_videos WHERE key LIKE 'uploads/soak/%' AND status = 'Published'"), $videos,
	"all $videos Published");
diag(sprintf('figure: soak of %d videos took %.0f s; attempts: %s', $videos, time() - $t0,
		sql("SELECT string_agg(attempts || ':' || n, ' ' ORDER BY attempts) FROM (SELECT attempts, count(*) n FROM vtp_videos GROUP BY 1) a")));
check_invariants($node, 'after the soak', 600);
$node->stop('fast');
done_testing();
