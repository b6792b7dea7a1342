# 007_ops.pl — what a DBA sees and does. Workers wait for ALTER EXTENSION
# UPDATE after an upgrade; vtp_workers shows a running transcode (video,
# progress, the child's pid, heartbeats); vtp_queue the last hour;
# vtp_failures the reasons. vtp_retry brings a Failed video back from its
# kept original; vtp_cancel stops a running transcode (no child, no scratch,
# its partial uploads removed); vtp_delete removes a video and its objects;
# vtp.failed_retention removes the originals of old failures. Every GUC and
# SQL object is documented in docs/.
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
my $node = vtp_node('ops', $s, q{
vtp.transcode_threads = 1
vtp.reconcile_interval = '1s'
});
$node->start;
sub sql { return $node->safe_psql('postgres', $_[0]); }

my $clip = media('o-clip.mp4', '-f', 'lavfi', '-i', 'testsrc2=size=854x480:rate=30', '-f', 'lavfi', '-i', 'sine',
	'-t', '4', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest');
my $long = media('o-long.mp4', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-f', 'lavfi', '-i', 'sine',
	'-t', '30', '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '1M', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest');

# --- an upgrade: the library is 1.4, the database still has 1.0
sql("CREATE EXTENSION vtp VERSION '1.0'");
ok($node->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'vtp transcode' AND query LIKE 'waiting: extension vtp is at version 1.0 but the library is 1.4: run ALTER EXTENSION vtp UPDATE'"),
	'with the 1.0 schema the workers wait, saying to run ALTER EXTENSION vtp UPDATE');
awscli('put', 'temp-video-bucket', 'uploads/upgrade/before.mp4', $clip);
awscli('notify', $s->{events_queue_url}, 'temp-video-bucket', 'uploads/upgrade/before.mp4');
sleep 2;
is(sql("SELECT count(*) FROM vtp_videos"), '0', 'and touch nothing meanwhile (the event waits in its queue)');
sql('ALTER EXTENSION vtp UPDATE');
is(sql("SELECT extversion FROM pg_extension WHERE extname = 'vtp'"), '1.4', 'ALTER EXTENSION vtp UPDATE (1.0 -> 1.1 -> 1.2 -> 1.3 -> 1.4)');
my $before = wait_id($node, 'uploads/upgrade/before.mp4', 60);
is(wait_status($node, $before, 120, 'Published', 'Failed'), 'Published', 'after the update the waiting upload is Published');

# --- vtp_workers during a transcode
{
	my $id = register($node, $s, 'uploads/ops/long.mp4', $long);
	ok($node->poll_query_until('postgres',
			"SELECT progress > 5 FROM vtp_workers WHERE video_id = '$id' AND state = 'transcoding'"),
		'vtp_workers shows the transcode, with progress');
	my ($role, $state, $attempt, $child, $beat, $since) = split /\|/, sql(
		"SELECT role, state, attempt, child_pid, now() - last_heartbeat < interval '10 seconds', state_since <= now()
		   FROM vtp_workers WHERE video_id = '$id'");
	is("$role $state $attempt", 'transcode transcoding 1', 'role, state and attempt');
	ok($child && kill(0, $child), "the transcoder's pid ($child), alive");
	is($beat, 't', 'a recent heartbeat (the lease is renewed)');
	is(sql("SELECT string_agg(role, ',' ORDER BY role) FROM vtp_workers"), 'ingest,reconcile,transcode',
		'one row per worker: ingest, reconcile, transcode');
	is(sql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'vtp transcode' AND query LIKE 'transcoding $id: %'"),
		'1', 'pg_stat_activity shows the same');

	# --- vtp_cancel of the running transcode
	my $scratch = $node->data_dir . '/base/pgsql_tmp/vtp/w1';
	is(sql("SELECT vtp_cancel('$id')"), 'Processing', 'vtp_cancel returns the status it had');
	ok(wait_until(10, sub { !kill(0, $child) }), 'the transcoder is gone within seconds');
	is(wait_status($node, $id, 10, 'Failed'), 'Failed', 'the video is Failed');
	is(sql("SELECT error_code FROM vtp_videos WHERE id = '$id'"), 'cancelled', 'reason cancelled');
	ok(wait_until(10, sub { !-e "$scratch/$id" }), 'nothing of it is left in scratch');
	ok($node->poll_query_until('postgres', "SELECT video_id IS NULL FROM vtp_workers WHERE role = 'transcode'"),
		'the worker is free again');
	like(awscli('head', 'temp-video-bucket', 'uploads/ops/long.mp4'), qr/"status":200/, 'the original is kept for a retry');
	is(sql("SELECT vtp_retry('$id')"), 'Pending', 'vtp_retry of the cancelled video');
	is(wait_status($node, $id, 180, 'Published', 'Failed'), 'Published', 'and it is Published');
	is(sql("SELECT attempts FROM vtp_videos WHERE id = '$id'"), '1', 'with fresh attempts');
}

# --- cancel while a rendition upload waits on S3: the renditions already uploaded are removed
{
	my $id = register($node, $s, 'uploads/ops/partial.mp4', media('o-720.mp4', '-f', 'lavfi', '-i',
		'testsrc2=size=1280x720:rate=30', '-t', '3', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'));
	# S3 throttles every PUT of its 720p rendition; the 480p one goes through
	awscli('fail', 'PUT', "/output-video-bucket/videos/$id/720p", 100000);
	ok($node->poll_query_until('postgres', "SELECT state = 'waiting for storage' FROM vtp_workers WHERE video_id = '$id'"),
		'the upload waits for S3 (SlowDown)');
	like(awscli('head', 'output-video-bucket', "videos/$id/480p.mp4"), qr/"status":200/, '480p was uploaded');
	is(sql("SELECT vtp_cancel('$id')"), 'Processing', 'cancelled mid-upload');
	ok(wait_until(30, sub { awscli('list', 'output-video-bucket', "videos/$id/") eq '' }),
		'its partial uploads are removed from the output bucket');
	is(sql("SELECT reason FROM vtp_failures WHERE id = '$id'"), 'cancelled', 'vtp_failures lists it, reason cancelled');
}

# --- a Failed video, retried from its kept original
{
	sql("ALTER SYSTEM SET vtp.max_duration = '2s'");
	sql('SELECT pg_reload_conf()');
	sleep 1;
	my $id = register($node, $s, 'uploads/ops/too-long.mp4', $clip);
	is(wait_status($node, $id, 60, 'Failed', 'Published'), 'Failed', 'over vtp.max_duration: Failed');
	is(sql("SELECT reason || ' ' || original_kept FROM vtp_failures WHERE id = '$id'"), 'too_long true',
		'vtp_failures: too_long, original kept');
	sql('ALTER SYSTEM RESET vtp.max_duration');
	sql('SELECT pg_reload_conf()');
	sleep 1;
	is(sql("SELECT vtp_retry('$id')"), 'Pending', 'vtp_retry');
	is(wait_status($node, $id, 120, 'Published', 'Failed'), 'Published', 'the retried video is Published');
	my ($ret, $out, $err) = $node->psql('postgres', "SELECT vtp_retry('$id')", extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($err, qr/55000.*only a Failed video can be retried/s, 'a Published video cannot be retried (55000)');
}

# --- vtp.failed_retention removes the originals of old failures
{
	my $txt = "$PostgreSQL::Test::Utils::tmp_check/not-a-video.mp4";
	append_to_file($txt, "hello\n" x 100);
	my $id = register($node, $s, 'uploads/ops/junk.mp4', $txt);
	is(wait_status($node, $id, 60, 'Failed', 'Published'), 'Failed', 'a text file is Failed');
	like(awscli('head', 'temp-video-bucket', 'uploads/ops/junk.mp4'), qr/"status":200/, 'its original is kept');
	sql("ALTER SYSTEM SET vtp.failed_retention = '1s'");
	sql('SELECT pg_reload_conf()');
	ok(wait_until(30, sub { awscli('head', 'temp-video-bucket', 'uploads/ops/junk.mp4') =~ /"status":404/ }),
		'past vtp.failed_retention the original is removed');
	is(sql("SELECT source_deleted_at IS NOT NULL FROM vtp_videos WHERE id = '$id'"), 't', 'and the row knows');
	my ($ret, $out, $err) = $node->psql('postgres', "SELECT vtp_retry('$id')", extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($err, qr/55000.*original of video $id was removed/s, 'vtp_retry then says the original is gone (55000)');
	sql('ALTER SYSTEM RESET vtp.failed_retention');
	sql('SELECT pg_reload_conf()');
}

# --- vtp_delete: the row now, its objects after commit
{
	my $id = $before;
	my @objs = split /\n/, awscli('list', 'output-video-bucket', "videos/$id/");
	ok(scalar(@objs) >= 1, 'a Published video has renditions in S3');
	sql("SELECT vtp_delete('$id')");
	is(sql("SELECT count(*) FROM vtp_videos WHERE id = '$id'") . sql("SELECT count(*) FROM vtp_renditions WHERE video_id = '$id'"),
		'00', 'vtp_delete removes the row and its renditions');
	ok(wait_until(30, sub { awscli('list', 'output-video-bucket', "videos/$id/") eq '' }), 'and the objects in S3');

	# and a video being transcoded
	my $id2 = register($node, $s, 'uploads/ops/delete-me.mp4', $long);
	my $child = wait_until(60, sub { sql("SELECT child_pid FROM vtp_workers WHERE video_id = '$id2' AND child_pid IS NOT NULL") });
	ok($child, 'a transcode is running');
	sql("SELECT vtp_delete('$id2')");
	ok(wait_until(10, sub { !kill(0, $child) }), 'vtp_delete of a running video stops its transcoder');
	ok(wait_until(30, sub { awscli('head', 'temp-video-bucket', 'uploads/ops/delete-me.mp4') =~ /"status":404/ }),
		'and removes its original');
	is(awscli('list', 'output-video-bucket', "videos/$id2/"), '', 'nothing of it is in the output bucket');
}

# --- vtp_queue: counts, the last hour's throughput and latency
{
	my ($n, $last, $lat) = split /\|/, sql(
		"SELECT videos, last_hour, extract(epoch FROM median_latency_last_hour) > 0 FROM vtp_queue WHERE status = 'Published'");
	cmp_ok($n, '>=', 2, "vtp_queue: $n Published");
	is($last, $n, 'all of them in the last hour (throughput)');
	is($lat, 't', 'with a median latency');
	is(sql("SELECT videos FROM vtp_queue WHERE status = 'Processing'"), '0', 'none Processing');
	is(sql("SELECT count(*) FROM vtp_trash"), '0', 'the trash is empty');
}

# --- every GUC and every SQL object is documented
{
	my $docs = join("\n", map { slurp_file($_) } glob('docs/*.md'));
	my @gucs = split /\n/, sql("SELECT name FROM pg_settings WHERE name LIKE 'vtp.%' ORDER BY 1");
	my @missing = grep { $docs !~ /`\Q$_\E`/ } @gucs;
	is_deeply(\@missing, [], 'docs/ name every one of the ' . scalar(@gucs) . ' GUCs');
	my @objs = split /\n/, sql(
		"SELECT DISTINCT regexp_replace(pg_describe_object(classid, objid, 0), '^(function|view|table|type) ([a-z_]+).*', '\\2')
		   FROM pg_depend WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
		    AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'vtp')
		    AND pg_describe_object(classid, objid, 0) ~ '^(function|view|table|type) vtp_'
		    AND pg_describe_object(classid, objid, 0) !~ '^function (vtp_touch|vtp_notify_status)'");
	@missing = grep { $docs !~ /\b\Q$_\E\b/ } @objs;
	is_deeply(\@missing, [], 'docs/ describe every one of the ' . scalar(@objs) . ' SQL objects');
}

# --- the queues' dead-letter set-up is checked, once per queue
{
	like(slurp_file($node->logfile), qr/the events queue dead-letters after 5 receives/,
		'the emulator\'s queues (set up as docs/aws-setup.md says) have dead-letter queues');
	my $plain = awscli('create-queue', 'no-dlq');
	sql("ALTER SYSTEM SET vtp.events_queue_url = '$plain'");
	sql('SELECT pg_reload_conf()');
	ok(wait_until(30, sub { log_count($node, qr/WARNING:  vtp reconcile: the events queue has no dead-letter queue/) }),
		'a queue without one gets a warning');
}

$node->stop('fast');
done_testing();
