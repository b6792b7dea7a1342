\echo Use "CREATE EXTENSION vtp" to load this file. \quit

-- The life of a video.
CREATE TYPE @extschema@.vtp_status AS ENUM ('Pending', 'Processing', 'Published', 'Failed');
COMMENT ON TYPE @extschema@.vtp_status IS
  'Pending: registered, waiting for a transcode worker; Processing: a worker holds it; Published: renditions are in the output bucket; Failed: see error_code and error';

CREATE TABLE @extschema@.vtp_videos (
  id                    uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
  bucket                text NOT NULL CHECK (bucket <> ''),
  key                   text NOT NULL CHECK (key <> ''),
  etag                  text NOT NULL DEFAULT '',
  source_size           bigint,
  source_sequencer      text,
  status                @extschema@.vtp_status NOT NULL DEFAULT 'Pending',
  output_bucket         text,
  output_key            text,
  attempts              integer NOT NULL DEFAULT 0,
  error_code            text,
  error                 text,
  progress              real CHECK (progress BETWEEN 0 AND 100),
  progress_eta          timestamptz,
  probe                 jsonb,
  transcode_seconds     real,
  transcode_cpu_seconds real,
  claimed_by            text,
  lease_until           timestamptz,
  task_sent_at          timestamptz,
  created_at            timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at            timestamptz NOT NULL DEFAULT pg_catalog.now(),
  started_at            timestamptz,
  published_at          timestamptz,
  failed_at             timestamptz,
  source_deleted_at     timestamptz,
  -- a source object is recorded once, however often it is announced
  CONSTRAINT vtp_videos_source_key UNIQUE (bucket, key, etag)
);
CREATE INDEX vtp_videos_active ON @extschema@.vtp_videos (status, created_at)
  WHERE status IN ('Pending', 'Processing');
CREATE INDEX vtp_videos_outbox ON @extschema@.vtp_videos (created_at)
  WHERE task_sent_at IS NULL;
COMMENT ON TABLE @extschema@.vtp_videos IS 'One row per source object (bucket, key, ETag) and its way through the pipeline';
COMMENT ON COLUMN @extschema@.vtp_videos.output_key IS 'Key prefix of the renditions in output_bucket: <output_key><name>.mp4';
COMMENT ON COLUMN @extschema@.vtp_videos.progress_eta IS 'When the running transcode is expected to finish';
COMMENT ON COLUMN @extschema@.vtp_videos.transcode_seconds IS 'Wall-clock seconds of the transcode (the child process)';
COMMENT ON COLUMN @extschema@.vtp_videos.probe IS 'What the transcoder found in the source and the renditions it planned';
COMMENT ON COLUMN @extschema@.vtp_videos.task_sent_at IS 'When the transcode task went to SQS (NULL: still in the outbox)';
COMMENT ON COLUMN @extschema@.vtp_videos.failed_at IS 'When the video became Failed';
COMMENT ON COLUMN @extschema@.vtp_videos.source_deleted_at IS
  'When the original was removed from the temp bucket (once Published, after vtp.failed_retention, or by vtp_delete); NULL while it is kept';

CREATE TABLE @extschema@.vtp_renditions (
  video_id   uuid NOT NULL REFERENCES @extschema@.vtp_videos (id) ON DELETE CASCADE,
  name       text NOT NULL,
  bucket     text NOT NULL,
  key        text NOT NULL,
  width      integer NOT NULL,
  height     integer NOT NULL,
  bytes      bigint NOT NULL,
  bitrate    bigint NOT NULL,
  duration   double precision,
  created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (video_id, name)
);
COMMENT ON TABLE @extschema@.vtp_renditions IS 'One row per output file of a Published video';

CREATE INDEX vtp_videos_failed ON @extschema@.vtp_videos (failed_at) WHERE status = 'Failed';
CREATE INDEX vtp_videos_published ON @extschema@.vtp_videos (published_at) WHERE status = 'Published';
CREATE INDEX vtp_videos_object ON @extschema@.vtp_videos (bucket, key);
CREATE INDEX vtp_renditions_object ON @extschema@.vtp_renditions (bucket, key);


