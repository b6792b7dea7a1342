// credserver.mjs — loopback stand-ins for the services AWS hands temporary
// credentials out from, speaking their real protocols, so vtp's credential
// chain is tested against a server and not against itself:
//
//   EC2 IMDSv2   PUT /latest/api/token (X-aws-ec2-metadata-token-ttl-seconds)
//                GET /latest/meta-data/iam/security-credentials/[ROLE]
//                (with X-aws-ec2-metadata-token; a plain IMDSv1 GET is 401)
//   ECS / EKS    GET /ecs/... with Authorization: the container token
//   STS          POST / Action=AssumeRoleWithWebIdentity (unsigned, token checked)
//                POST / Action=AssumeRole (SigV4, service sts, by a known key)
//
// Every key it issues goes into the shared key table the signature-checking
// proxy consults: a request signed with an issued key is accepted only with
// its session token and only until its expiry, then answered ExpiredToken.
//
// Test controls (unsigned, loopback):
//   POST /__creds?lifetime=S      lifetime of keys issued from now on (seconds)
//   POST /__creds?static=off|on   whether the proxy accepts the static test key
//   POST /__creds?revoke=1        every key issued so far expires now
//   GET  /__creds                 {"issued":{"imds":n,...},"expired_rejections":n,"imdsv1_refused":n}
import http from "node:http";
import { randomBytes } from "node:crypto";
import { verify } from "./sigcheck.mjs";

export const ROLE_NAME = "vtp-instance-role";
export const ECS_TOKEN = "vtp-ecs-authorization-token";
export const WEB_TOKEN = "vtp-web-identity-token";

