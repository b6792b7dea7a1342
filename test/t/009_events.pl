# 009_events.pl — untrusted S3 event fields and bucket names (issue 10, items
# 4 and 5), from the side of whoever can send to the events queue or call
# vtp_enqueue. One message carries records naming another bucket, a bucket
# that would carry a host, an eTag with "\r\nX-Injected: 1", keys with control
# bytes and invalid UTF-8 (percent-encoded, as S3 sends them), a 2000-byte key
# and a forged 1000-digit sequencer for the real object, next to that
# object's genuine record: only the genuine one is registered and Published,
# each bad one leaves no row and one LOG line with its names escaped, the
# message is deleted (nothing waits in the queue or its dead-letter queue) and
# the ingest worker never ERRORs. vtp_enqueue with a bucket that names a
# local listener ("127.0.0.1:PORT/x#") under AWS's virtual-hosted addressing
# never reaches it.
use strict;
use warnings;
use lib 'test/perl';
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use VtpTest;

my $s = start_emulator();
my $node = vtp_node('events', $s);
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vtp');
my $started = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');

my $clip = media('ev-clip.mp4', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-t', '2',
	'-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p');
my $good = 'uploads/ev/good clip.mp4';
awscli('put', 'temp-video-bucket', $good, $clip);
my $h = decode_json(awscli('head', 'temp-video-bucket', $good));

