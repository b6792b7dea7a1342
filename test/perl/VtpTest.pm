# VtpTest.pm — helpers for vtp's TAP tests: a real S3+SQS server (fauxqs
# behind the SigV4-verifying proxy), a PostgreSQL cluster with vtp preloaded,
# generated media and ffprobe checks. Tests run from the repository root.
package VtpTest;

use strict;
use warnings;
use Exporter 'import';
use File::Path qw(make_path);
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

our @EXPORT = qw(start_emulator vtp_node awscli media wait_status ffprobe_json moov_before_mdat
  log_count register wait_id wait_until check_invariants restart_immediate
  start_runner runner_pid runner_log runner_running stop_runner pid_running);

our $ACCESS_KEY = 'vtptestkey';
our $SECRET_KEY = 'vtptestsecret';
my $emu;

# start_emulator(cred => 1) also starts the loopback IMDSv2/ECS/STS
# endpoints (credserver.mjs); their base URL is $s->{cred_endpoint}.
sub start_emulator
{
	my (%opt) = @_;
	my $port = PostgreSQL::Test::Cluster::get_free_port();
	my $backend = PostgreSQL::Test::Cluster::get_free_port();
	my $state = "$PostgreSQL::Test::Utils::tmp_check/emulator-$port.json";
	my $log = "$PostgreSQL::Test::Utils::log_path/emulator-$port.log";
	unlink $state;
	$ENV{AWS_ACCESS_KEY_ID} = $ACCESS_KEY;
	$ENV{AWS_SECRET_ACCESS_KEY} = $SECRET_KEY;
	delete $ENV{AWS_SESSION_TOKEN};
	$emu = IPC::Run::start([ 'node', 'test/emulator/server.mjs', '--port', $port,
		'--backend-port', $backend, '--state', $state, '--max-seconds', '3600',
		($opt{cred} ? ('--cred-port', '0') : ()) ],
		'>', $log, '2>>', $log);
	for (1 .. 300)
	{
		last if -s $state;
		sleep 0.1;
	}
	die "emulator did not start; see $log" unless -s $state;
	my $s = decode_json(slurp_file($state));
	$ENV{VTP_ENDPOINT} = $s->{endpoint};
	return $s;
}

my @runners;
END
{
	$_->kill_kill for grep { runner_running($_) } @runners;
	$emu->kill_kill if $emu;
}

# A cluster with vtp preloaded and pointed at the emulator.
sub vtp_node
{
	my ($name, $s, $extra) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'vtp'
vtp.s3_endpoint = '$s->{endpoint}'
vtp.sqs_endpoint = '$s->{endpoint}'
vtp.events_queue_url = '$s->{events_queue_url}'
vtp.tasks_queue_url = '$s->{tasks_queue_url}'
vtp.s3_part_size = '5MB'
vtp.transcode_workers = 1
log_min_messages = warning
} . ($extra // ''));
	return $node;
}

# Run the harness client; returns stdout, dies on failure.
sub awscli
{
	my @args = @_;
	my ($out, $err);
	IPC::Run::run([ 'node', 'test/emulator/awscli.mjs', @args ], '>', \$out, '2>', \$err)
	  or die "awscli @args: $err";
	chomp $out;
	return $out;
}

# Generate media with the ffmpeg CLI (cached per name within one run).
sub media
{
	my ($name, @ffargs) = @_;
	my $dir = "$PostgreSQL::Test::Utils::tmp_check/media";
	make_path($dir);
	my $path = "$dir/$name";
	return $path if -s $path;
	my ($out, $err);
	IPC::Run::run([ 'ffmpeg', '-nostdin', '-v', 'error', '-y', @ffargs, $path ], '>', \$out, '2>', \$err)
	  or die "ffmpeg for $name failed: $err";
	return $path;
}

# Poll until the video's status is one of @want; returns it (or the last seen).
sub wait_status
{
	my ($node, $id, $timeout, @want) = @_;
	my $deadline = time() + $timeout;
	my $st = '';
	while (time() < $deadline)
	{
		$st = $node->safe_psql('postgres', "SELECT status FROM vtp_videos WHERE id = '$id'");
		return $st if grep { $_ eq $st } @want;
		sleep 0.25;
	}
	return $st;
}