CREATE FUNCTION @extschema@.vtp_touch() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  NEW.updated_at := pg_catalog.now();
  IF NEW.status = 'Failed' AND OLD.status IS DISTINCT FROM 'Failed' THEN
    NEW.failed_at := pg_catalog.now();
  ELSIF NEW.status <> 'Failed' THEN
    NEW.failed_at := NULL;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER vtp_videos_touch BEFORE UPDATE ON @extschema@.vtp_videos
  FOR EACH ROW EXECUTE FUNCTION @extschema@.vtp_touch();

-- Every status change is announced: LISTEN vtp_status instead of polling.
-- LISTEN has no privilege check (any role that can connect may listen), so
-- the payload holds no key, message or other detail: only the id, the
-- status, the previous status and the reason code.
CREATE FUNCTION @extschema@.vtp_notify_status() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
    PERFORM pg_notify('vtp_status', json_build_object(
      'id', NEW.id,
      'status', NEW.status,
      'previous_status', CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END,
      'reason', NEW.error_code)::text);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER vtp_videos_notify AFTER INSERT OR UPDATE OF status ON @extschema@.vtp_videos
  FOR EACH ROW EXECUTE FUNCTION @extschema@.vtp_notify_status();
COMMENT ON FUNCTION @extschema@.vtp_notify_status() IS
  'NOTIFY vtp_status with {"id","status","previous_status","reason"} on every status change (sent at commit); any role that can connect can LISTEN, so nothing else is sent';

-- user data: pg_dump keeps it
SELECT pg_catalog.pg_extension_config_dump('@extschema@.vtp_videos', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.vtp_renditions', '');

CREATE FUNCTION @extschema@.vtp_enqueue(bucket text, key text) RETURNS uuid
AS 'MODULE_PATHNAME', 'vtp_enqueue'
LANGUAGE C STRICT VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.vtp_enqueue(text, text) IS
  'Register an object already in S3 for transcoding (Pending) and send its task at commit; returns the video id. Idempotent per (bucket, key, ETag).';

-- Bearer tokens of the upload endpoint: only their SHA-256 is kept.
CREATE TABLE @extschema@.vtp_tokens (
  token_sha256 text PRIMARY KEY,
  name         text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
  revoked_at   timestamptz
);
CREATE UNIQUE INDEX vtp_tokens_live_name ON @extschema@.vtp_tokens (name) WHERE revoked_at IS NULL;
COMMENT ON TABLE @extschema@.vtp_tokens IS 'Upload endpoint tokens (SHA-256 only; the token itself is shown once by vtp_create_token)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.vtp_tokens', '');

CREATE FUNCTION @extschema@.vtp_create_token(name text) RETURNS text
LANGUAGE plpgsql STRICT VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  token text := 'vtp_' || replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
BEGIN
  IF name = '' THEN
    RAISE EXCEPTION 'token name must not be empty' USING ERRCODE = '22023';
  END IF;
  INSERT INTO @extschema@.vtp_tokens (token_sha256, name)
    VALUES (encode(sha256(convert_to(token, 'UTF8')), 'hex'), name);
  RETURN token;
EXCEPTION WHEN unique_violation THEN
  RAISE EXCEPTION 'a live token named "%" exists', name USING ERRCODE = '42710',
    HINT = 'Revoke it first with vtp_revoke_token().';
END $$;
COMMENT ON FUNCTION @extschema@.vtp_create_token(text) IS
  'Create a bearer token for the upload endpoint; it is shown only this once (only its SHA-256 is stored)';

CREATE FUNCTION @extschema@.vtp_revoke_token(name text) RETURNS void
LANGUAGE plpgsql STRICT VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  UPDATE @extschema@.vtp_tokens t SET revoked_at = now() WHERE t.name = vtp_revoke_token.name AND revoked_at IS NULL;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no live token named "%"', name USING ERRCODE = '42704';
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@.vtp_revoke_token(text) IS 'Revoke an upload endpoint token at once';

