// awscli.mjs — the test harness's S3/SQS client: signed requests (AWS SDK
// signer) through the verifying proxy. Emulates the one thing the emulator
// cannot do: S3 bucket notifications. After a PUT it sends to the events
// queue the exact JSON S3 would send (aws.md), which is the only emulated step.
//
//   node awscli.mjs put BUCKET KEY FILE [--notify QUEUE_URL]
//   node awscli.mjs notify QUEUE_URL BUCKET KEY [TIMES]    (HEADs for size/ETag)
//   node awscli.mjs notify-raw QUEUE_URL BUCKET KEY SIZE ETAG SEQUENCER   (a given version's record)
//   node awscli.mjs get BUCKET KEY FILE
//   node awscli.mjs head BUCKET KEY                         -> {"status":..,"size":..,"etag":..}
//   node awscli.mjs list BUCKET [PREFIX]                    -> one key a line
//   node awscli.mjs uploads BUCKET                         -> keys of unfinished multipart uploads
//   node awscli.mjs send QUEUE_URL BODY
//   node awscli.mjs count QUEUE_URL                         -> visible+invisible messages
//   node awscli.mjs attrs QUEUE_URL                         -> the queue's attributes as JSON
//   node awscli.mjs drain QUEUE_URL                         -> receives and deletes every visible message; prints their bodies
//   node awscli.mjs initiate BUCKET KEY                     -> starts a multipart upload and leaves it; prints its UploadId
//   node awscli.mjs outage SECONDS                          -> the server goes down for SECONDS
//   node awscli.mjs batch QUEUE_URL BUCKET PREFIX COUNT FILE -> PUTs FILE as PREFIX01.mp4 … and notifies each
//   node awscli.mjs fail METHOD PATH COUNT                  -> the next COUNT such S3 requests get 503 SlowDown
//   node awscli.mjs create-queue NAME                       -> a queue without a dead-letter queue; prints its URL
//
// Environment: VTP_ENDPOINT (the proxy), AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY.
import { readFileSync, writeFileSync, statSync } from "node:fs";
import { createHash } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";
import { Sha256 } from "@aws-crypto/sha256-js";

const endpoint = new URL(process.env.VTP_ENDPOINT || "http://127.0.0.1:9324");
const creds = { accessKeyId: process.env.AWS_ACCESS_KEY_ID || "vtptestkey",
  secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY || "vtptestsecret" };

