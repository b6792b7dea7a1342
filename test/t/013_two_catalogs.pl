# 013_two_catalogs.pl — two vtp installations (two clusters) on one queue pair
# (issue 11, finding 6). Every task says which catalog it belongs to; a
# worker that receives another catalog's task leaves it alone (hands it back,
# never deletes it) and reports it. Each catalog's videos must end Published
# by its own workers, with no "no such video" deletion of the other's tasks.
# Catalog B's worker first takes no tasks (the stand-in helper's sandbox
# check fails while a flag file exists), so that A's worker certainly
# receives B's tasks; then B is let go.
use strict;
use warnings;
use lib 'test/perl';
use Cwd ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use VtpTest;

my $s = start_emulator();
my $helper = Cwd::getcwd() . '/test/hostile-helper/vtp-hostile';
my $conf = qq{
vtp.transcoder_path = '$helper'
vtp.reconcile_interval = 5s
vtp.task_resend_after = 30s
};
my $a = vtp_node('catalog_a', $s, $conf);
my $b = vtp_node('catalog_b', $s, $conf);
my $flag = $b->data_dir . '/hostile-sandbox';
append_to_file($flag, '');
$_->start for ($a, $b);
$_->safe_psql('postgres', 'CREATE EXTENSION vtp') for ($a, $b);
my %ident = map { $_->name => $_->safe_psql('postgres',
	"SELECT (SELECT system_identifier FROM pg_control_system()) || ':' || (SELECT oid FROM pg_database WHERE datname = current_database())") } ($a, $b);
isnt($ident{catalog_a}, $ident{catalog_b}, 'two catalogs, two identities');
ok(wait_until(30, sub { log_count($b, qr/not taking transcode tasks/) >= 1 }), "B's worker takes no tasks for now");

my $tmp = $PostgreSQL::Test::Utils::tmp_check;
my $file = "$tmp/two-catalogs.mp4";
append_to_file($file, "scenario: slow seconds: 1\n");

# objects outside the upload prefix (no reconciler scans them), registered by vtp_enqueue on their own node
sub enqueue
{
	my ($node, $key) = @_;
	awscli('put', 'temp-video-bucket', $key, $file);
	return $node->safe_psql('postgres', "SELECT vtp_enqueue('temp-video-bucket', '$key')");
}
my @bids = map { enqueue($b, "src/b$_.mp4") } 1 .. 3;
ok(wait_until(30, sub { log_count($a, qr/WARNING:.*vtp transcode 1: left alone \d+ task\(s\) of another vtp catalog \(the last for catalog "\Q$ident{catalog_b}\E"; this one is "\Q$ident{catalog_a}\E"\)/) >= 1 }),
	"A's worker received B's tasks, left them alone and logged a WARNING naming both catalogs");
ok($a->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'vtp transcode' AND query ~ 'of another vtp catalog left alone'"),
	"pg_stat_activity shows A's worker's count of them");

my @aids = map { enqueue($a, "src/a$_.mp4") } 1 .. 3;
unlink $flag;
$b->reload;    # B's worker looks at its sandbox again, and takes tasks
for my $id (@aids) { is(wait_status($a, $id, 120, 'Published', 'Failed'), 'Published', "A's video $id: Published"); }
for my $id (@bids) { is(wait_status($b, $id, 120, 'Published', 'Failed'), 'Published', "B's video $id: Published"); }
for my $id (@aids) { is(log_count($a, qr/video \Q$id\E Published:/), 1, "A's video $id was published by A's worker, once"); }
for my $id (@bids) { is(log_count($b, qr/video \Q$id\E Published:/), 1, "B's video $id was published by B's worker, once"); }
for my $pair ([ $a, 'A' ], [ $b, 'B' ])
{
	my ($node, $n) = @$pair;
	is(log_count($node, qr/dropping task for video [0-9a-f-]+ \(no such video\)/), 0, "$n dropped no task as \"no such video\"");
	is(log_count($node, qr/dropping a task that names no video/), 0, "$n dropped no task at all");
}
my $warnings = log_count($a, qr/WARNING:.*left alone \d+ task\(s\) of another vtp catalog/);
my $minutes = 1 + int((time() - $^T) / 60);
cmp_ok($warnings, '<=', $minutes + 1, "A's WARNING came at most once a minute ($warnings)");
diag("figure: A left B's tasks alone and warned $warnings time(s); B warned " .
	log_count($b, qr/WARNING:.*left alone \d+ task\(s\) of another vtp catalog/) . ' time(s)');
wait_until(30, sub { awscli('count', $s->{tasks_queue_url}) eq '0' });
is(awscli('count', $s->{tasks_queue_url}), '0', 'no task is left in the queue');

$_->stop('fast') for ($a, $b);
done_testing();