CREATE FUNCTION @extschema@.vtp_create_upload(filename text DEFAULT NULL, expires_in interval DEFAULT '1 hour',
  OUT video_id uuid, OUT url text, OUT expires_at timestamptz)
AS 'MODULE_PATHNAME', 'vtp_create_upload'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.vtp_create_upload(text, interval) IS
  'A presigned S3 PUT URL into the temp bucket for a direct upload; the video appears (Pending, with this id) when S3 announces the object';

CREATE FUNCTION @extschema@.vtp_output_urls(video_id uuid, expires_in interval DEFAULT '1 hour')
RETURNS TABLE (rendition text, url text)
AS 'MODULE_PATHNAME', 'vtp_output_urls'
LANGUAGE C STRICT VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.vtp_output_urls(uuid, interval) IS
  'Presigned GET URLs of a video''s renditions';

-- S3 objects to delete once the transaction that made them garbage commits
-- (an outbox, like the tasks'): the reconciler deletes each one only if no
-- live row still refers to it, then forgets it.
CREATE TABLE @extschema@.vtp_trash (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  bucket      text NOT NULL,
  key         text NOT NULL,
  etag        text,
  video_id    uuid,
  reason      text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  tries       integer NOT NULL DEFAULT 0,
  next_try_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  last_error  text
);
CREATE INDEX vtp_trash_due ON @extschema@.vtp_trash (next_try_at);
COMMENT ON TABLE @extschema@.vtp_trash IS
  'S3 objects waiting to be deleted by the reconciler (etag: only that version); an object a live video still uses is never deleted';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.vtp_trash', '');

-- A DBA's view of the pipeline.
CREATE VIEW @extschema@.vtp_queue AS
  SELECT s.status,
         pg_catalog.count(v.id) AS videos,
         pg_catalog.min(v.created_at) AS oldest,
         pg_catalog.now() - pg_catalog.min(v.created_at) AS oldest_age,
         pg_catalog.count(v.id) FILTER (WHERE e.entered_at > pg_catalog.now() - interval '1 hour') AS last_hour,
         pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY e.entered_at - v.created_at)
           FILTER (WHERE e.entered_at > pg_catalog.now() - interval '1 hour' AND s.status <> 'Pending')
           AS median_latency_last_hour
    FROM pg_catalog.unnest(pg_catalog.enum_range(NULL::@extschema@.vtp_status)) AS s(status)
    LEFT JOIN @extschema@.vtp_videos v ON v.status = s.status
    LEFT JOIN LATERAL (SELECT CASE v.status WHEN 'Pending' THEN v.created_at
                                            WHEN 'Processing' THEN v.started_at
                                            WHEN 'Published' THEN v.published_at
                                            ELSE v.failed_at END AS entered_at) e ON true
   GROUP BY s.status ORDER BY s.status;
COMMENT ON VIEW @extschema@.vtp_queue IS
  'Videos per status: count, oldest and its age; last_hour: how many entered the status in the last hour (Published: throughput); median_latency_last_hour: from registration to entering it (Processing: the wait for a worker)';