# S3's record shape (aws.md); the key is given already percent-encoded
sub record
{
	my (%o) = @_;
	return {
		eventVersion => '2.1', eventSource => 'aws:s3', awsRegion => 'us-east-1',
		eventTime => '2026-12-02T00:00:00.000Z', eventName => 'ObjectCreated:Put',
		s3 => {
			s3SchemaVersion => '1.0', configurationId => 'vtp-uploads',
			bucket => { name => $o{bucket} // 'temp-video-bucket' },
			object => {
				key => $o{key}, size => $o{size} // 1000, eTag => $o{etag} // 'd41d8cd98f00b204e9800998ecf8427e',
				sequencer => $o{sequencer} // '0062E99A88DC407460' } } };
}

my @bad = (
	record(bucket => 'attacker-bucket', key => 'uploads/ev/other-bucket.mp4'),
	record(bucket => 'attacker.example/x#', key => 'uploads/ev/host-bucket.mp4'),
	record(key => 'uploads/ev/etag.mp4', etag => "abc\r\nX-Injected: 1"),
	record(key => 'uploads/ev/ctl%01%0D%0AX-Injected:+1.mp4'),
	record(key => 'uploads/ev/bad-utf8-%FF%FE%C0%AF.mp4'),
	record(key => 'uploads/ev/' . ('k' x 2000)),
	# the real object, announced with a forged version and the highest sequencer
	record(key => 'uploads/ev/good+clip.mp4', etag => '0123456789abcdef0123456789abcdef',
		sequencer => 'F' x 1000));
my $genuine = record(key => 'uploads/ev/good+clip.mp4', size => $h->{size}, etag => $h->{etag},
	sequencer => '0062E99A88DC407461');
awscli('send', $s->{events_queue_url}, encode_json({ Records => [ @bad, $genuine ] }));
# a message of nothing but a bad record is deleted too
awscli('send', $s->{events_queue_url},
	encode_json({ Records => [ record(key => 'uploads/ev/alone.mp4', etag => "\"abc\"\r\nX-Injected: 2") ] }));

my $id = wait_id($node, $good, 60);
ok($id, 'the genuine record beside seven bad ones is registered');
is(wait_status($node, $id, 180, 'Published', 'Failed'), 'Published', 'and its video is Published');
is($node->safe_psql('postgres', "SELECT etag FROM vtp_videos WHERE id = '$id'"), $h->{etag},
	'with the real ETag: the forged version did not supersede it');
is($node->safe_psql('postgres', "SELECT count(*) FROM vtp_videos WHERE id <> '$id'"), '0',
	'no bad record left a row')
  or diag($node->safe_psql('postgres', "SELECT bucket, left(key, 80), etag, source_sequencer FROM vtp_videos"));

ok(wait_until(30, sub { log_count($node, qr/vtp ingest: dropping a record of S3 notification/) >= 8 }),
	'eight bad records were dropped');
is(log_count($node, qr/vtp ingest: dropping a record of S3 notification/), 8, 'with one log line each');
my $log = slurp_file($node->logfile);
like($log, qr/bucket "attacker-bucket" is not a source bucket/, 'another bucket: dropped, named');
like($log, qr/bucket name has only lower-case letters.*bucket "attacker\.example\/x#"/, 'a bucket carrying a host: dropped');
like($log, qr/eTag is not hex digits \(bucket "temp-video-bucket", key "uploads\/ev\/etag\.mp4"\)/, 'the injected eTag: dropped');
like($log, qr/no control characters .*key "uploads\/ev\/ctl\\x01\\x0d\\x0aX-Injected: 1\.mp4"/,
	'control bytes in a key: dropped, shown escaped');
like($log, qr/valid UTF-8 .*key "uploads\/ev\/bad-utf8-\\xff\\xfe\\xc0\\xaf\.mp4"/, 'invalid UTF-8 in a key: dropped, shown escaped');
like($log, qr/at most 1024 bytes .*key "uploads\/ev\/k{50,}\.\.\."\)/, 'a 2000-byte key: dropped, shown cut');
like($log, qr/sequencer has more than 32 hex digits/, 'the forged sequencer: dropped');
unlike($log, qr/\r\nX-Injected|\x01|\xff\xfe/, 'no raw control or invalid byte reached the log');

ok(wait_until(30, sub { awscli('count', $s->{events_queue_url}) == 0 }), 'both event messages were deleted');
is(awscli('count', $s->{events_dlq_url}), 0, 'nothing went to the dead-letter queue');
is(log_count($node, qr/background worker "vtp ingest".*exited/), 0, 'the ingest worker never ERRORed');
is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $started, 'PostgreSQL did not restart');

# --- vtp_enqueue: refused before any request, even under virtual-hosted addressing
my $trap = IO::Socket::INET->new(Listen => 16, LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp')
  or die "listener: $!";
my $port = $trap->sockport;
$node->append_conf('postgresql.conf', "vtp.s3_endpoint = ''\nvtp.aws_max_retries = 0\nvtp.request_timeout = '3s'\n");
$node->reload;
$node->poll_query_until('postgres', "SELECT current_setting('vtp.s3_endpoint') = ''", 't')
  or die 'the reload was not seen';
for my $b ("127.0.0.1:$port/x#", "127.0.0.1:$port", 'attacker.example', "localhost:$port/")
{
	my ($rc, $out, $err) = $node->psql('postgres', "SELECT vtp_enqueue('$b', 'uploads/k.mp4')",
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($err, qr/ERROR:  22023: .*(not a valid S3 bucket name|not a source bucket)/, "vtp_enqueue('$b'): 22023");
}
ok(!IO::Select->new($trap)->can_read(2), 'the listener the buckets named saw no connection');

# an explicit source bucket is allowed; the temp bucket always is
awscli('put', 'output-video-bucket', 'imports/x.mp4', $clip);
$node->append_conf('postgresql.conf', "vtp.s3_endpoint = '$s->{endpoint}'\nvtp.source_buckets = 'media-archive, output-video-bucket'\n");
$node->reload;
$node->poll_query_until('postgres', "SELECT current_setting('vtp.source_buckets') <> ''", 't')
  or die 'the reload was not seen';
like($node->safe_psql('postgres', "SELECT vtp_enqueue('output-video-bucket', 'imports/x.mp4')"),
	qr/^[0-9a-f-]{36}$/, 'a bucket listed in vtp.source_buckets is a source');
$node->psql('postgres', "SELECT vtp_cancel(id) FROM vtp_videos WHERE bucket = 'output-video-bucket'");

$node->stop;
done_testing();
