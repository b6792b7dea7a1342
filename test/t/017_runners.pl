# 017_runners.pl — vtp-runner (issue 13): transcodes on "other machines",
# here other processes, coordinated by the catalog alone. A cluster with
# vtp.transcode_workers = 0 only ingests and coordinates; two runners started
# by the test, as a login role vtp_grant_runner made, do every transcode:
#  a) a batch of 10 is Published exactly once, both runners did work, and
#     vtp_workers lists them (role runner, host, pid);
#  b) kill -9 of a runner mid-transcode: the other finishes its video once
#     its lease runs out, nothing is duplicated, its helper is not left behind;
#  c) SIGTERM of a runner mid-transcode hands the task back at once (the
#     attempt not counted), and the runner exits 0;
#  d) pg_ctl restart -m immediate of the catalog while runners work: all
#     Published, the runners keep running and reconnect;
#  e) a role that was never granted, or was revoked (before the start or
#     while it runs), gets exit status 2 and an error naming the role and
#     vtp_grant_runner;
#  f) in-server workers and a runner on one queue both do work.
# It ends with the invariants of 005_faults, across the server's and the
# runners' logs (each runner logs "video ID Published:" as the server does).
use strict;
use warnings;
use lib 'test/perl';
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Sys::Hostname ();
use Test::More;
use Time::HiRes qw(time sleep);
use VtpTest;

my $s = start_emulator();
my $node = vtp_node('runners', $s, q{
vtp.transcode_workers = 0
vtp.transcode_threads = 1
vtp.visibility_timeout = '10s'
vtp.reconcile_interval = '1s'
vtp.task_resend_after = '5s'
vtp.orphan_object_age = '2s'
vtp.stale_upload_age = '3s'
});
$node->start;
sub sql { return $node->safe_psql('postgres', $_[0]); }
sql('CREATE EXTENSION vtp');
sql("CREATE ROLE regress_runner LOGIN; SELECT vtp_grant_runner('regress_runner')");
my %logs = map { $_ => runner_log($_) } qw(r1 r2);
my @all_logs = values %logs;

# the runner's row in vtp_workers is its live process's, reported to the catalog as it runs now
sub runner_ready
{
	my ($name, $h) = @_;
	my $pid = runner_pid($h);
	return $node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM vtp_workers WHERE role = 'runner' AND name = '$name' AND pid = $pid "
		  . "AND state NOT IN ('silent', 'starting') AND last_heartbeat > pg_postmaster_start_time()");
}

# PUT and notify each file under $prefix; the ids, in order
sub submit
{
	my ($prefix, @files) = @_;
	my $i = 0;
	return map { register($node, $s, sprintf('%s%02d.mp4', $prefix, ++$i), $_) } @files;
}

# wait until none of @ids is Pending or Processing; how many are Published
sub wait_all
{
	my ($ids, $timeout) = @_;
	my $list = join(',', map { "'$_'" } @$ids);
	wait_until($timeout, sub {
		sql("SELECT count(*) FROM vtp_videos WHERE id IN ($list) AND status IN ('Pending', 'Processing')") eq '0' })
	  or diag(sql("SELECT id, status, attempts, claimed_by, error_code, error FROM vtp_videos WHERE id IN ($list)"));
	return sql("SELECT count(*) FROM vtp_videos WHERE id IN ($list) AND status = 'Published'");
}