function encodeKey(key) {
  return key.split("/").map((s) => encodeURIComponent(s).replace(/[!'()*]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase())).join("/");
}

async function signed(service, method, path, query, headers, body) {
  const signer = new SignatureV4({ credentials: creds, region: "us-east-1", service, sha256: Sha256,
    uriEscapePath: service !== "s3" });
  const h = { host: endpoint.host, ...headers };
  if (service === "s3") h["x-amz-content-sha256"] = createHash("sha256").update(body || "").digest("hex");
  const req = await signer.sign({ method, protocol: endpoint.protocol, hostname: endpoint.hostname,
    port: +endpoint.port, path, query, headers: h, body });
  const qs = Object.entries(query || {}).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
  const r = await fetch(`${endpoint.origin}${path}${qs ? "?" + qs : ""}`, { method, headers: req.headers, body });
  return r;
}

async function sqs(action, payload) {
  const r = await signed("sqs", "POST", "/", {}, { "content-type": "application/x-amz-json-1.0",
    "x-amz-target": `AmazonSQS.${action}` }, JSON.stringify(payload));
  const t = await r.text();
  if (r.status !== 200) throw new Error(`${action}: ${r.status} ${t}`);
  return t ? JSON.parse(t) : {};
}

// S3's form-style key encoding in notifications: '+' for space, '/' kept.
function formEncode(key) {
  return Buffer.from(key, "utf8").toString("binary").split("").map((c) => {
    if (/[A-Za-z0-9\-_.~/]/.test(c)) return c;
    if (c === " ") return "+";
    return "%" + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0");
  }).join("");
}

export function notification(bucket, key, size, etag, sequencer) {
  return JSON.stringify({ Records: [{
    eventVersion: "2.1", eventSource: "aws:s3", awsRegion: "us-east-1",
    eventTime: new Date().toISOString(), eventName: "ObjectCreated:Put",
    userIdentity: { principalId: "AWS:TEST" }, requestParameters: { sourceIPAddress: "127.0.0.1" },
    responseElements: { "x-amz-request-id": "TEST", "x-amz-id-2": "TEST" },
    s3: { s3SchemaVersion: "1.0", configurationId: "vtp-uploads",
      bucket: { name: bucket, ownerIdentity: { principalId: "TEST" }, arn: `arn:aws:s3:::${bucket}` },
      object: { key: formEncode(key), size, eTag: etag, sequencer } } }] });
}

async function head(bucket, key) {
  const r = await signed("s3", "HEAD", `/${bucket}/${encodeKey(key)}`, {}, {}, undefined);
  return { status: r.status, size: +(r.headers.get("content-length") || -1),
    etag: (r.headers.get("etag") || "").replace(/"/g, "") };
}

// Sends the same notification body `times` times (S3 delivers at least once).
async function notify(queue, bucket, key, times = 1) {
  const h = await head(bucket, key);
  if (h.status !== 200) throw new Error(`notify: ${bucket}/${key} HEAD ${h.status}`);
  const seq = Date.now().toString(16).toUpperCase().padStart(18, "0");
  const body = notification(bucket, key, h.size, h.etag, seq);
  const sent = Date.now();
  for (let i = 0; i < times; i++) await sqs("SendMessage", { QueueUrl: queue, MessageBody: body });
  return sent;
}

const [cmd, ...a] = process.argv.slice(2);
try {
  if (cmd === "put") {
    const body = readFileSync(a[2]);
    const r = await signed("s3", "PUT", `/${a[0]}/${encodeKey(a[1])}`, {}, { "content-type": "video/mp4" }, body);
    if (r.status !== 200) throw new Error(`put: ${r.status} ${await r.text()}`);
    const ni = a.indexOf("--notify");
    if (ni >= 0) console.log((await notify(a[ni + 1], a[0], a[1])) / 1000);
  } else if (cmd === "notify") {
    // prints when the notification was sent (epoch seconds), for timing
    console.log((await notify(a[0], a[1], a[2], +(a[3] || 1))) / 1000);
  } else if (cmd === "notify-raw") {
    const [queue, bucket, key, size, etag, seq] = a;
    await sqs("SendMessage", { QueueUrl: queue, MessageBody: notification(bucket, key, +size, etag, seq) });
  } else if (cmd === "get") {
    const r = await signed("s3", "GET", `/${a[0]}/${encodeKey(a[1])}`, {}, {}, undefined);
    if (r.status !== 200) throw new Error(`get: ${r.status} ${await r.text()}`);
    writeFileSync(a[2], Buffer.from(await r.arrayBuffer()));
  } else if (cmd === "head") {
    console.log(JSON.stringify(await head(a[0], a[1])));
  } else if (cmd === "list") {
    const r = await signed("s3", "GET", `/${a[0]}`, { "list-type": "2", prefix: a[1] || "" }, {}, undefined);
    const t = await r.text();
    for (const m of t.matchAll(/<Key>([^<]*)<\/Key>/g)) console.log(m[1].replace(/&amp;/g, "&").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'"));
  } else if (cmd === "uploads") {
    // in-progress multipart uploads (ListMultipartUploads)
    const r = await signed("s3", "GET", `/${a[0]}`, { uploads: "" }, {}, undefined);
    const t = await r.text();
    for (const m of t.matchAll(/<Key>([^<]*)<\/Key>/g)) console.log(m[1]);
  } else if (cmd === "send") {
    await sqs("SendMessage", { QueueUrl: a[0], MessageBody: a[1] });
  } else if (cmd === "attrs") {
    console.log(JSON.stringify((await sqs("GetQueueAttributes", { QueueUrl: a[0], AttributeNames: ["All"] })).Attributes));
  } else if (cmd === "drain") {
    for (;;) {
      const r = await sqs("ReceiveMessage", { QueueUrl: a[0], MaxNumberOfMessages: 10, WaitTimeSeconds: 0 });
      if (!r.Messages || r.Messages.length === 0) break;
      for (const m of r.Messages) {
        console.log(m.Body);
        await sqs("DeleteMessage", { QueueUrl: a[0], ReceiptHandle: m.ReceiptHandle });
      }
    }
  } else if (cmd === "initiate") {
    const r = await signed("s3", "POST", `/${a[0]}/${encodeKey(a[1])}`, { uploads: "" }, {}, "");
    const t = await r.text();
    if (r.status !== 200) throw new Error(`initiate: ${r.status} ${t}`);
    const id = /<UploadId>([^<]*)<\/UploadId>/.exec(t)[1];
    const body = Buffer.alloc(5 * 1024 * 1024, 7);
    const p = await signed("s3", "PUT", `/${a[0]}/${encodeKey(a[1])}`, { partNumber: "1", uploadId: id }, {}, body);
    if (p.status !== 200) throw new Error(`upload part: ${p.status} ${await p.text()}`);
    console.log(id);
  } else if (cmd === "batch") {
    const [queue, bucket, prefix, count, file] = a;
    const body = readFileSync(file);
    const keys = [];
    for (let i = 1; i <= +count; i++) {
      const key = `${prefix}${String(i).padStart(2, "0")}.mp4`;
      const r = await signed("s3", "PUT", `/${bucket}/${encodeKey(key)}`, {}, { "content-type": "video/mp4" }, body);
      if (r.status !== 200) throw new Error(`put: ${r.status} ${await r.text()}`);
      keys.push(key);
    }
    for (const key of keys) await notify(queue, bucket, key);
    for (const key of keys) console.log(key);
  } else if (cmd === "create-queue") {
    console.log((await sqs("CreateQueue", { QueueName: a[0] })).QueueUrl);
  } else if (cmd === "fail") {
    const q = new URLSearchParams({ method: a[0], path: a[1], count: a[2] });
    const r = await fetch(`${endpoint.origin}/__vtp/fail?${q}`, { method: "POST" });
    if (r.status !== 200) throw new Error(`fail: ${r.status}`);
  } else if (cmd === "outage") {
    const r = await fetch(`${endpoint.origin}/__vtp/outage?seconds=${+a[0]}`, { method: "POST" });
    if (r.status !== 200) throw new Error(`outage: ${r.status}`);
  } else if (cmd === "count") {
    const r = await sqs("GetQueueAttributes", { QueueUrl: a[0], AttributeNames: ["All"] });
    console.log(+r.Attributes.ApproximateNumberOfMessages + +r.Attributes.ApproximateNumberOfMessagesNotVisible);
  } else {
    console.error("usage: see the header of awscli.mjs");
    process.exit(2);
  }
} catch (e) {
  console.error(String(e.message || e));
  process.exit(1);
}
