# 015_credential_chain.pl — a cluster whose environment holds no AWS keys at
# all takes its credentials from an EC2 instance profile (IMDSv2 on a
# loopback server speaking the real protocol, test/emulator/credserver.mjs),
# as an operator's instance would. The keys live 12 s, so they are replaced
# several times while two videos go to Published; the signing proxy refuses
# an issued key after its expiry, and counts: none of vtp's requests came with
# an expired key or the static test key. The workers log which provider
# answered (never a key), and a SQL function in a session uses the same chain.
use strict;
use warnings;
use lib 'test/perl';
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use VtpTest;

my $s = start_emulator(cred => 1);
my $cred = $s->{cred_endpoint};
ok($cred, 'the credential services are up');

sub control
{
	my ($q) = @_;
	my ($out, $err);
	IPC::Run::run([ 'node', '-e',
		'fetch(process.argv[1], {method: process.argv[2] ? "POST" : "GET"}).then(r => r.text()).then(t => console.log(t))',
		"$cred/__creds" . ($q ? "?$q" : ''), ($q ? 'post' : '') ], '>', \$out, '2>', \$err)
	  or die "control $q: $err";
	return decode_json($out);
}

control('lifetime=12');
my $node = vtp_node('creds', $s, "vtp.transcode_workers = 2\n");
{
	# the postmaster's environment: no keys, no files, only the metadata endpoint
	local $ENV{AWS_ACCESS_KEY_ID};
	local $ENV{AWS_SECRET_ACCESS_KEY};
	delete $ENV{AWS_ACCESS_KEY_ID};
	delete $ENV{AWS_SECRET_ACCESS_KEY};
	local $ENV{AWS_SHARED_CREDENTIALS_FILE} = '/nonexistent/credentials';
	local $ENV{AWS_CONFIG_FILE} = '/nonexistent/config';
	local $ENV{AWS_EC2_METADATA_SERVICE_ENDPOINT} = $cred;
	$node->start;
}
$node->safe_psql('postgres', 'CREATE EXTENSION vtp');

my $clip = media('cred-clip.mp4', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-t', '6',
	'-f', 'lavfi', '-i', 'sine=frequency=440:duration=6', '-c:v', 'libx264', '-preset', 'ultrafast',
	'-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest');
my $t0 = time();
my $a = register($node, $s, 'uploads/cred/a.mp4', $clip);
sleep 7;
my $b = register($node, $s, 'uploads/cred/b.mp4', $clip);
is(wait_status($node, $a, 120, 'Published', 'Failed'), 'Published', 'first video Published on instance-profile credentials');
is(wait_status($node, $b, 120, 'Published', 'Failed'), 'Published', 'second video Published');
# keep the workers polling past a few more lifetimes
sleep 1 while time() - $t0 < 40;

my $st = control();
cmp_ok($st->{issued}{imds}, '>=', 3, "IMDS keys were fetched again before they expired ($st->{issued}{imds} issued in 40 s of 12-s keys)");
is($st->{expired_rejections}, 0, 'no request of vtp ever went out with an expired key');
is($st->{static_by_vtp} // 0, 0, 'no request of vtp used the static test key');
cmp_ok($st->{accepted_temporary}, '>', 20, 'vtp signed its S3 and SQS requests with the temporary keys');
is($st->{imdsv1_refused}, 0, 'IMDSv1 (a GET without a session token) was never tried');

my $log = slurp_file($node->logfile);
like($log, qr/vtp: AWS credentials from instance-metadata \(role vtp-instance-role\), temporary, expiring at/,
	'the workers log which provider answered');
my $n = () = $log =~ /AWS credentials from instance-metadata/g;
cmp_ok($n, '>=', 4, "each worker logs the provider and each refresh ($n lines)");
unlike($log, qr/ASIA[0-9A-F]{16}/, 'no issued access key id in the log');

# a SQL function in a session goes through the same chain
is($node->safe_psql('postgres', q{SELECT provider || ' ' || detail || ' ' || (expires_at > now()) || ' ' || (error IS NULL) FROM vtp_aws_credentials()}),
	'instance-metadata role vtp-instance-role true true', 'vtp_aws_credentials() names the provider and its expiry');
my $url = $node->safe_psql('postgres', q{SELECT url FROM vtp_output_urls((SELECT id FROM vtp_videos WHERE key = 'uploads/cred/a.mp4'), '10 minutes') LIMIT 1});
like($url, qr/X-Amz-Security-Token=/, 'a presigned URL from a session carries the session token');
my ($out, $err);
IPC::Run::run([ 'node', '-e', 'fetch(process.argv[1]).then(r => console.log(r.status))', $url ], '>', \$out, '2>', \$err);
chomp $out;
is($out, '200', 'and the proxy accepts it');


# a URL asked for longer than the temporary credentials live is shortened to
# their life, and says so: expires_at is the true one
# (each session fetches its own: a new backend is a new process)
control('lifetime=900');
my ($rc, $stdout, $stderr) = $node->psql('postgres',
	q{SELECT round(extract(epoch FROM expires_at - now()) / 60) FROM vtp_create_upload('x.mp4', '6 hours')});
ok($stdout =~ /^\d+$/ && $stdout >= 14 && $stdout <= 15, "an upload URL for 6 hours with 15-minute credentials expires with them ($stdout min)");
like($stderr, qr/NOTICE:  the URL expires in \d+ s, not 21600 s: it is signed with temporary AWS credentials \(instance-metadata\)/,
	'and a NOTICE says why');

# an upload URL of a known size: S3 (the proxy) takes exactly that many bytes
my $sized = $node->safe_psql('postgres', q{SELECT url FROM vtp_create_upload('sized.bin', '10 minutes', 1000)});
sub put_status
{
	my ($url, $n) = @_;
	my ($o, $e);
	IPC::Run::run([ 'node', '-e',
		'fetch(process.argv[1], {method: "PUT", body: Buffer.alloc(+process.argv[2], 120)}).then(r => console.log(r.status))',
		$url, $n ], '>', \$o, '2>', \$e);
	chomp $o;
	return $o;
}
is(put_status($sized, 999), '403', 'a PUT of another size than the one signed is refused');
is(put_status($sized, 1000), '200', 'the signed size goes in');

$node->stop;
done_testing();