# every one of @ids Published once, in $attempts attempt(s) (default 1),
# with $renditions rendition(s) (default 1: the short clips are below every
# rung) in the row and in the bucket, and no second publish in any log
sub published_once
{
	my ($label, $ids, $attempts, $renditions) = @_;
	my $want = 'Published|' . ($attempts // 1) . '|' . ($renditions // 1);
	my @bad;
	for my $id (@$ids)
	{
		my $row = sql("SELECT status, attempts, (SELECT count(*) FROM vtp_renditions r WHERE r.video_id = v.id) FROM vtp_videos v WHERE id = '$id'");
		my @listed = split /\n/, awscli('list', 'output-video-bucket', "videos/$id/");
		my $logged = log_count([ $node->logfile, @all_logs ], qr/video \Q$id\E Published:/);
		push @bad, "$id: $row, " . scalar(@listed) . " object(s), published $logged time(s)"
		  unless $row eq $want && @listed == ($renditions // 1) && $logged == 1;
	}
	is_deeply(\@bad, [], "$label: each of " . scalar(@$ids) . " videos Published once ($want), its renditions in the bucket");
}

# who claimed each of @ids (claimed_by stays on a Published row)
sub claimers
{
	my ($ids) = @_;
	my $list = join(',', map { "'$_'" } @$ids);
	return sql("SELECT string_agg(DISTINCT claimed_by, ',' ORDER BY claimed_by) FROM vtp_videos WHERE id IN ($list)");
}

# the runner transcoding $id, once vtp_workers shows its helper: (name, child pid)
sub transcoding
{
	my ($id) = @_;
	my $row = wait_until(90, sub {
		sql("SELECT name || '|' || child_pid FROM vtp_workers WHERE role = 'runner' AND video_id = '$id' "
			  . "AND state = 'transcoding' AND child_pid IS NOT NULL") });
	return split /\|/, ($row // '');
}

sub small_clip
{
	my ($i) = @_;
	my ($w, $h) = $i % 2 ? (320, 240) : (640, 360);
	return media("r$i.mp4", '-f', 'lavfi', '-i', "testsrc2=size=${w}x$h:rate=25",
		'-f', 'lavfi', '-i', 'sine=frequency=' . (300 + 40 * $i) . ':sample_rate=48000', '-t', 1 + $i % 3,
		'-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest');
}
# a transcode of about 10 CPU s at one thread (two rungs: 480p and 720p)
my $long = media('r720long.mp4', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30',
	'-f', 'lavfi', '-i', 'sine=frequency=300:sample_rate=48000', '-t', '20',
	'-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '1M', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest');
my $shot = media('r480.mp4', '-f', 'lavfi', '-i', 'testsrc2=size=854x480:rate=30,noise=alls=8:allf=t',
	'-f', 'lavfi', '-i', 'sine=frequency=500:sample_rate=48000', '-t', '10',
	'-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '2M', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest');

# --- e) roles without the grants: exit status 2, a message naming the role and the fix
sql("CREATE ROLE regress_stranger LOGIN");
sql("CREATE ROLE regress_revoked LOGIN; SELECT vtp_grant_runner('regress_revoked'); SELECT vtp_revoke_runner('regress_revoked')");
for my $role (qw(regress_stranger regress_revoked))
{
	my $h = start_runner($node, "x-$role", $role);
	my ($st, $took) = stop_runner($h, undef, 30);
	is($st, 2 << 8, "a runner as $role (" . ($role =~ /revoked/ ? 'revoked' : 'never granted') . ') exits with status 2')
	  or $h->kill_kill;
	cmp_ok($took, '<', 15, sprintf('%s: quickly (%.1f s)', $role, $took));
	my $err = slurp_file(runner_log("x-$role"));
	like($err, qr/role "$role" may not run vtp jobs/, "$role: the error names the role");
	like($err, qr/SELECT vtp_grant_runner\('$role'\)/, "$role: the hint says how to grant it");
}
is(sql("SELECT count(*) FROM vtp_runners"), '0', 'neither left a row in vtp_runners');

# --- a) two runners, a batch of 10
my %run = (r1 => start_runner($node, 'r1', 'regress_runner'), r2 => start_runner($node, 'r2', 'regress_runner'));
ok(runner_ready($_, $run{$_}), "runner $_ reports itself in vtp_workers") for qw(r1 r2);
is(sql("SELECT string_agg(name || ' ' || role || ' ' || host || ' ' || pid, ',' ORDER BY name) FROM vtp_workers WHERE host IS NOT NULL"),
	join(',', map { "$_ runner " . Sys::Hostname::hostname() . ' ' . runner_pid($run{$_}) } qw(r1 r2)),
	'vtp_workers lists both runners: role runner, this host, their pids');
is(sql("SELECT count(*) FROM vtp_workers WHERE role = 'transcode'"), '0', 'and no in-server transcode worker (vtp.transcode_workers = 0)');
{
	my $t0 = time();
	my @ids = submit('uploads/a/', map { small_clip($_) } 1 .. 10);
	is(wait_all(\@ids, 240), '10', 'a batch of 10: all Published');
	diag(sprintf('figure: 10 short clips on two runners in %.1f s', time() - $t0));
	published_once('batch', \@ids);
	is(claimers(\@ids), 'runner r1,runner r2', 'both runners did work (claimed_by)');
	my %did = map { $_ => log_count([ $logs{$_} ], qr/^vtp-runner $_: video [0-9a-f-]+ Published:/m) } qw(r1 r2);
	is($did{r1} + $did{r2}, 10, "and their logs say so: r1 published $did{r1}, r2 $did{r2}");
	check_invariants($node, 'after the batch', 60, logs => \@all_logs);
}

# --- b) kill -9 of a runner mid-transcode: the other one finishes its video
{
	my ($id) = submit('uploads/b/', $long);
	my ($victim, $child) = transcoding($id);
	ok($victim, "video $id is being transcoded by runner $victim (helper pid $child)");
	my ($other) = grep { $_ ne $victim } qw(r1 r2);
	ok(pid_running($child), "vtp_workers.child_pid $child is the helper, running");
	my ($st) = stop_runner($run{$victim}, 'KILL', 10);
	is($st, 9, "runner $victim is SIGKILLed mid-transcode");
	ok(wait_until(10, sub { !pid_running($child) }), 'its helper does not outlive it (no orphaned transcoder)');
	sql("UPDATE vtp_runners SET last_heartbeat = now() - interval '2 minutes' WHERE name = '$victim'");
	is(sql("SELECT state FROM vtp_workers WHERE name = '$victim'"), 'silent', 'vtp_workers shows a runner unheard of for a minute as silent');
	sql("UPDATE vtp_runners SET last_heartbeat = now() - interval '11 minutes' WHERE name = '$victim'");
	is(sql("SELECT count(*) FROM vtp_workers WHERE name = '$victim'"), '0', 'and no longer shows it after ten minutes');
	is(wait_status($node, $id, 180, 'Published', 'Failed'), 'Published', 'its video is Published');
	is(sql("SELECT claimed_by || ' ' || attempts FROM vtp_videos WHERE id = '$id'"), "runner $other 2",
		"by runner $other, in a second attempt once the lease ran out");
	is(log_count([ $logs{$victim} ], qr/video \Q$id\E attempt 1: transcoder pid \d+ started/), 1, "$victim started attempt 1");
	is(log_count([ $logs{$other} ], qr/video \Q$id\E attempt 2: transcoder pid \d+ started/), 1, "$other started attempt 2");
	published_once('kill -9', [$id], 2, 2);
	$run{$victim} = start_runner($node, $victim, 'regress_runner');
	ok(runner_ready($victim, $run{$victim}), "runner $victim started again takes its name's row over");
	check_invariants($node, 'after kill -9', 60, logs => \@all_logs);
}

# --- c) SIGTERM of a runner mid-transcode: the task is handed back at once
{
	my ($id) = submit('uploads/c/', $long);
	my ($quitter, $child) = transcoding($id);
	ok($quitter, "video $id is being transcoded by runner $quitter");
	my ($other) = grep { $_ ne $quitter } qw(r1 r2);
	ok(pid_running($child), "its helper $child is running");
	my $t0 = time();
	my ($st, $took) = stop_runner($run{$quitter}, 'TERM', 10);
	is($st, 0, "SIGTERM: runner $quitter exits 0");
	cmp_ok($took, '<', 5, sprintf('within 5 s (%.1f s)', $took));
	my $row = sql("SELECT status || ' ' || attempts || ' ' || COALESCE(claimed_by, '-') FROM vtp_videos WHERE id = '$id'");
	my $when = time() - $t0;
	like($row, qr/^(Pending 0 -|(Processing|Published) 1 runner $other)$/,
		sprintf('%.1f s after SIGTERM (the lease was 10 s) the video is back, its attempt not counted: %s', $when, $row));
	ok(wait_until(5, sub { !pid_running($child) }), 'its helper stopped with it');
	is(sql("SELECT count(*) FROM vtp_workers WHERE name = '$quitter'"), '0', 'a runner that stops cleanly removes its row');
	is(wait_status($node, $id, 180, 'Published', 'Failed'), 'Published', 'the video is Published');
	is(sql("SELECT claimed_by || ' ' || attempts FROM vtp_videos WHERE id = '$id'"), "runner $other 1",
		"by runner $other, and the handed-back attempt did not count");
	published_once('SIGTERM', [$id], 1, 2);
	$run{$quitter} = start_runner($node, $quitter, 'regress_runner');
	ok(runner_ready($quitter, $run{$quitter}), "runner $quitter started again");
}

# --- d) pg_ctl restart -m immediate of the catalog while the runners work
{
	my %pid = map { $_ => runner_pid($run{$_}) } qw(r1 r2);
	my @ids = submit('uploads/d/', ($shot) x 4);
	my $any = join('|', @ids);
	# (vtp_workers shows a helper's pid only with the next progress report, 5 s on: the log says it at once)
	ok(wait_until(60, sub { log_count(\@all_logs, qr/video ($any) attempt 1: transcoder pid \d+ started/) }),
		'a runner is transcoding');
	restart_immediate($node);
	pass('the catalog was restarted in immediate mode mid-transcode');
	is(wait_all(\@ids, 240), '4', 'all four are Published');
	published_once('immediate restart', \@ids);
	is(sql("SELECT count(*) FROM vtp_videos WHERE status = 'Failed'"), '0', 'none Failed');
	ok(runner_running($run{$_}) && runner_pid($run{$_}) == $pid{$_}, "runner $_ kept running (pid $pid{$_})") for qw(r1 r2);
	ok($node->poll_query_until('postgres',
			"SELECT count(*) = 2 FROM vtp_workers WHERE role = 'runner' AND pid IN ($pid{r1}, $pid{r2}) AND last_heartbeat > pg_postmaster_start_time()"),
		'both reconnected and report to the restarted catalog');
}

# --- f) in-server workers and a runner on one queue
{
	my ($st) = stop_runner($run{r2}, 'TERM', 10);
	is($st, 0, 'runner r2 stops');
	$node->append_conf('postgresql.conf', "vtp.transcode_workers = 1\n");
	$node->restart;
	ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM vtp_workers WHERE role = 'transcode' AND state = 'idle'"),
		'the catalog restarted with an in-server transcode worker');
	my @ids = submit('uploads/f/', map { small_clip($_) } 11 .. 16);
	ok(runner_ready('r1', $run{r1}), 'runner r1 is back on the restarted catalog');
	is(wait_all(\@ids, 240), '6', 'a batch of 6 on one queue: all Published');
	published_once('mixed', \@ids);
	is(claimers(\@ids), 'runner r1,vtp transcode 1', 'both the in-server worker and the runner did work');
}

# --- e) again: a role revoked while its runner runs; it finds out when it next reads the settings (SIGHUP: the next round)
{
	sql("CREATE ROLE regress_late LOGIN; SELECT vtp_grant_runner('regress_late')");
	my $h = start_runner($node, 'r3', 'regress_late');
	ok(runner_ready('r3', $h), 'runner r3 runs as regress_late');
	sql("SELECT vtp_revoke_runner('regress_late')");
	kill('HUP', runner_pid($h));    # taken once the long poll in progress (20 s at most) ends
	my ($st, $took) = stop_runner($h, undef, 40);
	is($st, 2 << 8, 'revoked while it runs, r3 exits with status 2 once it reads the settings again') or $h->kill_kill;
	cmp_ok($took, '<', 30, sprintf('at the end of its long poll (%.1f s)', $took));
	like(slurp_file(runner_log('r3')), qr/role "regress_late" may not run vtp jobs: .*\n.*SELECT vtp_grant_runner\('regress_late'\)/,
		'and says why, with the grant hint');
	sql("DELETE FROM vtp_runners WHERE name = 'r3'");    # its role may no longer remove its row
}

check_invariants($node, 'at the end', 60, logs => \@all_logs);
my ($st, $took) = stop_runner($run{r1}, 'INT', 10);
is($st, 0, sprintf('SIGINT stops a runner too, exit 0 (%.1f s)', $took));
my $all = join('', map { slurp_file($_) } glob("$PostgreSQL::Test::Utils::log_path/runner-*.log"));
unlike($all, qr/$VtpTest::SECRET_KEY/, 'no credential in the runners\' logs');
is(join("\n", grep { !/^vtp-runner( [\w.\/-]+)?: / } split /\n/, $all), '',
	'every line a runner logged is "vtp-runner NAME: ..." (journald-friendly)');
$node->stop('fast');
done_testing();
