# 003_upload.pl — the upload entrances: the HTTP upload server (streamed
# multipart into the temp bucket, bearer tokens, limits, clean aborts) and
# presigned direct uploads and downloads.
use strict;
use warnings;
use lib 'test/perl';
use IO::Socket::INET;
use IPC::Run;
use Digest::SHA qw(sha256_hex);
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use VtpTest;

my $s = start_emulator();
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $node = vtp_node('upload', $s, qq{
vtp.upload_listen = '127.0.0.1:$port'
vtp.upload_max_bytes = '400MB'
vtp.upload_max_concurrent = 2
vtp.upload_idle_timeout = 3s
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vtp');
my $base = "http://127.0.0.1:$port";
my $token = $node->safe_psql('postgres', "SELECT vtp_create_token('tests')");
like($token, qr/^vtp_[0-9a-f]{64}$/, 'vtp_create_token shows a token once');
is($node->safe_psql('postgres', "SELECT count(*) FROM vtp_tokens WHERE token_sha256 = '" . sha256_hex($token) . "'"),
	'1', 'only its SHA-256 is stored');

# curl: returns (status, body)
sub http
{
	my (@args) = @_;
	my ($out, $err);
	IPC::Run::run([ 'curl', '-sS', '-o', '-', '-w', '\n%{http_code}', @args ], '>', \$out, '2>', \$err);
	my ($body, $code) = $out =~ /^(.*)\n(\d+)$/s;
	return ($code // 0, $body // '');
}
sub post
{
	my ($file, $query, @extra) = @_;
	return http('-X', 'POST', '--data-binary', "\@$file", '-H', 'Content-Type: video/mp4', @extra,
		"$base/videos$query");
}
my @auth = ('-H', "Authorization: Bearer $token");

$node->poll_query_until('postgres', "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'vtp upload' AND query LIKE 'listening%'")
  or die 'the upload server did not start listening';
my ($code, $body) = http("$base/healthz");
is($code, 200, 'GET /healthz answers 200');

my $clip = media('up1080.mp4', '-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30', '-f', 'lavfi',
	'-i', 'sine=frequency=500:sample_rate=48000', '-t', '4', '-c:v', 'libx264', '-preset', 'ultrafast',
	'-b:v', '12M', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest');

($code) = post($clip, '');
is($code, 401, 'no token: 401');
($code) = post($clip, '', '-H', 'Authorization: Bearer vtp_0000');
is($code, 401, 'a wrong token: 401');

# an upload over HTTP becomes a Published video
($code, $body) = post($clip, '?filename=' . 'my%20holiday%20clip.mp4', @auth);
is($code, 201, 'POST /videos answers 201');
my $j = eval { decode_json($body) } // {};
like($j->{id} // '', qr/^[0-9a-f-]{36}$/, 'with the video id');
is($j->{status}, 'Pending', 'status Pending');
is($j->{key}, "uploads/$j->{id}/my_holiday_clip.mp4", 'the server made the key from the id and a safe name');
isnt($node->safe_psql('postgres', "SELECT status FROM vtp_videos WHERE id = '$j->{id}'"), '',
	'the row exists as soon as the answer does');
is(wait_status($node, $j->{id}, 240, 'Published', 'Failed'), 'Published', 'the uploaded video is Published');
($code, $body) = http(@auth, "$base/videos/$j->{id}");
is($code, 200, 'GET /videos/{id} answers 200');
my $v = eval { decode_json($body) } // {};
is($v->{status}, 'Published', 'with the status');
is(scalar(@{ $v->{renditions} // [] }), 3, 'and three renditions');
my ($r720) = grep { $_->{name} eq '720p' } @{ $v->{renditions} // [] };
my $dl = "$PostgreSQL::Test::Utils::tmp_check/via-url.mp4";
IPC::Run::run([ 'curl', '-sS', '-f', '-o', $dl, $r720->{url} // 'http://127.0.0.1:1/' ]);
ok(-s $dl && -s $dl == $r720->{bytes}, 'its presigned URL downloads the rendition');
($code) = http("$base/videos/$j->{id}");
is($code, 401, 'GET without a token: 401');
($code) = http(@auth, "$base/videos/00000000-0000-4000-8000-000000000000");
is($code, 404, 'an unknown id: 404');

# client names never leave uploads/<id>/
my $tiny = "$PostgreSQL::Test::Utils::tmp_check/tiny.bin";
append_to_file($tiny, 'not a video');
for my $name ('..%2F..%2Fetc%2Fpasswd', 'a%20b%2Bc%25d', '%C3%A9t%C3%A9%20%E6%97%A5%E6%9C%AC.mov', '%2E%2E')
{
	($code, $body) = post($tiny, "?filename=$name", @auth);
	my $k = (eval { decode_json($body) } // {})->{key} // '';
	like($k, qr{^uploads/[0-9a-f-]{36}/[A-Za-z0-9._-]+$}, "filename=$name stays inside uploads/<id>/ ($k)");
}
($code, $body) = post($tiny, '', @auth, '-H', 'Content-Disposition: attachment; filename="../x y.mp4"');
like((eval { decode_json($body) } // {})->{key} // '', qr{^uploads/[0-9a-f-]{36}/x_y\.mp4$}, 'Content-Disposition names it too');

# limits
my $big = "$PostgreSQL::Test::Utils::tmp_check/big.bin";
IPC::Run::run([ 'dd', 'if=/dev/urandom', "of=$big", 'bs=1M', 'count=300', 'status=none' ]) or die;
$node->safe_psql('postgres', "ALTER SYSTEM SET vtp.upload_max_bytes = '100MB'");
$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
sleep 11;    # the server applies settings within 10 s
($code) = http('-X', 'POST', '-T', $big, @auth, "$base/videos?filename=over1.bin");
is($code, 413, 'over vtp.upload_max_bytes (Content-Length): 413 before reading');
# chunked: the limit is found while reading; the server answers 413 and closes,
# which a client still sending may see as a reset instead
($code) = http('-X', 'POST', '-T', $big, '-H', 'Transfer-Encoding: chunked', @auth, "$base/videos?filename=over2.bin");
ok($code == 413 || $code == 100 || $code == 0, "over vtp.upload_max_bytes while streaming: refused");
diag("figure: chunked upload over the limit: the client saw HTTP $code (413, or 100/000 when cut off mid-send)");
sleep 1;
is(awscli('uploads', 'temp-video-bucket'), '', 'no multipart upload is left behind');
is(scalar(grep { /over/ } split(/\n/, awscli('list', 'temp-video-bucket', 'uploads/'))), 0, 'and no object');
$node->safe_psql('postgres', "ALTER SYSTEM SET vtp.upload_max_bytes = '400MB'");
$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
sleep 11;

# a 300 MiB upload: the worker's memory stays flat
my $pid = $node->safe_psql('postgres', "SELECT pid FROM pg_stat_activity WHERE backend_type = 'vtp upload'");
sub rss { my ($kb) = slurp_file("/proc/$pid/status") =~ /VmRSS:\s+(\d+)/; return $kb / 1024; }
my $rss0 = rss();
my $bigcode = "$PostgreSQL::Test::Utils::tmp_check/bigcode";
my $h = IPC::Run::start([ 'curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST', '-T', $big,
	@auth, "$base/videos?filename=big.bin" ], '>', $bigcode);
my ($peak, $samples) = ($rss0, 0);
while (1)
{
	my $r = rss();
	$peak = $r if $r > $peak;
	$samples++;
	last unless $h->pumpable;
	$h->pump_nb;
	sleep 0.05;
}
$h->finish;
is(slurp_file($bigcode), '201', '300 MiB streamed through the server: 201');
cmp_ok($samples, '>', 20, "RSS sampled $samples times during the upload");
cmp_ok($peak - $rss0, '<', 32, 'the upload worker\'s RSS stays within 32 MiB of where it was');
diag(sprintf('figure: 300 MiB upload: worker RSS %.1f MiB -> peak %.1f MiB (+%.1f), %d samples', $rss0, $peak, $peak - $rss0, $samples));

# a client that disconnects halfway leaves nothing
my $h2 = IPC::Run::start([ 'curl', '-sS', '-o', '/dev/null', '--limit-rate', '20M', '-X', 'POST', '-T', $big,
	@auth, "$base/videos?filename=cutoff.bin" ], '2>', \my $cerr);
sleep 1.5;
$h2->kill_kill;
sleep 2;
is(scalar(grep { /cutoff/ } split(/\n/, awscli('list', 'temp-video-bucket', 'uploads/'))), 0,
	'a cut-off upload leaves no object');
is(awscli('uploads', 'temp-video-bucket'), '', 'and no multipart upload');

# a stalled client is cut off; a slow but moving one is not
sub raw_upload
{
	my ($chunks, $pause) = @_;
	my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port) or die $!;
	my $len = 64 * 1024 * $chunks + ($pause > 5 ? 64 * 1024 : 0);
	print $sock "POST /videos?filename=slow.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $token\r\nContent-Length: $len\r\n\r\n";
	for (1 .. $chunks) { print $sock ('x' x (64 * 1024)); sleep $pause; }
	local $/;
	$sock->timeout(20);
	my $resp = <$sock> // '';
	return $resp;
}
like(raw_upload(6, 1), qr{^HTTP/1\.1 201}, 'a slow upload that keeps moving completes');
my $t0 = time();
is(raw_upload(1, 8), '', 'a client that stalls past vtp.upload_idle_timeout is disconnected');
cmp_ok(time() - $t0, '<', 15, 'within the timeout');
sleep 1;
is(awscli('uploads', 'temp-video-bucket'), '', 'leaving no multipart upload');

# at most vtp.upload_max_concurrent at once: 503 with Retry-After
my @slow = map {
	IPC::Run::start([ 'curl', '-sS', '-o', '/dev/null', '--limit-rate', '2M', '-X', 'POST', '-T', $big,
		@auth, "$base/videos?filename=slow$_.bin" ], '2>', \my $e)
} 1 .. 2;
sleep 2;
my ($out, $err);
IPC::Run::run([ 'curl', '-sS', '-i', '-X', 'POST', '--data-binary', "\@$tiny", @auth, "$base/videos" ], '>', \$out, '2>', \$err);
like($out, qr{^HTTP/1\.1 503}, 'a third concurrent upload: 503');
like($out, qr{^Retry-After: \d+}mi, 'with Retry-After');
$_->kill_kill for @slow;
sleep 2;
is(awscli('uploads', 'temp-video-bucket'), '', 'the killed uploads left no multipart upload');

# revoked tokens stop working at once
$node->safe_psql('postgres', "SELECT vtp_revoke_token('tests')");
($code) = post($tiny, '', @auth);
is($code, 401, 'a revoked token: 401');

# presigned direct upload: PUT to the URL, S3 announces it, it is transcoded
my ($vid, $url, $exp) = split /\|/, $node->safe_psql('postgres',
	"SELECT video_id, url, expires_at > now() FROM vtp_create_upload('phone clip (1).mp4', '10 minutes')");
like($url, qr{/temp-video-bucket/uploads/\Q$vid\E/phone_clip_1_\.mp4\?.*X-Amz-Signature=}, 'vtp_create_upload gives a presigned PUT URL');
is($exp, 't', 'and its expiry');
($code) = http('-X', 'PUT', '--data-binary', "\@$clip", '-H', 'Content-Type: video/mp4', $url);
is($code, 200, 'curl PUT to the presigned URL: 200');
awscli('notify', $s->{events_queue_url}, 'temp-video-bucket', "uploads/$vid/phone_clip_1_.mp4");
is(wait_status($node, $vid, 240, 'Published', 'Failed'), 'Published', 'the directly uploaded video is Published, under the same id');
my @urls = split /\n/, $node->safe_psql('postgres', "SELECT rendition || ' ' || url FROM vtp_output_urls('$vid', '5 minutes')");
is(scalar(@urls), 3, 'vtp_output_urls: one URL per rendition');
my ($u480) = map { (split / /)[1] } grep { /^480p / } @urls;
($code) = http('-o', '/dev/null', $u480);
is($code, 200, 'a rendition URL downloads');
my ($gone) = $node->safe_psql('postgres', "SELECT url FROM vtp_create_upload('late.mp4', '1 second')");
sleep 2.5;
($code) = http('-X', 'PUT', '--data-binary', "\@$tiny", '-H', 'Content-Type: video/mp4', $gone);
is($code, 403, 'an expired presigned URL is refused by the S3 server (it verifies signatures)');
my ($ret, $o, $e) = $node->psql('postgres', "SELECT vtp_create_upload('x', '8 days')");
like($e, qr/expires_in must be between 1 second and 7 days/, 'expiry beyond SigV4\'s 7 days is refused');

$node->stop('fast');
unlike(slurp_file($node->logfile), qr/\Q$token\E/, 'the token never reaches the log');
done_testing();
