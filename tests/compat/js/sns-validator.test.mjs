// Tern's signed SNS messages through the npm `sns-validator` (pinned in package.json and
// package-lock.json), the standalone validator HTTP endpoints use. Run by scripts/test as
// `node --test` in this directory; spawns its own tern (TERN_BIN, default
// <repo>/target/debug/tern) with an HTTPS listener on 127.0.0.1, because sns-validator only
// fetches `SigningCertURL`s over https. Tern's self-signed TLS certificate (written to its data
// directory) is trusted through the https global agent, which is what sns-validator fetches with.
//
// SNS is spoken as unsigned Query requests (Tern routes them by Action), so no SNS SDK is needed.
// Checked: the SubscriptionConfirmation POSTed to a node http endpoint, the Notification POSTed
// there and the envelope put in an SQS queue, in SignatureVersion 1 and 2; a tampered message
// fails. (sns-validator signs an UnsubscribeConfirmation with a Notification's keys, leaving out
// Token, unlike AWS's documented string to sign; the Rust e2e tests verify that message type.)

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import https from "node:https";
import path from "node:path";
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import MessageValidator from "sns-validator";
import { startTern, stopTern } from "./tern-process.mjs";

const ARRIVAL_TIMEOUT_MS = 15_000;
const HOST_PATTERN = /^127\.0\.0\.1(:\d+)?$/;

let tern;
let endpoint;
let dataDir;
let hook;
const posted = [];
const arrivals = [];

// An HTTP subscriber: records every POST and answers 200.
function startHook() {
  return new Promise((resolve) => {
    const server = createServer((request, response) => {
      let body = "";
      request.setEncoding("utf8");
      request.on("data", (chunk) => (body += chunk));
      request.on("end", () => {
        posted.push({ headers: request.headers, body });
        response.writeHead(200).end();
        for (const wake of arrivals.splice(0)) wake();
      });
    });
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

async function waitForPosts(count) {
  const deadline = Date.now() + ARRIVAL_TIMEOUT_MS;
  while (posted.length < count) {
    assert.ok(Date.now() < deadline, `expected ${count} POSTs within ${ARRIVAL_TIMEOUT_MS} ms, got ${posted.length}`);
    await new Promise((resolve) => {
      arrivals.push(resolve);
      setTimeout(resolve, 200);
    });
  }
  return posted;
}

// An unsigned SNS Query request; returns the reply's XML text (throws on an error status).
async function sns(action, params) {
  const body = new URLSearchParams({ Action: action, Version: "2010-03-31", ...params });
  const response = await fetch(endpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body,
  });
  const text = await response.text();
  assert.equal(response.status, 200, `${action}: ${text}`);
  return text;
}

const element = (xml, name) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];

// A GET over https, trusting Tern's certificate the way sns-validator's fetch does.
function httpsGet(url) {
  return new Promise((resolve, reject) => {
    https
      .get(url, (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk) => (body += chunk));
        response.on("end", () => resolve({ status: response.statusCode, body }));
      })
      .on("error", reject);
  });
}

function validate(message, validator = new MessageValidator(HOST_PATTERN)) {
  return new Promise((resolve, reject) => {
    validator.validate(message, (error, validated) => (error ? reject(error) : resolve(validated)));
  });
}

async function assertValidAndTamperProof(message) {
  const validated = await validate(message);
  assert.equal(validated.MessageId, message.MessageId);
  const tampered = { ...message, Message: `${message.Message} (changed)` };
  await assert.rejects(validate(tampered), /signature is invalid/);
}

describe("SNS messages signed by Tern pass sns-validator", () => {
  before(async () => {
    const started = await startTern({ tls: true, prefix: "tern-compat-sns-" });
    tern = started.child;
    dataDir = started.dataDir;
    endpoint = started.url;
    assert.match(started.secureUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
    // sns-validator fetches certificates with https.get, i.e. through the global agent.
    https.globalAgent.options.ca = readFileSync(path.join(dataDir, "data", "tls-certificate.pem"));
    hook = await startHook();
  });

  after(async () => {
    if (hook) hook.close();
    if (tern) await stopTern(tern);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test("confirmations, HTTP notifications and queued envelopes validate; tampering does not", async () => {
    const sqs = new SQSClient({
      endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "AKIDTERNJS", secretAccessKey: "js-secret" },
      maxAttempts: 1,
    });
    const queue = await sqs.send(new CreateQueueCommand({ QueueName: "validated" }));
    const topicArn = element(await sns("CreateTopic", { Name: "validated" }), "TopicArn");
    await sns("Subscribe", {
      TopicArn: topicArn,
      Protocol: "sqs",
      Endpoint: "arn:aws:sqs:us-east-1:000000000000:validated",
    });
    const hookUrl = `http://127.0.0.1:${hook.address().port}/sns`;
    const pending = await sns("Subscribe", { TopicArn: topicArn, Protocol: "http", Endpoint: hookUrl });
    assert.equal(element(pending, "SubscriptionArn"), "pending confirmation");

    const [confirmationPost] = await waitForPosts(1);
    assert.equal(confirmationPost.headers["x-amz-sns-message-type"], "SubscriptionConfirmation");
    const confirmation = JSON.parse(confirmationPost.body);
    assert.match(confirmation.SigningCertURL, /^https:\/\/127\.0\.0\.1:\d+\/SimpleNotificationService-[0-9a-f]+\.pem$/);
    await assertValidAndTamperProof(confirmation);
    await assert.rejects(
      validate(confirmation, new MessageValidator()),
      /invalid domain/,
      "the default host pattern (AWS's) refuses Tern's certificate URL",
    );
    const confirmed = await httpsGet(confirmation.SubscribeURL);
    assert.equal(confirmed.status, 200, confirmed.body);
    assert.match(element(confirmed.body, "SubscriptionArn"), new RegExp(`^${topicArn}:`));

    for (const [version, text] of [["1", "signed once"], ["2", "signed with SHA256"]]) {
      if (version === "2") {
        await sns("SetTopicAttributes", { TopicArn: topicArn, AttributeName: "SignatureVersion", AttributeValue: "2" });
      }
      const before = posted.length;
      await sns("Publish", { TopicArn: topicArn, Message: text, Subject: `version ${version}` });
      const notification = JSON.parse((await waitForPosts(before + 1))[before].body);
      assert.equal(notification.Type, "Notification");
      assert.equal(notification.SignatureVersion, version);
      await assertValidAndTamperProof(notification);

      const received = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queue.QueueUrl, WaitTimeSeconds: 5, VisibilityTimeout: 300 }),
      );
      assert.equal(received.Messages?.length, 1);
      const envelope = JSON.parse(received.Messages[0].Body);
      assert.equal(envelope.Message, text);
      assert.equal(envelope.SignatureVersion, version);
      await assertValidAndTamperProof(envelope);
    }
  });
});