sub ffprobe_json
{
	my ($file) = @_;
	my ($out, $err);
	IPC::Run::run([ 'ffprobe', '-v', 'error', '-show_entries',
		'stream=codec_type,codec_name,profile,pix_fmt,width,height,duration,sample_rate,channels:stream_side_data=rotation:format=duration',
		'-of', 'json', $file ], '>', \$out, '2>', \$err) or die "ffprobe $file: $err";
	return decode_json($out);
}

# Walk the top-level MP4 boxes: true if moov comes before mdat (faststart).
sub moov_before_mdat
{
	my ($file) = @_;
	open(my $fh, '<:raw', $file) or die "$file: $!";
	my $pos = 0;
	my $size = -s $file;
	while ($pos + 8 <= $size)
	{
		seek($fh, $pos, 0);
		read($fh, my $hdr, 16);
		my ($len, $type) = unpack('N a4', $hdr);
		$len = unpack('x8 Q>', $hdr) if $len == 1;
		return 1 if $type eq 'moov';
		return 0 if $type eq 'mdat';
		last if $len < 8;
		$pos += $len;
	}
	return 0;
}

# Poll $cb until it returns true or $timeout seconds pass; returns its last value.
sub wait_until
{
	my ($timeout, $cb) = @_;
	my $deadline = time() + $timeout;
	my $v;
	while (1)
	{
		$v = $cb->();
		return $v if $v || time() > $deadline;
		sleep 0.2;
	}
}

# The id of the video registered for $key, waiting up to $timeout s.
sub wait_id
{
	my ($node, $key, $timeout) = @_;
	my $q = $key =~ s/'/''/gr;
	return wait_until($timeout // 30,
		sub { $node->safe_psql('postgres', "SELECT id FROM vtp_videos WHERE key = '$q' ORDER BY created_at DESC LIMIT 1") });
}

# PUT a file and send its S3 notification (the emulated step); returns the video id.
sub register
{
	my ($node, $s, $key, $file) = @_;
	awscli('put', 'temp-video-bucket', $key, $file);
	awscli('notify', $s->{events_queue_url}, 'temp-video-bucket', $key);
	return wait_id($node, $key) || die "video $key was not registered";
}

