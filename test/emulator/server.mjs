// server.mjs — the S3+SQS server for vtp's tests and demo: fauxqs 1.9.2 on a
// loopback port, behind a loopback proxy that verifies every request's SigV4
// signature (sigcheck.mjs) the way AWS would, since fauxqs checks none.
//
//   node server.mjs --port 9324 --state /tmp/state.json
//
// POST /__vtp/outage?seconds=N (unsigned, loopback only) takes the server down
// for N seconds — connections are cut and refused — while the backend keeps
// its buckets and queues, as a restarted S3/SQS endpoint would.
// POST /__vtp/fail?method=PUT&path=/bucket/prefix&count=N makes the next N
// matching S3 requests answer 503 SlowDown, as a throttling S3 does; with
// &query=uploadId only requests whose query string holds that, and with
// &after=1 the request is carried out first and only its answer is lost.
// SQS's rule that a message stays invisible at most 12 h after its receive
// (fauxqs checks only each call's value against 43200) is enforced here:
// a ChangeMessageVisibility past it answers InvalidParameterValue, as AWS
// does. --sqs-max-visibility N, or POST /__vtp/sqs-max-visibility?seconds=N,
// lowers the 12 h for tests.
//
// --cred-port P (0: any) also starts loopback EC2 IMDSv2, ECS container and
// STS endpoints (credserver.mjs) whose temporary keys this proxy accepts
// until they expire; their base URL goes to the state file as cred_endpoint.
//
// Creates the buckets and queues vtp needs, then writes the endpoint and queue
// URLs to the state file. Stops on SIGTERM/SIGINT, and by itself after
// --max-seconds (default 4 h) so that nothing is left running.
import http from "node:http";
import { writeFileSync, renameSync } from "node:fs";
import { buildApp } from "fauxqs";
import { verify } from "./sigcheck.mjs";
import { startCredServer } from "./credserver.mjs";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? acc.concat([[a.slice(2), all[i + 1]]]) : acc), []));
const port = parseInt(args.port || "9324", 10);
const backendPort = parseInt(args["backend-port"] || String(port + 1), 10);
const maxSeconds = parseInt(args["max-seconds"] || "14400", 10);
const creds = {
  accessKeyId: process.env.AWS_ACCESS_KEY_ID || "vtptestkey",
  secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY || "vtptestsecret",
};
const MAX_BODY = 64 * 1024 * 1024;
// temporary keys issued by the credential services (credserver.mjs)
const issuedKeys = new Map();
const credSettings = { lifetime: parseInt(args["cred-lifetime"] || "3600", 10), staticAllowed: true };
function lookupKey(accessKeyId, token, staticAllowed) {
  if (accessKeyId === creds.accessKeyId)
    return staticAllowed ? { creds } : { problem: { status: 403, code: "InvalidAccessKeyId",
      message: "The AWS Access Key Id you provided does not exist in our records. (static keys are off)" } };
  const k = issuedKeys.get(accessKeyId);
  if (!k) return { problem: { status: 403, code: "InvalidAccessKeyId", message: "The AWS Access Key Id you provided does not exist in our records." } };
  if (token !== k.sessionToken)
    return { problem: { status: 400, code: "InvalidToken", message: "The provided token is malformed or otherwise invalid." } };
  if (Date.now() >= k.expires) {
    credSettings.stats.expired_rejections++;
    return { problem: { status: 400, code: "ExpiredToken", message: "The provided token has expired." } };
  }
  credSettings.stats.accepted_temporary = (credSettings.stats.accepted_temporary || 0) + 1;
  return { creds: k };
}
credSettings.lookup = (ak, tok) => lookupKey(ak, tok, true);
let credServer = null;
if (args["cred-port"] !== undefined)
  credServer = await startCredServer({ port: parseInt(args["cred-port"], 10), keys: issuedKeys, settings: credSettings });
else credSettings.stats = { issued: {}, expired_rejections: 0, imdsv1_refused: 0 };
let requests = 0, rejected = 0;
let sqsMaxVisibility = parseInt(args["sqs-max-visibility"] || "43200", 10);
const receivedAt = new Map(); // ReceiptHandle -> when its ReceiveMessage came in (ms)

const app = buildApp({ logger: false });
await app.listen({ host: "127.0.0.1", port: backendPort });
const backend = `http://127.0.0.1:${app.server.address().port}`;

