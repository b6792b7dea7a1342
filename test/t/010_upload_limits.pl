# 010_upload_limits.pl — the upload endpoint, attacked (issue 10 item 6): a
# client that trickles its headers or its body, one address holding many
# connections, token guessing, an ERROR inside a request, and a fast shutdown
# while requests are in flight. Each attack must cost the attacker, not the
# other clients: they keep being served throughout. Client addresses are
# separated with loopback sources (127.0.0.x).
use strict;
use warnings;
use lib 'test/perl';
use IO::Select;
use IO::Socket::INET;
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Socket qw(MSG_NOSIGNAL);
use Test::More;
use Time::HiRes qw(time sleep);
use VtpTest;

$SIG{PIPE} = 'IGNORE';
my $s = start_emulator();
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $node = vtp_node('limits', $s, qq{
vtp.upload_listen = '127.0.0.1:$port'
vtp.upload_max_concurrent = 4
vtp.upload_idle_timeout = 5s
vtp.upload_max_per_address = 4
vtp.upload_header_timeout = 3s
vtp.upload_min_rate = '64kB'
vtp.upload_rate_window = 3s
vtp.upload_auth_max_failures = 5
vtp.upload_auth_window = 60s
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vtp');
my $base = "http://127.0.0.1:$port";
my $token = $node->safe_psql('postgres', "SELECT vtp_create_token('limits')");
my $tiny = "$PostgreSQL::Test::Utils::tmp_check/tiny.bin";
append_to_file($tiny, 'not a video');
my $nobody = '00000000-0000-4000-8000-000000000000';

# curl from a given loopback source address: (status, body, headers)
sub http
{
	my ($from, @args) = @_;
	my ($out, $err);
	IPC::Run::run([ 'curl', '-sS', '-i', '--max-time', '20', '--interface', $from, @args ], '>', \$out, '2>', \$err);
	$out //= '';
	$out =~ s/^HTTP\/1\.1 100 Continue\r\n\r\n//;
	my ($code) = $out =~ /^HTTP\/1\.\d (\d+)/;
	my ($head, $body) = split /\r\n\r\n/, $out, 2;
	return ($code // 0, $body // '', $head // '');
}
sub upload { my ($from) = @_; return http($from, '-X', 'POST', '--data-binary', "\@$tiny", '-H', "Authorization: Bearer $token", "$base/videos"); }
sub worker_pid { return $node->safe_psql('postgres', "SELECT pid FROM pg_stat_activity WHERE backend_type = 'vtp upload'"); }

# a raw connection from $from; returns the socket
sub raw
{
	my ($from) = @_;
	my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, LocalAddr => $from, Proto => 'tcp')
	  or die "connect from $from: $!";
	return $sock;
}
# true once the server has closed $sock (waits up to $wait seconds)
sub closed_by_server
{
	my ($sock, $wait) = @_;
	return 0 unless IO::Select->new($sock)->can_read($wait);
	my $n = sysread($sock, my $buf, 65536);
	return 1 if !defined($n) || $n == 0;
	return closed_by_server($sock, $wait);    # an answer came first: drain it
}

$node->poll_query_until('postgres', "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'vtp upload' AND query LIKE 'listening%'")
  or die 'the upload server did not start listening';
my $pid0 = worker_pid();
my ($code, $body, $head) = upload('127.0.0.1');
is($code, 201, 'a normal upload: 201');

# --- slow headers: one byte a second is cut at the header deadline (3 s), not at the idle timeout (5 s)
{
	my $sock = raw('127.0.0.1');
	my $t0 = time();
	my $req = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " . ('a' x 40);
	my ($cut, $other) = (undef, 0);
	for my $i (0 .. length($req) - 1)
	{
		last unless defined send($sock, substr($req, $i, 1), MSG_NOSIGNAL);
		if ($i == 1)
		{
			# meanwhile another connection is served as usual
			($other) = upload('127.0.0.2');
		}
		if (closed_by_server($sock, 1)) { $cut = time() - $t0; last; }
		last if time() - $t0 > 12;
	}
	ok(defined $cut, 'a client trickling its headers a byte a second is disconnected');
	$cut //= 99;
	cmp_ok($cut, '>=', 2.5, 'not before vtp.upload_header_timeout (3 s)');
	cmp_ok($cut, '<', 4.9, 'but at it, before the 5 s idle timeout could');
	diag(sprintf('figure: byte-a-second headers cut after %.2f s (header deadline 3 s)', $cut));
	is($other, 201, 'an upload on another connection meanwhile: 201');
}

# --- connections per address: the fifth from 127.0.0.1 is refused, 127.0.0.2 is served
{
	my @held = map { my $c = raw('127.0.0.1'); send($c, 'GET /hea', MSG_NOSIGNAL); $c } 1 .. 4;
	sleep 0.3;
	my $fifth = raw('127.0.0.1');
	send($fifth, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", MSG_NOSIGNAL);
	my $answer = '';
	if (IO::Select->new($fifth)->can_read(2)) { sysread($fifth, $answer, 4096); }
	unlike($answer // '', qr{^HTTP/}, 'a fifth connection from one address gets no answer (vtp.upload_max_per_address = 4)');
	ok(closed_by_server($fifth, 2), 'it is closed at once');
	($code) = http('127.0.0.2', "$base/healthz");
	is($code, 200, 'another address is served meanwhile');
	($code) = upload('127.0.0.2');
	is($code, 201, 'and can upload');
	close($_) for @held, $fifth;
	sleep 0.5;
	($code) = http('127.0.0.1', "$base/healthz");
	is($code, 200, 'once its connections close, the address is served again');
}

# --- a body below vtp.upload_min_rate is cut off and leaves no multipart upload
{
	my $sock = raw('127.0.0.1');
	my $len = 8 * 1024 * 1024;
	send($sock, "POST /videos?filename=trickle.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $token\r\nContent-Length: $len\r\n\r\n", MSG_NOSIGNAL);
	my $chunk = 'x' x (64 * 1024);
	for (1 .. 96) { last unless defined send($sock, $chunk, MSG_NOSIGNAL); }    # 6 MiB fast: the first part goes out
	my $began = wait_until(10, sub { awscli('uploads', 'temp-video-bucket') ne '' });
	ok($began, 'the upload began a multipart upload');
	my $t0 = time();
	my $cut;
	while (time() - $t0 < 20)
	{
		last unless defined send($sock, 'x' x 1024, MSG_NOSIGNAL);    # then 1 kB/s
		if (closed_by_server($sock, 1)) { $cut = time() - $t0; last; }
	}
	ok(defined $cut, 'a body trickling at 1 kB/s (below 64 kB/s) is cut off');
	cmp_ok($cut // 99, '<', 10, 'within a few rate windows (3 s), though it never idles 5 s');
	diag(sprintf('figure: a 1 kB/s body cut %.2f s after it slowed (window 3 s, minimum 64 kB/s)', $cut // -1));
	ok(wait_until(10, sub { awscli('uploads', 'temp-video-bucket') eq '' }), 'its multipart upload is aborted');
	is(scalar(grep { /trickle/ } split(/\n/, awscli('list', 'temp-video-bucket', 'uploads/'))), 0, 'and no object is left');
	close($sock);
}

# --- failed tokens: after 5 from one address, 429 with Retry-After, without the database
{
	my @codes = map { (http('127.0.0.5', '-H', 'Authorization: Bearer vtp_guess' . $_, "$base/videos/$nobody"))[0] } 1 .. 5;
	is("@codes", '401 401 401 401 401', 'five bad tokens: 401 each');
	($code, $body, $head) = http('127.0.0.5', '-H', 'Authorization: Bearer vtp_guess6', "$base/videos/$nobody");
	is($code, 429, 'the sixth: 429');
	like($head, qr/^Retry-After: \d+\r?$/mi, 'with Retry-After');
	# hold the token table: a request that reached the database would wait for the lock
	my ($in, $out) = ("BEGIN;\nLOCK TABLE vtp_tokens IN ACCESS EXCLUSIVE MODE;\nSELECT 'locked';\n", '');
	my $locker = IPC::Run::start([ 'psql', '-XAtq', '-d', $node->connstr('postgres') ], '<', \$in, '>', \$out, '2>', \my $lerr);
	$locker->pump until $out =~ /locked/;
	my $t0 = time();
	($code) = http('127.0.0.5', '-H', "Authorization: Bearer $token", "$base/videos/$nobody");
	my $took = time() - $t0;
	is($code, 429, 'a throttled address gets 429 even with a good token');
	cmp_ok($took, '<', 3, 'at once although the token table is locked: the database was not asked');
	diag(sprintf('figure: throttled answer in %.2f s with vtp_tokens locked', $took));
	$in .= "COMMIT;\n\\q\n";
	$locker->finish;
	($code) = http('127.0.0.6', '-H', "Authorization: Bearer $token", "$base/videos/$nobody");
	is($code, 404, 'a good token from another address works (404: no such video)');
}

# --- an ERROR inside a request answers 500; the endpoint and its worker go on
{
	$node->safe_psql('postgres', 'ALTER TABLE vtp_tokens RENAME TO vtp_tokens_away');
	($code, $body) = upload('127.0.0.7');
	is($code, 500, 'a request whose token check ERRORs (the table is gone): 500');
	is($body, qq({"error":"internal error"}\n), 'saying only "internal error"');
	$node->safe_psql('postgres', 'ALTER TABLE vtp_tokens_away RENAME TO vtp_tokens');
	($code) = upload('127.0.0.7');
	is($code, 201, 'the next request: 201');
	is(worker_pid(), $pid0, 'by the same upload worker: it did not exit or restart');
	ok(log_count($node, qr/vtp upload: request failed with SQLSTATE 42P01, answered 500/) >= 1, 'the ERROR is logged with its SQLSTATE');
}

# --- what was refused is counted and logged, one line at most every 10 s
sub refusals
{
	my @lines = grep { /vtp upload: refused since the last report/ } split /\n/, slurp_file($node->logfile);
	my %sum = (lines => scalar(@lines));
	for (@lines)
	{
		$sum{addr} += $1 if /(\d+) connections over vtp\.upload_max_per_address/;
		$sum{header} += $1 if /(\d+) past vtp\.upload_header_timeout/;
		$sum{slow} += $1 if /(\d+) bodies below vtp\.upload_min_rate/;
		$sum{auth} += $1 if /(\d+) requests throttled/;
		$sum{err} += $1 if /(\d+) requests answered 500/;
	}
	return \%sum;
}
my $sum;
wait_until(25, sub { $sum = refusals(); ($sum->{err} // 0) >= 1 });
cmp_ok($sum->{addr} // 0, '>=', 1, 'the log counts the per-address refusal');
cmp_ok($sum->{header} // 0, '>=', 1, 'the header deadline');
cmp_ok($sum->{slow} // 0, '>=', 1, 'the slow body');
cmp_ok($sum->{auth} // 0, '>=', 2, 'the throttled tokens');
cmp_ok($sum->{err} // 0, '>=', 1, 'and the 500');
diag(sprintf('figure: %d report lines: %d per-address, %d header deadline, %d slow body, %d throttled, %d answered 500',
	map { $sum->{$_} // 0 } qw(lines addr header slow auth err)));

# --- a fast shutdown with requests in flight: one waiting for the database, one half sent
{
	my ($in, $out) = ("BEGIN;\nLOCK TABLE vtp_tokens IN ACCESS EXCLUSIVE MODE;\nSELECT 'locked';\n", '');
	my $locker = IPC::Run::start([ 'psql', '-XAtq', '-d', $node->connstr('postgres') ], '<', \$in, '>', \$out, '2>', \my $lerr);
	$locker->pump until $out =~ /locked/;
	my $waiting = IPC::Run::start([ 'curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '60',
		'--interface', '127.0.0.8', '-H', "Authorization: Bearer $token", "$base/videos/$nobody" ], '>', \my $wcode, '2>', \my $werr);
	my $half = raw('127.0.0.9');
	send($half, "POST /videos HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $token\r\nContent-Length: 1000000\r\n\r\n" . ('x' x 1000), MSG_NOSIGNAL);
	sleep 1.5;    # the token check is in the worker, waiting for the lock
	my $t0 = time();
	my $rc = system('pg_ctl', '-D', $node->data_dir, '-m', 'fast', '-w', '-t', '30', 'stop');
	my $took = time() - $t0;
	is($rc, 0, 'pg_ctl stop -m fast succeeds with a request waiting in the worker and a body half sent');
	cmp_ok($took, '<', 8, 'within a few seconds');
	diag(sprintf('figure: fast shutdown with requests in flight took %.2f s', $took));
	$waiting->finish;
	# 503/000: the worker stopped first; 404 (the video is unknown): the
	# locker's session ended first and the worker answered before it stopped
	like($wcode // '', qr/^(503|000|404)$/, "the waiting request ends ($wcode) instead of hanging");
	$locker->kill_kill;
	if ($rc == 0) { $node->_update_pid(0); }
	else { system('pg_ctl', '-D', $node->data_dir, '-m', 'immediate', 'stop'); $node->_update_pid(0); }
}
unlike(slurp_file($node->logfile), qr/\Q$token\E/, 'the token never reaches the log');
done_testing();
