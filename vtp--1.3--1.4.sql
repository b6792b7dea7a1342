\echo Use "ALTER EXTENSION vtp UPDATE TO '1.4'" to load this file. \quit

-- vtp 1.4: transcoding on other machines (issue 13). Released scripts are
-- never edited: what changes after 1.4 goes to vtp--1.4--1.5.sql.

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