# What every fault test ends with: every video Published exactly once or
# Failed with a reason, nothing stuck, the output bucket holding exactly the
# renditions of Published videos (no rendition under two names, nothing
# half-made), no original of a Published video left in the temp bucket.
sub check_invariants
{
	my ($node, $label, $timeout, %opt) = @_;
	my @logs = ($node->logfile, @{ $opt{logs} // [] });
	$timeout //= 240;
	ok( $node->poll_query_until('postgres',
			"SELECT count(*) = 0 FROM vtp_videos WHERE status IN ('Pending', 'Processing')", 't'),
		"$label: no video left Pending or Processing")
	  or diag($node->safe_psql('postgres', "SELECT id, status, attempts, error_code, lease_until FROM vtp_videos WHERE status IN ('Pending', 'Processing')"));
	is($node->safe_psql('postgres', "SELECT count(*) FROM vtp_videos WHERE status = 'Failed' AND (error_code IS NULL OR error IS NULL)"),
		'0', "$label: every Failed video says why");
	ok($node->poll_query_until('postgres', 'SELECT count(*) = 0 FROM vtp_trash', 't'),
		"$label: the reconciler emptied the trash")
	  or diag($node->safe_psql('postgres', 'SELECT bucket, key, reason, tries, last_error FROM vtp_trash'));
	my @published = split /
/, $node->safe_psql('postgres', "SELECT id FROM vtp_videos WHERE status = 'Published' ORDER BY id");
	my @twice = grep { log_count(\@logs, qr/video \Q$_\E Published:/) != 1 } @published;
	is_deeply(\@twice, [], "$label: each of " . scalar(@published) . " Published videos was published exactly once");
	my @rend = sort split /
/, $node->safe_psql('postgres',
		"SELECT r.key FROM vtp_renditions r JOIN vtp_videos v ON v.id = r.video_id WHERE v.status = 'Published'");
	my @listed = sort split /
/, awscli('list', 'output-video-bucket', 'videos/');
	is_deeply(\@listed, \@rend, "$label: the output bucket holds exactly the Published renditions (" . scalar(@rend) . ')');
	is($node->safe_psql('postgres', "SELECT count(*) FROM vtp_videos v WHERE status = 'Published' AND NOT EXISTS (SELECT 1 FROM vtp_renditions r WHERE r.video_id = v.id)"),
		'0', "$label: every Published video has renditions");
	my %left = map { $_ => 1 } split /
/, awscli('list', 'temp-video-bucket', 'uploads/');
	my @kept = grep { $left{$_} } split /
/, $node->safe_psql('postgres',
		"SELECT key FROM vtp_videos WHERE status = 'Published' AND bucket = 'temp-video-bucket'");
	is_deeply(\@kept, [], "$label: no original of a Published video is left in the temp bucket");
	my @owned = grep { $_->{pid} } map { { pid => $_ } } split /
/, $node->safe_psql('postgres',
		"SELECT child_pid FROM vtp_workers WHERE child_pid IS NOT NULL");
	is(scalar(@owned), 0, "$label: no transcoder is running");
}

# pg_ctl restart -m immediate: a crash of the whole server, as far as vtp can tell
sub restart_immediate
{
	my ($node) = @_;
	PostgreSQL::Test::Utils::system_or_bail('pg_ctl', '-D', $node->data_dir, '-m', 'immediate', '-w',
		'-l', $node->logfile, 'restart');
	$node->_update_pid(1);
}

# How often $re matches in the node's log, or in each of a list of log files.
sub log_count
{
	my ($what, $re) = @_;
	my $n = 0;
	for my $f (ref($what) eq 'ARRAY' ? @$what : ($what->logfile))
	{
		next unless -e $f;
		$n += () = slurp_file($f) =~ /$re/g;
	}
	return $n;
}

# --- vtp-runner processes (issue 13)

# The log file of the runner named $name (every start under that name appends to it).
sub runner_log
{
	my ($name) = @_;
	return "$PostgreSQL::Test::Utils::log_path/runner-" . ($name =~ s/[^\w.-]/_/gr) . '.log';
}

# start_runner($node, $name, $role, %opt): vtp-runner --name $name on the
# node's database as the login role $role, its stderr (and stdout) appended
# to runner_log($name), the emulator's credentials in its environment
# (start_emulator set them). $opt{args}: more options; $opt{env}: more
# environment. Returns the IPC::Run handle (runner_pid, stop_runner).
sub start_runner
{
	my ($node, $name, $role, %opt) = @_;
	my $bindir = `pg_config --bindir`;
	chomp $bindir;
	my $scratch = "$PostgreSQL::Test::Utils::tmp_check/runner-scratch-" . ($name =~ s/[^\w.-]/_/gr);
	my $log = runner_log($name);
	local %ENV = (%ENV, %{ $opt{env} // {} });
	my $h = IPC::Run::start([ "$bindir/vtp-runner", '--db', $node->connstr('postgres') . " user=$role",
		'--name', $name, '--scratch', $scratch, @{ $opt{args} // [] } ],
		'<', '/dev/null', '>>', $log, '2>>', $log);
	push @runners, $h;
	return $h;
}

# The runner's process id (with --jobs 1, the slot reporting to vtp_workers).
sub runner_pid
{
	my ($h) = @_;
	return $h->{KIDS}[0]{PID};
}

# Is the runner still running? (reaps it if it is not)
sub runner_running
{
	my ($h) = @_;
	return $h->pumpable ? 1 : 0;
}

# stop_runner($h, $signal, $timeout): send $signal (undef: none, just wait)
# and wait up to $timeout s for the runner to exit. Returns its wait status
# ($? style: exit code << 8, or the signal) and the seconds it took, or
# (undef, $timeout) if it is still running (then left running).
sub stop_runner
{
	my ($h, $signal, $timeout) = @_;
	my $t0 = time();
	kill($signal, runner_pid($h)) if $signal;
	wait_until($timeout // 30, sub { !runner_running($h) });
	my $took = time() - $t0;
	return (undef, $took) if runner_running($h);
	$h->finish;
	return (($h->full_results)[0], $took);
}

# A process that exists and is not a zombie waiting for its reaper.
sub pid_running
{
	my ($pid) = @_;
	return 0 unless $pid && kill(0, $pid);
	open(my $fh, '<', "/proc/$pid/stat") or return 0;
	my $stat = <$fh>;
	close $fh;
	return ($stat // '') =~ /^\d+ \(.*\) Z/s ? 0 : 1;
}

1;