export function startCredServer({ port, keys, settings }) {
  const imdsTokens = new Map(); // token -> expiry ms
  const stats = { issued: {}, expired_rejections: 0, imdsv1_refused: 0 };
  settings.stats = stats;

  function issue(provider, roleArn) {
    const accessKeyId = "ASIA" + randomBytes(8).toString("hex").toUpperCase();
    const k = {
      accessKeyId,
      secretAccessKey: randomBytes(20).toString("base64"),
      sessionToken: "IQo" + randomBytes(48).toString("base64"),
      expires: Date.now() + settings.lifetime * 1000,
      provider, roleArn,
    };
    keys.set(accessKeyId, k);
    stats.issued[provider] = (stats.issued[provider] || 0) + 1;
    return k;
  }
  const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
  const send = (res, status, type, body) => { res.writeHead(status, { "content-type": type }); res.end(body); };
  const xmlEscape = (v) => String(v).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  function stsError(res, status, code, message) {
    send(res, status, "text/xml", `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>vtp-test</RequestId></ErrorResponse>`);
  }
  function stsOk(res, action, k) {
    send(res, 200, "text/xml", `<${action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><${action}Result><Credentials>` +
      `<AccessKeyId>${k.accessKeyId}</AccessKeyId><SecretAccessKey>${xmlEscape(k.secretAccessKey)}</SecretAccessKey>` +
      `<SessionToken>${xmlEscape(k.sessionToken)}</SessionToken><Expiration>${iso(k.expires)}</Expiration></Credentials>` +
      `<AssumedRoleUser><Arn>${xmlEscape(k.roleArn)}/vtp</Arn><AssumedRoleId>AROAVTP:vtp</AssumedRoleId></AssumedRoleUser>` +
      `</${action}Result><ResponseMetadata><RequestId>vtp-test</RequestId></ResponseMetadata></${action}Response>`);
  }
  const credsJson = (k, extra) => JSON.stringify({ ...extra, AccessKeyId: k.accessKeyId, SecretAccessKey: k.secretAccessKey,
    Token: k.sessionToken, Expiration: iso(k.expires) });

  const server = http.createServer((req, res) => {
    const chunks = [];
    let size = 0;
    req.on("data", (c) => { size += c.length; if (size > 1 << 20) req.destroy(); else chunks.push(c); });
    req.on("end", async () => {
      const body = Buffer.concat(chunks);
      const [path, rawq] = req.url.split("?");
      const q = new URLSearchParams(rawq || "");
      if (path === "/__creds") {
        if (req.method === "POST") {
          if (q.has("lifetime")) settings.lifetime = +q.get("lifetime");
          if (q.has("static")) settings.staticAllowed = q.get("static") !== "off";
          if (q.has("revoke")) for (const k of keys.values()) k.expires = Math.min(k.expires, Date.now() - 1);
        }
        send(res, 200, "application/json", JSON.stringify(stats));
        return;
      }
      if (path === "/latest/api/token") {
        const ttl = +(req.headers["x-aws-ec2-metadata-token-ttl-seconds"] || 0);
        if (req.method !== "PUT" || !(ttl >= 1 && ttl <= 21600)) { send(res, 400, "text/plain", "Bad Request"); return; }
        const t = randomBytes(32).toString("base64");
        imdsTokens.set(t, Date.now() + ttl * 1000);
        send(res, 200, "text/plain", t);
        return;
      }
      if (path.startsWith("/latest/meta-data/")) {
        const t = req.headers["x-aws-ec2-metadata-token"];
        if (!t || !(imdsTokens.get(t) > Date.now())) {
          if (!t) stats.imdsv1_refused++;
          send(res, 401, "text/plain", "Unauthorized");
          return;
        }
        const base = "/latest/meta-data/iam/security-credentials/";
        if (path === base) { send(res, 200, "text/plain", ROLE_NAME); return; }
        if (path === base + ROLE_NAME) {
          const k = issue("imds", `arn:aws:iam::000000000000:role/${ROLE_NAME}`);
          send(res, 200, "text/plain", credsJson(k, { Code: "Success", LastUpdated: iso(Date.now()), Type: "AWS-HMAC" }));
          return;
        }
        send(res, 404, "text/plain", "Not Found");
        return;
      }
      if (path.startsWith("/ecs/")) {
        if (req.headers["authorization"] !== ECS_TOKEN) {
          send(res, 401, "application/json", JSON.stringify({ code: "AccessDeniedException", message: "bad authorization token" }));
          return;
        }
        const k = issue("container", "arn:aws:iam::000000000000:role/vtp-task-role");
        send(res, 200, "application/json", credsJson(k, { RoleArn: k.roleArn }));
        return;
      }
      if (path === "/" && req.method === "POST") {
        const form = new URLSearchParams(body.toString());
        const action = form.get("Action");
        const roleArn = form.get("RoleArn");
        if (form.get("Version") !== "2011-06-15" || !roleArn || !form.get("RoleSessionName")) {
          stsError(res, 400, "MissingParameter", "Version, RoleArn and RoleSessionName are required");
          return;
        }
        if (action === "AssumeRoleWithWebIdentity") {
          if (form.get("WebIdentityToken") !== WEB_TOKEN) {
            stsError(res, 400, "InvalidIdentityToken", "Incorrect token audience");
            return;
          }
          stsOk(res, action, issue("web-identity", roleArn));
          return;
        }
        if (action === "AssumeRole") {
          let problem;
          try { problem = await verify(req, body, settings.lookup); }
          catch (e) { problem = { status: 403, code: "SignatureDoesNotMatch", message: String(e) }; }
          if (problem) { stsError(res, problem.status, problem.code, problem.message); return; }
          if (form.has("ExternalId") && form.get("ExternalId") !== "vtp-external-id") {
            stsError(res, 403, "AccessDenied", "not authorized to perform sts:AssumeRole (ExternalId)");
            return;
          }
          stsOk(res, action, issue("assume-role", roleArn));
          return;
        }
        stsError(res, 400, "InvalidAction", `unknown action ${action}`);
        return;
      }
      send(res, 404, "text/plain", "Not Found");
    });
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}
