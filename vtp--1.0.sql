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

CREATE FUNCTION @extschema@.vtp_touch() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  NEW.updated_at := pg_catalog.now();
  RETURN NEW;
END $$;
CREATE TRIGGER vtp_videos_touch BEFORE UPDATE ON @extschema@.vtp_videos
  FOR EACH ROW EXECUTE FUNCTION @extschema@.vtp_touch();

-- Every status change is announced: LISTEN vtp_status instead of polling.
CREATE FUNCTION @extschema@.vtp_notify_status() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
    PERFORM pg_notify('vtp_status', json_build_object(
      'id', NEW.id,
      'status', NEW.status,
      'previous_status', CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END,
      'reason', NEW.error_code,
      'error', left(NEW.error, 1000),
      'attempts', NEW.attempts)::text);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER vtp_videos_notify AFTER INSERT OR UPDATE OF status ON @extschema@.vtp_videos
  FOR EACH ROW EXECUTE FUNCTION @extschema@.vtp_notify_status();
COMMENT ON FUNCTION @extschema@.vtp_notify_status() IS
  'NOTIFY vtp_status with {"id","status","previous_status","reason","error","attempts"} on every status change (sent at commit)';

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

-- A DBA's view of the pipeline.
CREATE VIEW @extschema@.vtp_queue AS
  SELECT s.status,
         pg_catalog.count(v.id) AS videos,
         pg_catalog.min(v.created_at) AS oldest,
         pg_catalog.now() - pg_catalog.min(v.created_at) AS oldest_age
    FROM pg_catalog.unnest(pg_catalog.enum_range(NULL::@extschema@.vtp_status)) AS s(status)
    LEFT JOIN @extschema@.vtp_videos v ON v.status = s.status
   GROUP BY s.status ORDER BY s.status;
COMMENT ON VIEW @extschema@.vtp_queue IS 'Videos per status with the oldest one''s age';

REVOKE ALL ON ALL TABLES IN SCHEMA @extschema@ FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.vtp_enqueue(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.vtp_touch() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.vtp_notify_status() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.vtp_create_token(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.vtp_revoke_token(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.vtp_create_upload(text, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.vtp_output_urls(uuid, interval) FROM PUBLIC;
GRANT SELECT ON @extschema@.vtp_videos, @extschema@.vtp_renditions, @extschema@.vtp_queue TO pg_monitor;
-- the token hashes are not for monitoring
REVOKE ALL ON @extschema@.vtp_tokens FROM pg_monitor;
