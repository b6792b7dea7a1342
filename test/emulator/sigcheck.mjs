// sigcheck.mjs — verify an incoming request's AWS SigV4 signature with the AWS
// SDK's own signer (@smithy/signature-v4), not with vtp's code, and answer as
// AWS would on a mismatch. fauxqs checks no signatures; this proxy does.
import { createHash } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";
import { Sha256 } from "@aws-crypto/sha256-js";

const AUTH_RE =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;

function parseQuery(raw) {
  const q = {};
  if (!raw) return q;
  for (const part of raw.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const k = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
    const v = eq < 0 ? "" : decodeURIComponent(part.slice(eq + 1));
    if (k in q) q[k] = [].concat(q[k], v);
    else q[k] = v;
  }
  return q;
}

function amzDateToDate(s) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s || "");
  if (!m) return null;
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

const UNKNOWN_KEY = { status: 403, code: "InvalidAccessKeyId", message: "The AWS Access Key Id you provided does not exist in our records." };

// keys: the one static key {accessKeyId, secretAccessKey}, or a function
// (accessKeyId, sessionToken) -> {creds} | {problem} for issued temporary keys.
function resolveKey(keys, accessKey, token) {
  if (typeof keys === "function") return keys(accessKey, token);
  return accessKey === keys.accessKeyId ? { creds: keys } : { problem: UNKNOWN_KEY };
}

// Returns null when the request is properly signed, else {status, code, message}.
export async function verify(req, body, keys) {
  const url = req.url;
  const qi = url.indexOf("?");
  const rawPath = qi < 0 ? url : url.slice(0, qi);
  const query = parseQuery(qi < 0 ? "" : url.slice(qi + 1));
  const auth = req.headers["authorization"];

  if (!auth) {
    if ("X-Amz-Signature" in query) return verifyPresigned(req, rawPath, query, keys);
    return { status: 403, code: "MissingAuthenticationToken", message: "Request is missing Authentication Token" };
  }
  const m = AUTH_RE.exec(auth);
  if (!m) return { status: 403, code: "IncompleteSignature", message: "Authorization header is malformed" };
  const [, accessKey, date8, region, service, signedHeaders, signature] = m;
  const found = resolveKey(keys, accessKey, req.headers["x-amz-security-token"]);
  if (found.problem) return found.problem;
  const creds = found.creds;
  const amzDate = req.headers["x-amz-date"];
  const when = amzDateToDate(amzDate);
  if (!when || amzDate.slice(0, 8) !== date8)
    return { status: 403, code: "IncompleteSignature", message: "x-amz-date is missing or does not match the credential scope" };
  if (Math.abs(Date.now() - when.getTime()) > 15 * 60 * 1000)
    return { status: 403, code: "RequestTimeTooSkewed", message: "The difference between the request time and the current time is too large." };
  const names = signedHeaders.split(";");
  if (!names.includes("host") || !names.includes("x-amz-date"))
    return { status: 403, code: "SignatureDoesNotMatch", message: "host and x-amz-date must be signed" };
  if (service === "s3") {
    const declared = req.headers["x-amz-content-sha256"];
    if (!declared)
      return { status: 400, code: "InvalidRequest", message: "Missing required header for this request: x-amz-content-sha256" };
    if (!names.includes("x-amz-content-sha256"))
      return { status: 403, code: "SignatureDoesNotMatch", message: "x-amz-content-sha256 must be signed" };
    if (declared !== "UNSIGNED-PAYLOAD") {
      const actual = createHash("sha256").update(body).digest("hex");
      if (actual !== declared)
        return { status: 400, code: "XAmzContentSHA256Mismatch", message: "The provided 'x-amz-content-sha256' header does not match what was computed." };
    }
  }
  const headers = {};
  for (const n of names) {
    if (!(n in req.headers))
      return { status: 403, code: "SignatureDoesNotMatch", message: `signed header ${n} was not sent` };
    headers[n] = req.headers[n];
  }
  const signer = new SignatureV4({
    credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey,
      sessionToken: req.headers["x-amz-security-token"] },
    region, service, sha256: Sha256, uriEscapePath: service !== "s3", applyChecksum: false,
  });
  const [hostname, port] = String(req.headers.host || "").split(":");
  const signed = await signer.sign(
    { method: req.method, protocol: "http:", hostname, port: port ? +port : undefined,
      path: rawPath, query, headers, body: body.length ? body : undefined },
    { signingDate: when, signingRegion: region, signingService: service });
  const want = /Signature=([0-9a-f]{64})/.exec(signed.headers["authorization"])[1];
  if (want !== signature)
    return { status: 403, code: "SignatureDoesNotMatch",
      message: "The request signature we calculated does not match the signature you provided." };
  return null;
}

async function verifyPresigned(req, rawPath, query, keys) {
  const cred = String(query["X-Amz-Credential"] || "").split("/");
  const when = amzDateToDate(query["X-Amz-Date"]);
  const expires = parseInt(query["X-Amz-Expires"] || "", 10);
  if (query["X-Amz-Algorithm"] !== "AWS4-HMAC-SHA256" || cred.length !== 5 || !when || !(expires > 0))
    return { status: 403, code: "AuthorizationQueryParametersError", message: "malformed presigned URL" };
  const found = resolveKey(keys, cred[0], query["X-Amz-Security-Token"]);
  if (found.problem) return found.problem;
  const creds = found.creds;
  if (Date.now() > when.getTime() + expires * 1000)
    return { status: 403, code: "AccessDenied", message: "Request has expired" };
  const names = String(query["X-Amz-SignedHeaders"] || "").split(";");
  const headers = {};
  for (const n of names) headers[n] = req.headers[n];
  // as AWS's S3 presigner does: the payload is UNSIGNED-PAYLOAD, a header
  // that is neither signed nor moved to the query
  headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD";
  const q = { ...query };
  for (const k of ["X-Amz-Signature", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Security-Token"]) delete q[k];
  const signer = new SignatureV4({
    credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey,
      sessionToken: query["X-Amz-Security-Token"] },
    region: cred[2], service: cred[3], sha256: Sha256, uriEscapePath: cred[3] !== "s3", applyChecksum: false,
  });
  const [hostname, port] = String(req.headers.host || "").split(":");
  const signed = await signer.presign(
    { method: req.method, protocol: "http:", hostname, port: port ? +port : undefined, path: rawPath, query: q, headers },
    { signingDate: when, expiresIn: expires, signingRegion: cred[2], signingService: cred[3],
      unhoistableHeaders: new Set(["x-amz-content-sha256"]),
      unsignableHeaders: new Set(Object.keys(req.headers).filter((h) => !names.includes(h)).concat(["x-amz-content-sha256"])) });
  if (signed.query["X-Amz-Signature"] !== query["X-Amz-Signature"])
    return { status: 403, code: "SignatureDoesNotMatch",
      message: "The request signature we calculated does not match the signature you provided." };
  return null;
}
