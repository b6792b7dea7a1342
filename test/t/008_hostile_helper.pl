# 008_hostile_helper.pl — the worker's side of the trust boundary, tried
# from the attacker's side: vtp.transcoder_path points at a stand-in helper
# (test/hostile-helper/vtp-hostile) that behaves like a compromised one, the
# scenario named by the uploaded "video". Its outputs are symlinks (to
# /etc/passwd, to PGDATA's postgresql.conf), a FIFO, a hard link, a directory,
# a sparse 100 GB file; its reports bend the protocol (foreign, duplicated
# and unplanned renditions, a second probe or plan, junk JSON, a 10 MB line,
# an unknown error code full of control bytes and a fake AWS key); it prints
# its environment, floods stdout and stderr, forks a grandchild. Each video
# ends Failed with a reason at once, nothing reaches the output bucket, the
# worker keeps its heartbeats and stops the helper's whole process group on
# cancel and timeout, no credential shows anywhere, PostgreSQL never
# restarts; then the real helper publishes a video on the same node.
use strict;
use warnings;
use lib 'test/perl';
use Cwd ();
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use VtpTest;

my $s = start_emulator();
my $helper = Cwd::getcwd() . '/test/hostile-helper/vtp-hostile';
my $node = vtp_node('hostile_helper', $s,
	"vtp.transcode_workers = 2\nvtp.transcoder_path = '$helper'\nvtp.max_attempts = 1\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vtp');
my $started = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');
my $tmp = $PostgreSQL::Test::Utils::tmp_check;
my $secret = $VtpTest::SECRET_KEY;
my $keyid = $VtpTest::ACCESS_KEY;
my $passwd = slurp_file('/etc/passwd');
my $conf = slurp_file($node->data_dir . '/postgresql.conf');

ok(wait_until(30, sub { log_count($node, qr/transcoder sandbox: landlock abi 6, seccomp allowlist/) >= 2 }),
	'each worker checked the (stand-in) helper\'s sandbox at start and logged it');

# a listener on vtp_status: what any role that can connect could hear
my ($lin, $lout, $lerr) = ("LISTEN vtp_status;\n", '', '');
my $listener = IPC::Run::start([ 'psql', '-X', '-At', '-d', $node->connstr('postgres') ],
	'<', \$lin, '>', \$lout, '2>', \$lerr);
$lin .= "SELECT 'listening';\n";
$listener->pump until $lout =~ /^listening$/m || !$listener->pumpable;

sub scenario_file
{
	my ($name) = @_;
	my $path = "$tmp/scenario-$name.mp4";
	open(my $fh, '>', $path) or die "$path: $!";
	print $fh "scenario: $name\n";
	close $fh;
	return $path;
}

sub alive
{
	my ($pid) = @_;
	my $st = eval { slurp_file("/proc/$pid/stat") };
	return 0 unless defined $st;
	return $st !~ /^\d+ \(.*\) Z/;
}

# --- outputs and reports a compromised helper could make: each refused ---
my @cases = (
	[ 'symlink-passwd', 'bad_output', qr/480p\.mp4 is a symbolic link: refused/ ],
	[ 'symlink-conf', 'bad_output', qr/480p\.mp4 is a symbolic link: refused/ ],
	[ 'hardlink', 'bad_output', qr/has 2 links \(a hard link to another file\): refused/ ],
	[ 'fifo', 'bad_output', qr/is not a regular file \(a FIFO\)/ ],
	[ 'directory', 'bad_output', qr/is not a regular file \(a directory\)/ ],
	[ 'sparse', 'helper_limit', qr/tried to write a file larger than 40960 MB .*File size limit exceeded/ ],
	[ 'sparse-5g', 'bad_output', qr/has 5368709120 bytes, more than its plan allows/ ],
	[ 'dotdot', 'helper_protocol', qr/names file "\.\.\/480p\.mp4", not "480p\.mp4"/ ],
	[ 'not-in-plan', 'helper_protocol', qr/rendition "720p" is not in the plan/ ],
	[ 'duplicate', 'helper_protocol', qr/rendition "480p" reported twice/ ],
	[ 'foreign', 'helper_protocol', qr/planned rendition "9999p" was not requested/ ],
	[ 'second-plan', 'helper_protocol', qr/a second plan/ ],
	[ 'second-probe', 'helper_protocol', qr/a second probe/ ],
	[ 'plan-first', 'helper_protocol', qr/a plan before the probe/ ],
	[ 'junk', 'helper_protocol', qr/not a JSON object/ ],
	[ 'long-line', 'helper_protocol', qr/a line longer than 65536 bytes/ ],
	[ 'bad-code', 'helper_protocol', qr/error code "pwned\[2J" is not one the helper uses/ ],
	[ 'environment', 'internal', qr/my environment: \[LC_ALL=C\]$/ ],
	[ 'fill-disk', 'helper_limit', qr/it holds 1 file\(s\) and \d+ MB in its scratch directory; its plan allows 5 and \d+ MB/ ],
	[ 'many-files', 'helper_limit', qr/it holds \d+ file\(s\) and \d+ MB in its scratch directory; its plan allows 5/ ],
	[ 'threads', 'helper_limit', qr/it runs \d+ threads; its decoders and encoders use at most \d+/ ],
);
my %id;
$id{ $_->[0] } = register($node, $s, "uploads/hh/$_->[0].mp4", scenario_file($_->[0])) for @cases;
for my $c (@cases)
{
	my ($name, $code, $re) = @$c;
	my $id = $id{$name};
	is(wait_status($node, $id, 90, 'Failed', 'Published'), 'Failed', "$name: Failed");
	my ($got, $msg, $attempts) = split /\|/,
	  $node->safe_psql('postgres', "SELECT error_code, error, attempts FROM vtp_videos WHERE id = '$id'");
	is($got, $code, "$name: reason $code");
	like($msg, $re, "$name: says what was wrong ($msg)");
	is($attempts, '1', "$name: at the first attempt");
	is(awscli('list', 'output-video-bucket', "videos/$id/"), '', "$name: nothing reached the output bucket");
}
{
	my $msg = $node->safe_psql('postgres', "SELECT error FROM vtp_videos WHERE id = '$id{'bad-code'}'");
	unlike($msg, qr/[\x00-\x1f\x7f]/, 'bad-code: no control byte in the stored reason');
	unlike($msg, qr/AKIAIOSFODNN7EXAMPLE|wJalrXUtnFEMI/, 'bad-code: the unknown error\'s message (a fake AWS key) is not kept');
	my $env = $node->safe_psql('postgres', "SELECT error FROM vtp_videos WHERE id = '$id{environment}'");
	unlike($env, qr/\Q$secret\E|\Q$keyid\E|AWS_/, 'environment: the helper saw no AWS variable (its whole environment is LC_ALL=C)');
}
{
	# the disk is policed while the helper runs, not after it: it was stopped
	# near its plan's 81 MB, far from the 3 GB it set out to write
	my $msg = $node->safe_psql('postgres', "SELECT error FROM vtp_videos WHERE id = '$id{'fill-disk'}'");
	my ($mb) = $msg =~ /and (\d+) MB in its scratch/;
	ok(defined $mb && $mb < 400, 'fill-disk: stopped after ' . ($mb // '?') . ' MB of the 3000 MB it was writing');
}
unlike(slurp_file($node->logfile), qr/AKIAIOSFODNN7EXAMPLE|\e\]0;owned/, 'the fake key and the escape sequences never reached the log');

# --- a flood of stdout and stderr: heartbeats go on, the log is spared, a cancel stops it ---
{
	my $id = register($node, $s, 'uploads/hh/flood.mp4', scenario_file('flood'));
	ok(wait_until(30, sub { $node->safe_psql('postgres', "SELECT count(*) FROM vtp_workers WHERE video_id = '$id' AND child_pid IS NOT NULL") eq '1' }),
		'flood: the helper runs');
	my $t0 = time();
	my $worst = 0;
	while (time() - $t0 < 15)
	{
		my $age = $node->safe_psql('postgres',
			"SELECT extract(epoch FROM now() - last_heartbeat) FROM vtp_workers WHERE video_id = '$id'");
		$worst = $age if $age ne '' && $age > $worst;
		sleep 1;
	}
	ok($worst < 10, "flood: the worker's heartbeat stayed fresh for 15 s of flood (oldest seen ${worst}s)");
	my $pid = $node->safe_psql('postgres', "SELECT child_pid FROM vtp_workers WHERE video_id = '$id'");
	my $c0 = time();
	$node->safe_psql('postgres', "SELECT vtp_cancel('$id')");
	ok(wait_until(10, sub { $node->safe_psql('postgres', "SELECT count(*) FROM vtp_workers WHERE video_id = '$id'") eq '0' }),
		'flood: vtp_cancel stopped it');
	my $took = time() - $c0;
	ok($took < 6, sprintf('flood: within %.1f s of the cancel', $took));
	ok(wait_until(5, sub { !alive($pid) }), 'flood: the helper is gone');
	my $lines = log_count($node, qr/vtp transcoder\[\d+\] video \Q$id\E: libav says/);
	ok($lines > 0 && $lines <= 20, "flood: $lines stderr lines in the log (at most 20)");
	ok(log_count($node, qr/vtp transcoder\[\d+\] video \Q$id\E: … \d+ more stderr lines suppressed/) == 1,
		'flood: the rest is counted, not logged');
	unlike(slurp_file($node->logfile), qr/\e\[31m/, 'flood: no escape sequence in the log');
	diag(sprintf('figure: flood for 15 s: oldest heartbeat %.1f s, cancel to stop %.1f s, %d stderr lines logged', $worst, $took, $lines));
}

# --- the same flood and vtp.transcode_timeout ---
{
	$node->safe_psql('postgres', "ALTER SYSTEM SET vtp.transcode_timeout = '10s'");
	$node->reload;
	my $id = register($node, $s, 'uploads/hh/flood-timeout.mp4', scenario_file('flood'));
	my $t0 = time();
	is(wait_status($node, $id, 40, 'Failed'), 'Failed', 'flood with a 10 s timeout: Failed');
	is($node->safe_psql('postgres', "SELECT error_code FROM vtp_videos WHERE id = '$id'"), 'timeout', 'flood with a 10 s timeout: reason timeout');
	ok(time() - $t0 < 25, sprintf('flood with a 10 s timeout: stopped after %.1f s', time() - $t0));
	$node->safe_psql('postgres', 'ALTER SYSTEM RESET vtp.transcode_timeout');
	$node->reload;
}

# --- a grandchild that tries to outlive the cancel ---
{
	my $id = register($node, $s, 'uploads/hh/grandchild.mp4', scenario_file('grandchild'));
	my $gpid = wait_until(30, sub {
		my ($p) = slurp_file($node->logfile) =~ /vtp transcoder\[\d+\] video \Q$id\E: grandchild pid (\d+)/;
		$p });
	ok($gpid && alive($gpid), 'grandchild: forked and running');
	$node->safe_psql('postgres', "SELECT vtp_cancel('$id')");
	is(wait_status($node, $id, 15, 'Failed'), 'Failed', 'grandchild: the video is cancelled');
	ok(wait_until(10, sub { !alive($gpid) }), 'grandchild: killed with the helper\'s process group');
}

# --- a helper whose sandbox is unavailable in required mode: the worker takes no tasks ---
{
	my $flag = $node->data_dir . '/hostile-sandbox';
	open(my $fh, '>', $flag) or die $!;
	close $fh;
	$node->safe_psql('postgres', "ALTER SYSTEM SET vtp.sandbox = 'best_effort'");
	$node->reload;
	ok(wait_until(30, sub { $node->safe_psql('postgres', "SELECT count(*) FROM vtp_workers WHERE role = 'transcode' AND state = 'sandbox unavailable'") eq '2' }),
		'sandbox unavailable: both workers say so in vtp_workers');
	like($node->safe_psql('postgres', "SELECT string_agg(query, ' ') FROM pg_stat_activity WHERE backend_type = 'vtp transcode'"),
		qr/not taking tasks: transcoder sandbox unavailable/, 'sandbox unavailable: and in pg_stat_activity');
	ok(log_count($node, qr/WARNING:  vtp transcode \d: not taking transcode tasks: the transcoder refuses to run: Landlock is not available/) >= 2,
		'sandbox unavailable: a WARNING with the reason');
	like(slurp_file($node->logfile), qr/HINT:  Set vtp.sandbox = 'best_effort' to transcode without Landlock, or use a kernel with Landlock/,
		'sandbox unavailable: and the hint');
	my $id = register($node, $s, 'uploads/hh/waits.mp4', scenario_file('symlink-passwd'));
	sleep 5;
	is($node->safe_psql('postgres', "SELECT status FROM vtp_videos WHERE id = '$id'"), 'Pending', 'sandbox unavailable: a new video waits');
	unlink $flag;
	$node->safe_psql('postgres', 'ALTER SYSTEM RESET vtp.sandbox');
	$node->reload;
	is(wait_status($node, $id, 90, 'Failed', 'Published'), 'Failed', 'sandbox back: the worker takes the video again (and refuses its symlink)');
}

# nothing said on vtp_status carries a credential
$lin .= "SELECT 'listened';\n";
$listener->pump until $lout =~ /^listened$/m || !$listener->pumpable;
$lin .= "\\q\n";
$listener->finish;
like($lout, qr/Asynchronous notification "vtp_status"/, 'the listener heard the status changes');
unlike($lout, qr/\Q$secret\E|\Q$keyid\E|AKIAIOSFODNN7EXAMPLE/, 'no credential in any NOTIFY');
unlike(slurp_file($node->logfile), qr/\Q$secret\E/, 'no secret key in the server log');

is(awscli('list', 'output-video-bucket', 'videos/'), '', 'the output bucket holds nothing at all');
is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $started, 'PostgreSQL did not restart');
unlike(slurp_file($node->logfile), qr/terminated by signal|server process .* was terminated/, 'no backend or worker crashed');

# --- the real helper on the same node: a normal video publishes ---
$node->stop('fast');
$node->append_conf('postgresql.conf', "vtp.transcoder_path = ''\n");
$node->start;
ok(wait_until(30, sub { $node->safe_psql('postgres', "SELECT count(*) FROM vtp_workers WHERE role = 'transcode' "
			. "AND sandbox ~ '^landlock abi [1-9][0-9]*, seccomp allowlist\$'") eq '2' }),
	'the real helper: vtp_workers.sandbox shows Landlock and the seccomp allowlist for each transcode worker');
diag('figure: vtp_workers.sandbox = ' . $node->safe_psql('postgres', "SELECT min(sandbox) FROM vtp_workers WHERE role = 'transcode'"));
{
	my $clip = media('hh-clip.mp4', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-t', '2',
		'-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p');
	# a long poll the stopped ingest worker left may take this first message: allow for its visibility timeout
	awscli('put', 'temp-video-bucket', 'uploads/hh/real.mp4', $clip);
	awscli('notify', $s->{events_queue_url}, 'temp-video-bucket', 'uploads/hh/real.mp4');
	my $id = wait_id($node, 'uploads/hh/real.mp4', 150) or die 'the real video was not registered';
	is(wait_status($node, $id, 120, 'Published', 'Failed'), 'Published', 'the real helper publishes a video afterwards')
	  or diag($node->safe_psql('postgres', "SELECT error_code, error FROM vtp_videos WHERE id = '$id'"));
	my @listed = split /\n/, awscli('list', 'output-video-bucket', 'videos/');
	my @rend = split /\n/, $node->safe_psql('postgres', "SELECT key FROM vtp_renditions WHERE video_id = '$id' ORDER BY key");
	is_deeply([ sort @listed ], [ sort @rend ], 'the output bucket holds exactly its renditions');
	for my $k (@listed)
	{
		awscli('get', 'output-video-bucket', $k, "$tmp/got.mp4");
		my $body = slurp_file("$tmp/got.mp4");
		ok($body ne $passwd && $body ne $conf && index($body, 'shared_preload_libraries') < 0,
			"$k: a rendition, not /etc/passwd or postgresql.conf");
	}
}
unlike(slurp_file($node->logfile), qr/terminated by signal|server process .* was terminated/, 'still no crash');
$node->stop('fast');
done_testing();