-- Live workers, from shared memory.
CREATE FUNCTION @extschema@.vtp_worker_status(
  OUT pid integer, OUT role text, OUT name text, OUT state text, OUT video_id uuid, OUT attempt integer,
  OUT progress real, OUT child_pid integer, OUT started_at timestamptz, OUT state_since timestamptz,
  OUT last_heartbeat timestamptz, OUT sandbox text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'vtp_worker_status'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION @extschema@.vtp_worker_status() IS 'One row per running vtp background worker (shared memory)';

CREATE VIEW @extschema@.vtp_workers AS SELECT * FROM @extschema@.vtp_worker_status();
COMMENT ON VIEW @extschema@.vtp_workers IS
  'One row per vtp worker: pid, role, state, the video and attempt it works on, progress, its transcoder''s pid, when it started, entered its state and last renewed its lease, and the transcoder sandbox it found (transcode workers)';

CREATE VIEW @extschema@.vtp_failures AS
  SELECT v.id, v.bucket, v.key, v.status, v.error_code AS reason, v.error, v.attempts,
         COALESCE(v.failed_at, v.updated_at) AS failed_at,
         v.status = 'Pending' AS retrying,
         v.status = 'Failed' AND v.source_deleted_at IS NULL AS original_kept
    FROM @extschema@.vtp_videos v
   WHERE v.status = 'Failed' OR (v.status = 'Pending' AND v.error_code IS NOT NULL)
   ORDER BY COALESCE(v.failed_at, v.updated_at) DESC;
COMMENT ON VIEW @extschema@.vtp_failures IS
  'Failed videos, and Pending ones whose last attempt failed (retrying), newest first, with reason code, message and attempts; original_kept: vtp_retry can run';

-- Actions.
CREATE FUNCTION @extschema@.vtp_retry(video_id uuid) RETURNS @extschema@.vtp_status
AS 'MODULE_PATHNAME', 'vtp_retry'
LANGUAGE C STRICT VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.vtp_retry(uuid) IS
  'A Failed video back to Pending with fresh attempts, from its kept original (checked in S3); its task is sent at commit';

CREATE FUNCTION @extschema@.vtp_cancel(video_id uuid) RETURNS @extschema@.vtp_status
AS 'MODULE_PATHNAME', 'vtp_cancel'
LANGUAGE C STRICT VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.vtp_cancel(uuid) IS
  'Cancel a Pending or Processing video: Failed with reason cancelled; a running transcode stops at commit and its scratch and uploads are removed; the original is kept for vtp_retry. Returns the status it had.';

CREATE FUNCTION @extschema@.vtp_delete(video_id uuid) RETURNS void
AS 'MODULE_PATHNAME', 'vtp_delete'
LANGUAGE C STRICT VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.vtp_delete(uuid) IS
  'Remove a video: its row and renditions now, its objects (renditions and original) from S3 after commit; a running transcode is stopped';

-- Privileges: each object by name (a REVOKE over the whole schema would also
-- strip the grants of the users' own tables in it).
REVOKE ALL ON @extschema@.vtp_videos, @extschema@.vtp_renditions, @extschema@.vtp_tokens, @extschema@.vtp_trash,
  @extschema@.vtp_queue, @extschema@.vtp_workers, @extschema@.vtp_failures FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.vtp_enqueue(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.vtp_touch() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.vtp_notify_status() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.vtp_create_token(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.vtp_revoke_token(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.vtp_create_upload(text, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.vtp_output_urls(uuid, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.vtp_worker_status() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.vtp_retry(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.vtp_cancel(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.vtp_delete(uuid) FROM PUBLIC;
GRANT SELECT ON @extschema@.vtp_videos, @extschema@.vtp_renditions, @extschema@.vtp_queue, @extschema@.vtp_workers,
  @extschema@.vtp_failures, @extschema@.vtp_trash TO pg_monitor;
GRANT EXECUTE ON FUNCTION @extschema@.vtp_worker_status() TO pg_monitor;

-- Where this session's AWS credentials come from (the server's credential
-- chain, docs/aws-setup.md): never a key, a secret or a token.
CREATE FUNCTION @extschema@.vtp_aws_credentials(
  OUT provider text, OUT detail text, OUT expires_at timestamptz, OUT error text)
RETURNS record
AS 'MODULE_PATHNAME', 'vtp_aws_credentials'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.vtp_aws_credentials() IS
  'Which AWS credential provider answers for this server (environment, web-identity, assume-role, profile, credential-process, container, instance-metadata), from what (profile, role, endpoint), until when (NULL: static); or why none does (error). Never a key.';
REVOKE ALL ON FUNCTION @extschema@.vtp_aws_credentials() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.vtp_aws_credentials() TO pg_monitor;

-- A presigned upload of a known size: Content-Length is signed into the URL,
-- so S3 takes exactly that many bytes; refused above S3's 5 GiB for one PUT
-- and above vtp.max_source_size. The two-argument form stays as it was.
CREATE FUNCTION @extschema@.vtp_create_upload(filename text, expires_in interval, size bigint,
  OUT video_id uuid, OUT url text, OUT expires_at timestamptz)
AS 'MODULE_PATHNAME', 'vtp_create_upload'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.vtp_create_upload(text, interval, bigint) IS
  'A presigned S3 PUT URL for exactly size bytes (at most 5 GiB and vtp.max_source_size); the video appears (Pending, with this id) when S3 announces the object';
REVOKE ALL ON FUNCTION @extschema@.vtp_create_upload(text, interval, bigint) FROM PUBLIC;


-- Every claim carries a lease token the worker made (a random UUID); every
-- later change of the attempt names it. Only its SHA-256 is stored: whoever
-- reads vtp_videos (pg_monitor, a DBA) still cannot change a lease it does
-- not hold, and a runner role cannot read the table at all.
ALTER TABLE @extschema@.vtp_videos ADD COLUMN lease_token_hash bytea;
COMMENT ON COLUMN @extschema@.vtp_videos.lease_token_hash IS
  'SHA-256 of the lease token of the claim that holds (or last settled) the video; each worker call after the claim must name the token. Cleared when anyone else settles the video';

-- Runners (vtp-runner on other machines): one row per job slot, written by
-- the runner itself through vtp_runner_report; the reconciler removes rows
-- not heard from for an hour.
CREATE TABLE @extschema@.vtp_runners (
  name            text PRIMARY KEY,
  role            name NOT NULL,
  host            text,
  pid             integer,
  state           text NOT NULL,
  video_id        uuid,
  attempt         integer,
  progress        real,
  child_pid       integer,
  sandbox         text,
  started_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  state_since     timestamptz NOT NULL DEFAULT pg_catalog.now(),
  last_heartbeat  timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX vtp_runners_role ON @extschema@.vtp_runners (role);
COMMENT ON TABLE @extschema@.vtp_runners IS
  'One row per vtp-runner job slot, as it last reported itself (vtp_runner_report); vtp_workers shows them';

-- The protocol every transcode worker speaks: the in-server workers call
-- these through SPI, vtp-runner through libpq as a role vtp_grant_runner made.
CREATE FUNCTION @extschema@.vtp_runner_settings(OUT name text, OUT setting text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'vtp_runner_settings'
LANGUAGE C STRICT STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.vtp_runner_settings() IS
  'The settings a transcode job needs (buckets, queues, endpoints, region, ladder, presets, limits, sandbox policy), raw values in their base units, and this catalog''s identity and version: never a credential';

CREATE FUNCTION @extschema@.vtp_claim(video_id uuid, worker text, lease_token uuid, lease_seconds integer,
  OUT found boolean, OUT claimed boolean, OUT held boolean, OUT status text, OUT attempt integer,
  OUT bucket text, OUT key text, OUT etag text)
RETURNS record
AS 'MODULE_PATHNAME', 'vtp_claim_video'
LANGUAGE C STRICT VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.vtp_claim(uuid, text, uuid, integer) IS
  'Claim a video for a transcode attempt: Pending (or Processing with its lease run out) to Processing under lease_token for lease_seconds; asked again with the same token, the same answer. Not claimed: found, held (another live lease) and status say why';

CREATE FUNCTION @extschema@.vtp_video_is(video_id uuid, bucket text, key text) RETURNS boolean
AS 'MODULE_PATHNAME', 'vtp_video_is'
LANGUAGE C STRICT STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.vtp_video_is(uuid, text, text) IS
  'Is there a video with this id made from bucket/key in this catalog? (a task that names another catalog)';

CREATE FUNCTION @extschema@.vtp_video_status(video_id uuid) RETURNS text
AS 'MODULE_PATHNAME', 'vtp_video_status'
LANGUAGE C STRICT STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.vtp_video_status(uuid) IS 'The status of a video, NULL if there is none';

CREATE FUNCTION @extschema@.vtp_heartbeat(video_id uuid, lease_token uuid, lease_seconds integer,
  progress double precision, eta_seconds double precision) RETURNS boolean
AS 'MODULE_PATHNAME', 'vtp_heartbeat'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.vtp_heartbeat(uuid, uuid, integer, double precision, double precision) IS
  'Renew the lease of the attempt lease_token holds for lease_seconds, with its progress (percent) and eta (NULL unknown); false: the lease is lost (cancelled, deleted, taken over)';

CREATE FUNCTION @extschema@.vtp_set_probe(video_id uuid, lease_token uuid, probe text) RETURNS boolean
AS 'MODULE_PATHNAME', 'vtp_set_probe'
LANGUAGE C STRICT VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.vtp_set_probe(uuid, uuid, text) IS
  'Record what the transcoder found in the source and planned (JSON) on the attempt lease_token holds';

CREATE FUNCTION @extschema@.vtp_publish(video_id uuid, lease_token uuid, output_bucket text, output_key text,
  cpu_seconds double precision, wall_seconds double precision, renditions text) RETURNS boolean
AS 'MODULE_PATHNAME', 'vtp_publish'
LANGUAGE C STRICT VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.vtp_publish(uuid, uuid, text, text, double precision, double precision, text) IS
  'Published, with its renditions (a JSON array of name, key, width, height, bytes, bitrate, duration; in vtp.output_bucket under output_key); false: the lease is lost and nothing changed';

CREATE FUNCTION @extschema@.vtp_fail(video_id uuid, lease_token uuid, code text, message text) RETURNS boolean
AS 'MODULE_PATHNAME', 'vtp_fail'
LANGUAGE C STRICT VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.vtp_fail(uuid, uuid, text, text) IS
  'Failed for good with a reason code and message; false: the lease is lost';

CREATE FUNCTION @extschema@.vtp_release(video_id uuid, lease_token uuid, code text, message text,
  refund boolean, requeue boolean) RETURNS text
AS 'MODULE_PATHNAME', 'vtp_release'
LANGUAGE C STRICT VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.vtp_release(uuid, uuid, text, text, boolean, boolean) IS
  'Hand a video back after a transient failure: Pending (to be retried; requeue: a fresh task at commit) or Failed once vtp.max_attempts are used; refund: the attempt does not count. NULL: the lease is lost';

CREATE FUNCTION @extschema@.vtp_trash_object(video_id uuid, bucket text, key text, etag text, reason text)
RETURNS void
AS 'MODULE_PATHNAME', 'vtp_trash_object'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.vtp_trash_object(uuid, text, text, text, text) IS
  'An object of a video (its original, or an upload under its id in vtp.output_bucket) for the reconciler to delete, unless a row uses it then; etag NULL: any version';

CREATE FUNCTION @extschema@.vtp_source_deleted(video_id uuid, lease_token uuid) RETURNS void
AS 'MODULE_PATHNAME', 'vtp_source_deleted'
LANGUAGE C STRICT VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.vtp_source_deleted(uuid, uuid) IS
  'The original of the video lease_token published was removed from its bucket';

CREATE FUNCTION @extschema@.vtp_runner_report(name text, host text, pid integer, state text, video_id uuid,
  attempt integer, progress real, child_pid integer, sandbox text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
  IF name IS NULL OR name = '' OR pg_catalog.length(name) > 200 OR state IS NULL THEN
    RAISE EXCEPTION 'a runner needs a name of 1 to 200 characters and a state' USING ERRCODE = '22023';
  END IF;
  UPDATE @extschema@.vtp_runners r
     SET host = pg_catalog.left(host, 255), video_id = video_id, attempt = attempt, progress = progress,
         child_pid = child_pid, sandbox = pg_catalog.left(sandbox, 64),
         started_at = CASE WHEN r.pid IS DISTINCT FROM pid THEN pg_catalog.now() ELSE r.started_at END,
         state_since = CASE WHEN r.state = pg_catalog.left(state, 64) AND r.pid IS NOT DISTINCT FROM pid
                            THEN r.state_since ELSE pg_catalog.now() END,
         pid = pid, state = pg_catalog.left(state, 64), last_heartbeat = pg_catalog.now()
   WHERE r.name = vtp_runner_report.name AND r.role = session_user;
  IF FOUND THEN
    RETURN;
  END IF;
  IF EXISTS (SELECT 1 FROM @extschema@.vtp_runners r WHERE r.name = vtp_runner_report.name) THEN
    RAISE EXCEPTION 'runner name "%" is used by another role', vtp_runner_report.name USING ERRCODE = '42501';
  END IF;
  -- a role cannot fill the table: job slots beyond 1024 per role are refused
  IF (SELECT pg_catalog.count(*) FROM @extschema@.vtp_runners r WHERE r.role = session_user) >= 1024 THEN
    RAISE EXCEPTION 'role "%" already has 1024 runner job slots', session_user USING ERRCODE = '54000',
      HINT = 'Slots not heard from for an hour are removed by the reconciler.';
  END IF;
  INSERT INTO @extschema@.vtp_runners (name, role, host, pid, state, video_id, attempt, progress, child_pid, sandbox)
  VALUES (name, session_user, pg_catalog.left(host, 255), pid, pg_catalog.left(state, 64),
          video_id, attempt, progress, child_pid, pg_catalog.left(sandbox, 64));
END
$$;
COMMENT ON FUNCTION @extschema@.vtp_runner_report(text, text, integer, text, uuid, integer, real, integer, text) IS
  'A runner job slot says what it is doing (vtp_workers shows it); a name belongs to the role that first reported it';

CREATE FUNCTION @extschema@.vtp_runner_gone(name text) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ DELETE FROM @extschema@.vtp_runners r WHERE r.name = $1 AND r.role = session_user $$;
COMMENT ON FUNCTION @extschema@.vtp_runner_gone(text) IS 'A runner job slot that stops cleanly removes its row';

-- What a runner's role may do: exactly the functions above.
CREATE FUNCTION @extschema@.vtp_runner_functions() RETURNS SETOF regprocedure
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$ SELECT p::regprocedure FROM pg_catalog.unnest(ARRAY[
  '@extschema@.vtp_runner_settings()',
  '@extschema@.vtp_claim(uuid, text, uuid, integer)',
  '@extschema@.vtp_video_is(uuid, text, text)',
  '@extschema@.vtp_video_status(uuid)',
  '@extschema@.vtp_heartbeat(uuid, uuid, integer, double precision, double precision)',
  '@extschema@.vtp_set_probe(uuid, uuid, text)',
  '@extschema@.vtp_publish(uuid, uuid, text, text, double precision, double precision, text)',
  '@extschema@.vtp_fail(uuid, uuid, text, text)',
  '@extschema@.vtp_release(uuid, uuid, text, text, boolean, boolean)',
  '@extschema@.vtp_trash_object(uuid, text, text, text, text)',
  '@extschema@.vtp_source_deleted(uuid, uuid)',
  '@extschema@.vtp_runner_report(text, text, integer, text, uuid, integer, real, integer, text)',
  '@extschema@.vtp_runner_gone(text)']) AS p $$;
COMMENT ON FUNCTION @extschema@.vtp_runner_functions() IS 'The functions vtp_grant_runner grants: the runner protocol';

-- A runner's role is a role: not PUBLIC (GRANT ... TO "public" is PUBLIC), not a superuser.
CREATE FUNCTION @extschema@.vtp_runner_role_check(role name) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF role IS NULL OR pg_catalog.to_regrole(pg_catalog.quote_ident(role)) IS NULL OR pg_catalog.lower(role) = 'public' THEN
    RAISE EXCEPTION 'role "%" does not exist', role USING ERRCODE = '42704',
      HINT = 'A runner needs a login role of its own: CREATE ROLE vtp_runner LOGIN PASSWORD ''...''.';
  END IF;
  IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = role) THEN
    RAISE EXCEPTION 'role "%" is a superuser: a runner''s role must have only the runner functions', role
      USING ERRCODE = '42501';
  END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.vtp_runner_role_check(name) IS 'Refuse PUBLIC, a missing role and a superuser as a runner''s role';

CREATE FUNCTION @extschema@.vtp_grant_runner(role name) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  f regprocedure;
BEGIN
  PERFORM @extschema@.vtp_runner_role_check(role);
  EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO %I', (SELECT n.nspname FROM pg_catalog.pg_extension e
    JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'vtp'), role);
  FOR f IN SELECT * FROM @extschema@.vtp_runner_functions() LOOP
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %I', f, role);
  END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.vtp_grant_runner(name) IS
  'Let a login role run vtp-runner: USAGE on the schema and EXECUTE on the runner functions, nothing else (no table, no token)';

CREATE FUNCTION @extschema@.vtp_revoke_runner(role name) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  f regprocedure;
BEGIN
  PERFORM @extschema@.vtp_runner_role_check(role);
  FOR f IN SELECT * FROM @extschema@.vtp_runner_functions() LOOP
    EXECUTE pg_catalog.format('REVOKE EXECUTE ON FUNCTION %s FROM %I', f, role);
  END LOOP;
  EXECUTE pg_catalog.format('REVOKE USAGE ON SCHEMA %I FROM %I', (SELECT n.nspname FROM pg_catalog.pg_extension e
    JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'vtp'), role);
END
$$;
COMMENT ON FUNCTION @extschema@.vtp_revoke_runner(name) IS 'Take back what vtp_grant_runner gave a role';

REVOKE ALL ON @extschema@.vtp_runners FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.vtp_runner_settings(), @extschema@.vtp_claim(uuid, text, uuid, integer),
  @extschema@.vtp_video_is(uuid, text, text), @extschema@.vtp_video_status(uuid),
  @extschema@.vtp_heartbeat(uuid, uuid, integer, double precision, double precision),
  @extschema@.vtp_set_probe(uuid, uuid, text),
  @extschema@.vtp_publish(uuid, uuid, text, text, double precision, double precision, text),
  @extschema@.vtp_fail(uuid, uuid, text, text), @extschema@.vtp_release(uuid, uuid, text, text, boolean, boolean),
  @extschema@.vtp_trash_object(uuid, text, text, text, text), @extschema@.vtp_source_deleted(uuid, uuid),
  @extschema@.vtp_runner_report(text, text, integer, text, uuid, integer, real, integer, text),
  @extschema@.vtp_runner_gone(text), @extschema@.vtp_runner_functions(),
  @extschema@.vtp_grant_runner(name), @extschema@.vtp_revoke_runner(name),
  @extschema@.vtp_runner_role_check(name) FROM PUBLIC;
GRANT SELECT ON @extschema@.vtp_runners TO pg_monitor;

-- vtp_workers: the in-server workers (shared memory) and the runners (their
-- reports), with the runner's host at the end (NULL: the database server). A
-- runner that has not reported for a minute is 'silent'; after ten minutes
-- it is no longer shown.
CREATE OR REPLACE VIEW @extschema@.vtp_workers AS
  SELECT w.pid, w.role, w.name, w.state, w.video_id, w.attempt, w.progress, w.child_pid, w.started_at,
         w.state_since, w.last_heartbeat, w.sandbox, NULL::text AS host
    FROM @extschema@.vtp_worker_status() w
  UNION ALL
  SELECT r.pid, 'runner', r.name,
         CASE WHEN r.last_heartbeat < pg_catalog.now() - interval '1 minute' THEN 'silent' ELSE r.state END,
         r.video_id, r.attempt, r.progress, r.child_pid, r.started_at, r.state_since, r.last_heartbeat,
         r.sandbox, r.host
    FROM @extschema@.vtp_runners r
   WHERE r.last_heartbeat > pg_catalog.now() - interval '10 minutes';
COMMENT ON VIEW @extschema@.vtp_workers IS
  'One row per vtp worker: in-server background workers (host NULL) and vtp-runner job slots (role runner, host): pid, state (silent: a runner not heard from for a minute), the video and attempt it works on, progress, its transcoder''s pid, when it started, entered its state and last renewed its lease or reported, and the transcoder sandbox it found';