async function call(method, path, headers, body) {
  const r = await fetch(backend + path, { method, headers, body });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text;
}
async function sqs(action, body) {
  return JSON.parse(await call("POST", "/", { "content-type": "application/x-amz-json-1.0",
    "x-amz-target": `AmazonSQS.${action}` }, JSON.stringify(body)) || "{}");
}
async function makeQueue(name, visibility) {
  const dlq = await sqs("CreateQueue", { QueueName: `${name}-dlq`, Attributes: { MessageRetentionPeriod: "1209600" } });
  const dlqArn = (await sqs("GetQueueAttributes", { QueueUrl: dlq.QueueUrl, AttributeNames: ["QueueArn"] })).Attributes.QueueArn;
  const q = await sqs("CreateQueue", { QueueName: name, Attributes: {
    VisibilityTimeout: String(visibility), MessageRetentionPeriod: "345600",
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: "5" }) } });
  return { url: q.QueueUrl, dlq: dlq.QueueUrl };
}

const buckets = ["temp-video-bucket", "output-video-bucket"];
for (const b of buckets) await call("PUT", `/${b}`, {}, undefined);
const events = await makeQueue("vtp-events", 60);
const tasks = await makeQueue("vtp-tasks", 120);

function reject(res, service, e) {
  rejected++;
  if (service === "sqs") {
    res.writeHead(e.status, { "content-type": "application/x-amz-json-1.0" });
    res.end(JSON.stringify({ __type: `com.amazonaws.sqs#${e.code}`, message: e.message }));
  } else {
    res.writeHead(e.status, { "content-type": "application/xml" });
    res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${e.code}</Code><Message>${e.message}</Message></Error>`);
  }
}

// fauxqs lacks ListMultipartUploads: the proxy follows multipart uploads on
// the wire (initiate, complete, abort) and answers GET /BUCKET?uploads itself.
const openUploads = new Map(); // uploadId -> {bucket, key, initiated}
function xmlEscape(v) {
  return String(v).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
function listUploads(res, bucket) {
  const items = [...openUploads.entries()].filter(([, u]) => u.bucket === bucket)
    .map(([id, u]) => `<Upload><Key>${xmlEscape(u.key)}</Key><UploadId>${xmlEscape(id)}</UploadId><Initiated>${u.initiated}</Initiated></Upload>`);
  res.writeHead(200, { "content-type": "application/xml" });
  res.end(`<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult><Bucket>${xmlEscape(bucket)}</Bucket>${items.join("")}</ListMultipartUploadsResult>`);
}
function parseTarget(url) {
  const qi = url.indexOf("?");
  const path = decodeURIComponent(qi < 0 ? url : url.slice(0, qi)).replace(/^\//, "");
  const q = new URLSearchParams(qi < 0 ? "" : url.slice(qi + 1));
  const slash = path.indexOf("/");
  return { bucket: slash < 0 ? path : path.slice(0, slash), key: slash < 0 ? "" : path.slice(slash + 1), q };
}

// fauxqs speaks SQS's JSON 1.0 protocol only, while the AWS CLI v2 that
// Debian packages (2.9) still speaks the older form-encoded Query protocol
// (AWS accepts both). So that the docs' `aws sqs ...` commands run here as
// they would on AWS (test/t/014_docs.pl), the proxy turns a signed Query
// request into the JSON call and its answer back into Query's XML.
function isQueryRequest(req, body) {
  return req.method === "POST" && !req.headers["x-amz-target"] &&
    /Credential=[^/]+\/\d{8}\/[^/]+\/sqs\//.test(req.headers["authorization"] || "") &&
    /^application\/x-www-form-urlencoded/.test(req.headers["content-type"] || "") &&
    /(^|&)Action=/.test(body.toString());
}
const queryInts = new Set(["MaxNumberOfMessages", "WaitTimeSeconds", "VisibilityTimeout", "DelaySeconds", "MaxResults"]);
function queryToJson(params) {
  const out = {};
  const attrs = {}, tags = {};
  for (const [k, v] of params) {
    let m;
    if (k === "Action" || k === "Version") continue;
    if ((m = /^Attribute\.(\d+)\.(Name|Value)$/.exec(k))) (attrs[m[1]] ??= {})[m[2]] = v;
    else if ((m = /^Tag\.(\d+)\.(Key|Value)$/.exec(k))) (tags[m[1]] ??= {})[m[2]] = v;
    else if ((m = /^(AttributeName|MessageAttributeName|MessageSystemAttributeName)\.\d+$/.exec(k)))
      (out[m[1] === "AttributeName" ? "AttributeNames" : m[1] + "s"] ??= []).push(v);
    else out[k] = queryInts.has(k) ? parseInt(v, 10) : v;
  }
  if (Object.keys(attrs).length) out.Attributes = Object.fromEntries(Object.values(attrs).map((a) => [a.Name, a.Value ?? ""]));
  if (Object.keys(tags).length) out.tags = Object.fromEntries(Object.values(tags).map((t) => [t.Key, t.Value ?? ""]));
  return out;
}
function jsonToXml(v) {
  let x = "";
  for (const [k, val] of Object.entries(v || {})) {
    if (k === "Attributes" && val && typeof val === "object")
      for (const [n, a] of Object.entries(val)) x += `<Attribute><Name>${xmlEscape(n)}</Name><Value>${xmlEscape(a)}</Value></Attribute>`;
    else if (k === "Messages") for (const m of val) x += `<Message>${jsonToXml(m)}</Message>`;
    else if (k === "QueueUrls") for (const u of val) x += `<QueueUrl>${xmlEscape(u)}</QueueUrl>`;
    else if (val !== null && typeof val === "object") continue;
    else x += `<${k}>${xmlEscape(val)}</${k}>`;
  }
  return x;
}
async function answerQuery(res, body) {
  const params = new URLSearchParams(body.toString());
  const action = params.get("Action");
  const r = await fetch(backend + "/", { method: "POST", headers: { "content-type": "application/x-amz-json-1.0",
    "x-amz-target": `AmazonSQS.${action}` }, body: JSON.stringify(queryToJson(params)) });
  const text = await r.text();
  const j = text ? JSON.parse(text) : {};
  const rid = `<ResponseMetadata><RequestId>${Date.now()}</RequestId></ResponseMetadata>`;
  res.writeHead(r.status, { "content-type": "text/xml" });
  if (r.status >= 300) {
    const code = String(j.__type || "InternalError").replace(/^.*#/, "");
    res.end(`<?xml version="1.0"?><ErrorResponse><Error><Type>Sender</Type><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(j.message || j.Message || "")}</Message></Error><RequestId>${Date.now()}</RequestId></ErrorResponse>`);
  } else
    res.end(`<?xml version="1.0"?><${action}Response><${action}Result>${jsonToXml(j)}</${action}Result>${rid}</${action}Response>`);
}

const proxy = http.createServer((req, res) => {
  const chunks = [];
  let size = 0;
  req.on("data", (c) => {
    size += c.length;
    if (size > MAX_BODY) { req.destroy(); return; }
    chunks.push(c);
  });
  req.on("end", async () => {
    requests++;
    const body = Buffer.concat(chunks);
    const service = req.headers["x-amz-target"] ? "sqs" : "s3";
    if (req.url === "/health") { res.writeHead(200); res.end("ok"); return; }
    if (req.method === "POST" && req.url.startsWith("/__vtp/fail")) {
      const q = new URLSearchParams(req.url.split("?")[1] || "");
      failRules.push({ method: q.get("method") || "", path: q.get("path") || "/", count: +(q.get("count") || 1),
        query: q.get("query") || "", after: q.get("after") === "1" });
      res.writeHead(200); res.end("ok\n");
      return;
    }
    let loseAnswer = false;
    {
      const path = decodeURIComponent(req.url.split("?")[0]);
      const query = req.url.split("?")[1] || "";
      const rule = failRules.find((r) => r.count > 0 && (!r.method || r.method === req.method) && path.startsWith(r.path) &&
        (!r.query || query.includes(r.query)));
      if (rule) {
        rule.count--;
        if (rule.after) loseAnswer = true;
        else {
          reject(res, "s3", { status: 503, code: "SlowDown", message: "Please reduce your request rate." });
          return;
        }
      }
    }
    if (req.method === "POST" && req.url.startsWith("/__vtp/sqs-max-visibility")) {
      sqsMaxVisibility = +(new URLSearchParams(req.url.split("?")[1] || "").get("seconds") || 43200);
      res.writeHead(200); res.end(`${sqsMaxVisibility}\n`);
      return;
    }
    if (req.method === "POST" && req.url.startsWith("/__vtp/outage")) {
      const seconds = +(new URLSearchParams(req.url.split("?")[1] || "").get("seconds") || 30);
      res.writeHead(200); res.end("down\n");
      res.on("finish", () => outage(seconds));
      return;
    }
    let problem;
    try { problem = await verify(req, body, (ak, tok) => lookupKey(ak, tok, credSettings.staticAllowed)); }
    catch (e) { problem = { status: 403, code: "SignatureDoesNotMatch", message: String(e) }; }
    // which of vtp's own requests (its User-Agent) came with the static key
    if (!problem && String(req.headers["user-agent"] || "").startsWith("vtp/") &&
        (String(req.headers.authorization || "").includes(`Credential=${creds.accessKeyId}/`) ||
         req.url.includes(`X-Amz-Credential=${creds.accessKeyId}%2F`)))
      credSettings.stats.static_by_vtp = (credSettings.stats.static_by_vtp || 0) + 1;
    if (problem) {
      process.stderr.write(`emulator: rejected ${req.method} ${req.url}: ${problem.code}\n`);
      reject(res, service, problem);
      return;
    }
    if (isQueryRequest(req, body)) {
      try { await answerQuery(res, body); }
      catch (e) { if (!res.headersSent) { res.writeHead(502); res.end(String(e)); } }
      return;
    }
    const action = service === "sqs" ? String(req.headers["x-amz-target"]).replace(/^AmazonSQS\./, "") : "";
    const started = Date.now();
    if (action === "ChangeMessageVisibility" || action === "DeleteMessage") {
      let b = {};
      try { b = JSON.parse(body.toString() || "{}"); } catch { b = {}; }
      const at = receivedAt.get(b.ReceiptHandle);
      if (action === "DeleteMessage") receivedAt.delete(b.ReceiptHandle);
      else if (at !== undefined && (started - at) / 1000 + Number(b.VisibilityTimeout) > sqsMaxVisibility) {
        process.stderr.write(`emulator: refused ChangeMessageVisibility ${b.VisibilityTimeout} s, ${Math.round((started - at) / 1000)} s after the receive\n`);
        reject(res, "sqs", { status: 400, code: "InvalidParameterValue",
          message: `Value ${b.VisibilityTimeout} for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [${sqsMaxVisibility} seconds].` });
        return;
      }
    }
    const t = service === "s3" ? parseTarget(req.url) : null;
    if (t && req.method === "GET" && !t.key && t.q.has("uploads")) { listUploads(res, t.bucket); return; }
    const headers = { ...req.headers };
    delete headers["content-length"];
    delete headers["transfer-encoding"];
    const up = http.request(backend + req.url, { method: req.method, headers: { ...headers, "content-length": body.length } }, (ur) => {
      if (loseAnswer) {
        // carried out; the answer is lost on the way back
        ur.resume();
        ur.on("end", () => {
          if (t && t.key && ur.statusCode < 300 && t.q.has("uploadId")) openUploads.delete(t.q.get("uploadId"));
          reject(res, "s3", { status: 503, code: "SlowDown", message: "Please reduce your request rate." });
        });
        return;
      }
      if (action === "ReceiveMessage" && ur.statusCode < 300) {
        const parts = [];
        ur.on("data", (c) => parts.push(c));
        ur.on("end", () => {
          const out = Buffer.concat(parts);
          try {
            for (const m of JSON.parse(out.toString() || "{}").Messages || []) receivedAt.set(m.ReceiptHandle, started);
          } catch { /* not JSON: passed on as it is */ }
          if (receivedAt.size > 100000) receivedAt.delete(receivedAt.keys().next().value);
          res.writeHead(ur.statusCode, ur.headers);
          res.end(out);
        });
        return;
      }
      if (t && t.key && ur.statusCode < 300) {
        if (req.method === "POST" && t.q.has("uploads")) {
          const parts = [];
          ur.on("data", (c) => parts.push(c));
          ur.on("end", () => {
            const out = Buffer.concat(parts);
            const m = /<UploadId>([^<]*)<\/UploadId>/.exec(out.toString());
            if (m) openUploads.set(m[1], { bucket: t.bucket, key: t.key, initiated: new Date().toISOString() });
            res.writeHead(ur.statusCode, ur.headers);
            res.end(out);
          });
          return;
        }
        if ((req.method === "POST" || req.method === "DELETE") && t.q.has("uploadId")) openUploads.delete(t.q.get("uploadId"));
      }
      res.writeHead(ur.statusCode, ur.headers);
      ur.pipe(res);
    });
    up.on("error", (e) => { if (!res.headersSent) { res.writeHead(502); res.end(String(e)); } });
    // a client that goes away (an aborted long poll) cancels the upstream call too
    res.on("close", () => { if (!res.writableFinished) up.destroy(); });
    up.end(body);
  });
});
const sockets = new Set();
const failRules = [];
proxy.on("connection", (sock) => { sockets.add(sock); sock.on("close", () => sockets.delete(sock)); });
function outage(seconds) {
  process.stderr.write(`emulator: outage for ${seconds} s\n`);
  proxy.close();
  for (const sock of sockets) sock.destroy();
  setTimeout(() => proxy.listen(port, "127.0.0.1", () => process.stderr.write("emulator: back\n")), seconds * 1000);
}
proxy.listen(port, "127.0.0.1", () => {
  const state = { endpoint: `http://127.0.0.1:${port}`, backend, region: "us-east-1",
    buckets, events_queue_url: events.url, events_dlq_url: events.dlq,
    tasks_queue_url: tasks.url, tasks_dlq_url: tasks.dlq, pid: process.pid,
    cred_endpoint: credServer ? `http://127.0.0.1:${credServer.address().port}` : null };
  if (args.state) { writeFileSync(args.state + ".tmp", JSON.stringify(state, null, 2)); renameSync(args.state + ".tmp", args.state); }
  process.stdout.write(JSON.stringify(state) + "\n");
});

function stop() {
  process.stderr.write(`emulator: stopping after ${requests} requests (${rejected} rejected)\n`);
  proxy.close();
  if (credServer) credServer.close();
  app.close().finally(() => process.exit(0));
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
setTimeout(stop, maxSeconds * 1000).unref();
