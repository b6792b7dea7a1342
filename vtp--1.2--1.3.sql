\echo Use "ALTER EXTENSION vtp UPDATE TO '1.3'" to load this file. \quit

-- vtp 1.3: deployable on real AWS (issue 11). Released scripts are never
-- edited: what changes after 1.3 goes to vtp--1.3--1.4.sql.

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
