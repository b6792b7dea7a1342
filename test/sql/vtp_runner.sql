-- The worker protocol from a runner's side (issue 13), and from an attacker's:
-- a role vtp_grant_runner made can claim, renew and settle only the attempts
-- whose lease token it holds, reads no table, cannot publish renditions
-- outside the video's output key nor trash another video's objects; every
-- call asked again after a lost answer gives the same answer.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS vtp;
RESET client_min_messages;
CREATE FUNCTION try(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
  EXECUTE q INTO r;
  RETURN r;
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
GRANT EXECUTE ON FUNCTION try(text) TO PUBLIC;
CREATE ROLE regress_runner LOGIN;
CREATE ROLE regress_other_runner LOGIN;
CREATE ROLE regress_nobody LOGIN;
SELECT vtp_grant_runner('regress_runner');
SELECT vtp_grant_runner('regress_runner');  -- again: nothing changes
SELECT vtp_grant_runner('regress_other_runner');
-- not PUBLIC ("public" is PUBLIC to GRANT), not a superuser, not a missing role
SELECT try($$SELECT vtp_grant_runner('public')::text$$);
SELECT try($$SELECT vtp_revoke_runner('PUBLIC')::text$$);
SELECT try($$SELECT vtp_grant_runner(current_user)::text$$);
SELECT try($$SELECT vtp_grant_runner('regress_no_such_role')::text$$);
INSERT INTO vtp_videos (id, bucket, key, etag, task_sent_at) VALUES
  ('00000000-0000-4000-8000-000000000001', 'temp-video-bucket', 'uploads/a.mp4', 'e1', now()),
  ('00000000-0000-4000-8000-000000000002', 'temp-video-bucket', 'uploads/b.mp4', 'e2', now()),
  ('00000000-0000-4000-8000-000000000003', 'temp-video-bucket', 'uploads/c.mp4', 'e3', now());

-- exactly the runner functions, nothing else
SELECT p.oid::regprocedure AS granted FROM pg_proc p
 WHERE has_function_privilege('regress_runner', p.oid, 'EXECUTE') AND p.proname LIKE 'vtp\_%' ORDER BY 1::text;
SELECT c.relname, has_table_privilege('regress_runner', c.oid, 'SELECT') AS can_read
  FROM pg_class c WHERE c.relname IN ('vtp_videos', 'vtp_tokens', 'vtp_runners', 'vtp_workers', 'vtp_trash') ORDER BY 1;

SET SESSION AUTHORIZATION regress_runner;
-- settings: what a transcode needs, never a credential
SELECT string_agg(name, ' ' ORDER BY name) FROM vtp_runner_settings();
SELECT setting FROM vtp_runner_settings() WHERE name IN ('vtp.output_bucket', 'vtp.visibility_timeout', 'vtp.sandbox') ORDER BY name;
SELECT count(*) FROM vtp_runner_settings() WHERE name ~* 'secret|password|token|credential|profile';
-- no table reads
SELECT try('SELECT count(*)::text FROM vtp_videos');
SELECT try('SELECT count(*)::text FROM vtp_tokens');
SELECT try('SELECT vtp_create_token(''mine'')');
-- a claim, then the same claim asked again (a lost answer): one attempt
SELECT found, claimed, held, status, attempt, bucket, key, etag
  FROM vtp_claim('00000000-0000-4000-8000-000000000001', 'runner r1', '11111111-1111-4111-8111-111111111111', 60);
SELECT found, claimed, held, status, attempt
  FROM vtp_claim('00000000-0000-4000-8000-000000000001', 'runner r1', '11111111-1111-4111-8111-111111111111', 60);
-- another token cannot have it while the lease lives
SELECT found, claimed, held, status, attempt, bucket
  FROM vtp_claim('00000000-0000-4000-8000-000000000001', 'runner r2', '22222222-2222-4222-8222-222222222222', 60);
SELECT found, claimed, held, status FROM vtp_claim('00000000-0000-4000-8000-00000000ffff', 'runner r1', '11111111-1111-4111-8111-111111111111', 60);
-- a lease it does not hold: nothing changes
SELECT vtp_heartbeat('00000000-0000-4000-8000-000000000001', '22222222-2222-4222-8222-222222222222', 60, 50, NULL);
SELECT vtp_fail('00000000-0000-4000-8000-000000000001', '22222222-2222-4222-8222-222222222222', 'x', 'y');
SELECT vtp_release('00000000-0000-4000-8000-000000000001', '22222222-2222-4222-8222-222222222222', 'x', 'y', false, false);
SELECT vtp_publish('00000000-0000-4000-8000-000000000001', '22222222-2222-4222-8222-222222222222',
  'output-video-bucket', 'videos/00000000-0000-4000-8000-000000000001/', 1, 1,
  '[{"name":"480p","key":"videos/00000000-0000-4000-8000-000000000001/480p.mp4","width":854,"height":480,"bytes":1,"bitrate":1,"duration":1}]');
-- the holder renews with progress
SELECT vtp_heartbeat('00000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 60, 40.5, 12);
SELECT try($$SELECT vtp_heartbeat('00000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 60, 140, 12)::text$$);
SELECT try($$SELECT vtp_heartbeat('00000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 0, 40, 12)::text$$);
-- publishing outside the video's output key or bucket is refused
SELECT try($$SELECT vtp_publish('00000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111',
  'some-other-bucket', 'videos/00000000-0000-4000-8000-000000000001/', 1, 1, '[]')::text$$);
SELECT try($$SELECT vtp_publish('00000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111',
  'output-video-bucket', 'videos/00000000-0000-4000-8000-000000000002/', 1, 1, '[]')::text$$);
SELECT try($$SELECT vtp_publish('00000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111',
  'output-video-bucket', 'videos/00000000-0000-4000-8000-000000000001/', 1, 1,
  '[{"name":"480p","key":"videos/00000000-0000-4000-8000-000000000002/480p.mp4","width":854,"height":480,"bytes":1,"bitrate":1,"duration":1}]')::text$$);
SELECT try($$SELECT vtp_publish('00000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111',
  'output-video-bucket', 'videos/00000000-0000-4000-8000-000000000001/', 1, 1, '{"not":"an array"}')::text$$);
SELECT try($$SELECT vtp_publish('00000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111',
  'output-video-bucket', 'videos/00000000-0000-4000-8000-000000000001/', 1, 1,
  '[{"name":"480p","key":"videos/00000000-0000-4000-8000-000000000001/480p.mp4","width":99999,"height":480,"bytes":1,"bitrate":1,"duration":1}]')::text$$);
-- trash: only this video's own objects
SELECT try($$SELECT vtp_trash_object('00000000-0000-4000-8000-000000000001', 'output-video-bucket', 'videos/00000000-0000-4000-8000-000000000002/480p.mp4', NULL, 'x')::text$$);
SELECT try($$SELECT vtp_trash_object('00000000-0000-4000-8000-000000000001', 'temp-video-bucket', 'uploads/b.mp4', 'e2', 'x')::text$$);
SELECT try($$SELECT vtp_trash_object('00000000-0000-4000-8000-000000000001', 'temp-video-bucket', 'uploads/a.mp4', 'e1', 'published')::text$$);
SELECT try($$SELECT vtp_publish('00000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111',
  'output-video-bucket', 'videos/00000000-0000-4000-8000-000000000001/', 1, 1, '[]')::text$$);
-- the lease token is stored as its hash: reading vtp_videos (pg_monitor) does not give it
RESET SESSION AUTHORIZATION;
SELECT lease_token_hash = sha256(convert_to('11111111-1111-4111-8111-111111111111', 'UTF8')) AS hashed,
       position(convert_to('11111111', 'UTF8') IN lease_token_hash) = 0 AS token_not_in_it
  FROM vtp_videos WHERE key = 'uploads/a.mp4';
SET SESSION AUTHORIZATION regress_runner;
-- the holder publishes; asked again (a lost answer): true, nothing doubled
SELECT vtp_publish('00000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111',
  'output-video-bucket', 'videos/00000000-0000-4000-8000-000000000001/', 2.5, 3.5,
  '[{"name":"480p","key":"videos/00000000-0000-4000-8000-000000000001/480p.mp4","width":854,"height":480,"bytes":1000,"bitrate":800,"duration":2}]');
SELECT vtp_publish('00000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111',
  'output-video-bucket', 'videos/00000000-0000-4000-8000-000000000001/', 2.5, 3.5,
  '[{"name":"480p","key":"videos/00000000-0000-4000-8000-000000000001/480p.mp4","width":854,"height":480,"bytes":1000,"bitrate":800,"duration":2}]');
SELECT vtp_source_deleted('00000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111');
SELECT vtp_video_status('00000000-0000-4000-8000-000000000001'), vtp_video_status('00000000-0000-4000-8000-00000000ffff');
-- a transient failure, asked twice: one answer, one attempt counted
SELECT claimed, attempt FROM vtp_claim('00000000-0000-4000-8000-000000000002', 'runner r1', '33333333-3333-4333-8333-333333333333', 60);
SELECT vtp_release('00000000-0000-4000-8000-000000000002', '33333333-3333-4333-8333-333333333333', 'storage', 'S3 was down', false, false);
SELECT vtp_release('00000000-0000-4000-8000-000000000002', '33333333-3333-4333-8333-333333333333', 'storage', 'S3 was down', false, false);
-- requeue: a fresh task once, not again when the release is asked again
SELECT claimed, attempt FROM vtp_claim('00000000-0000-4000-8000-000000000003', 'runner r1', '77777777-7777-4777-8777-777777777777', 60);
SELECT vtp_release('00000000-0000-4000-8000-000000000003', '77777777-7777-4777-8777-777777777777', 'storage', 'S3 was down', false, true);
RESET SESSION AUTHORIZATION;
SELECT task_sent_at IS NULL AS requeued FROM vtp_videos WHERE key = 'uploads/c.mp4';
UPDATE vtp_videos SET task_sent_at = now() WHERE key = 'uploads/c.mp4';  -- the outbox sent it
SET SESSION AUTHORIZATION regress_runner;
SELECT vtp_release('00000000-0000-4000-8000-000000000003', '77777777-7777-4777-8777-777777777777', 'storage', 'S3 was down', false, true);
RESET SESSION AUTHORIZATION;
SELECT task_sent_at IS NULL AS requeued_again FROM vtp_videos WHERE key = 'uploads/c.mp4';
SET SESSION AUTHORIZATION regress_runner;
-- a claim asked again after its lease ran out: renewed, the same attempt
SELECT claimed, attempt FROM vtp_claim('00000000-0000-4000-8000-000000000003', 'runner r1', '88888888-8888-4888-8888-888888888888', 1);
SELECT pg_sleep(1.2);
SELECT claimed, attempt FROM vtp_claim('00000000-0000-4000-8000-000000000003', 'runner r1', '88888888-8888-4888-8888-888888888888', 60);
RESET SESSION AUTHORIZATION;
SELECT lease_until > now() + interval '50 seconds' AS renewed FROM vtp_videos WHERE key = 'uploads/c.mp4';
-- a cancel settles it for the DBA: the holder's token no longer answers
SELECT vtp_cancel('00000000-0000-4000-8000-000000000003');
SET SESSION AUTHORIZATION regress_runner;
SELECT vtp_fail('00000000-0000-4000-8000-000000000003', '88888888-8888-4888-8888-888888888888', 'x', 'y');
SELECT vtp_release('00000000-0000-4000-8000-000000000003', '88888888-8888-4888-8888-888888888888', 'x', 'y', true, true);
SELECT vtp_heartbeat('00000000-0000-4000-8000-000000000003', '88888888-8888-4888-8888-888888888888', 60, 1, NULL);
-- a stopping runner refunds its attempt; then a permanent failure
SELECT claimed, attempt FROM vtp_claim('00000000-0000-4000-8000-000000000002', 'runner r1', '44444444-4444-4444-8444-444444444444', 60);
SELECT vtp_release('00000000-0000-4000-8000-000000000002', '44444444-4444-4444-8444-444444444444', 'interrupted', 'stopping', true, false);
SELECT claimed, attempt FROM vtp_claim('00000000-0000-4000-8000-000000000002', 'runner r1', '55555555-5555-4555-8555-555555555555', 60);
SELECT vtp_fail('00000000-0000-4000-8000-000000000002', '55555555-5555-4555-8555-555555555555', 'unreadable', 'not a video');
SELECT vtp_fail('00000000-0000-4000-8000-000000000002', '55555555-5555-4555-8555-555555555555', 'unreadable', 'not a video');
-- its report for vtp_workers; a name is its role's
SELECT vtp_runner_report('r1', 'box-1', 4242, 'transcoding', '00000000-0000-4000-8000-000000000002', 3, 12.5, 4343, 'landlock');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_other_runner;
SELECT try($$SELECT vtp_runner_report('r1', 'evil', 1, 'idle', NULL, NULL, NULL, NULL, NULL)::text$$);
SELECT try($$SELECT vtp_runner_gone('r1')::text$$);
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_nobody;
SELECT try($$SELECT count(*)::text FROM vtp_runner_settings()$$);
SELECT try($$SELECT claimed::text FROM vtp_claim('00000000-0000-4000-8000-000000000002', 'x', '66666666-6666-4666-8666-666666666666', 60)$$);
RESET SESSION AUTHORIZATION;

SELECT key, status, attempts, error_code, progress, output_key, transcode_cpu_seconds, source_deleted_at IS NOT NULL AS source_gone
  FROM vtp_videos ORDER BY key;
SELECT video_id, name, key, bytes FROM vtp_renditions;
SELECT bucket, key, etag, reason FROM vtp_trash ORDER BY key;
SELECT role, name, host, pid, state, attempt, progress, child_pid, sandbox FROM vtp_workers WHERE role = 'runner';
UPDATE vtp_runners SET last_heartbeat = now() - interval '2 minutes';
SELECT name, state FROM vtp_workers WHERE role = 'runner';
UPDATE vtp_runners SET last_heartbeat = now() - interval '11 minutes';
SELECT count(*) FROM vtp_workers WHERE role = 'runner';
SET SESSION AUTHORIZATION regress_runner;
SELECT vtp_runner_gone('r1');
RESET SESSION AUTHORIZATION;
SELECT count(*) FROM vtp_runners;
SELECT vtp_revoke_runner('regress_runner');
SELECT count(*) FROM pg_proc p WHERE has_function_privilege('regress_runner', p.oid, 'EXECUTE') AND p.proname LIKE 'vtp\_%';
DELETE FROM vtp_trash;
DELETE FROM vtp_videos;
DROP FUNCTION try(text);
SELECT vtp_revoke_runner('regress_other_runner');
DROP ROLE regress_runner;
DROP ROLE regress_other_runner;
DROP ROLE regress_nobody;
