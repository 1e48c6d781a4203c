// Tern through the AWS SDK for JavaScript v3 (@aws-sdk/client-sqs, pinned in package.json and
// package-lock.json). Run by scripts/test as `node --test` in this directory; spawns its own tern
// (TERN_BIN, default <repo>/target/debug/tern) on 127.0.0.1 port 0 and stops it at the end.
//
// The SDK checks MD5 digests itself, in @aws-sdk/middleware-sdk-sqs, enabled unless the client is
// built with `md5: false`: SendMessage's MD5OfMessageBody, SendMessageBatch's per entry and
// ReceiveMessage's MD5OfBody per message. It does NOT check MD5OfMessageAttributes; this file
// checks those with its own implementation of AWS's algorithm. The two "wrong MD5" tests at the
// end corrupt a digest in the reply (a build-step middleware) and show the SDK rejecting it,
// so a Tern that sent a wrong body digest would fail the positive tests.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  QueueDoesNotExist,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { startTern, stopTern } from "./tern-process.mjs";


let tern;
let endpoint;
let dataDir;

function client(options = {}) {
  return new SQSClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "AKIDTERNJS", secretAccessKey: "js-secret" },
    maxAttempts: 1,
    ...options,
  });
}

const md5 = (data) => createHash("md5").update(data).digest("hex");

// AWS's MD5OfMessageAttributes: names sorted; for each: length-prefixed name, length-prefixed
// data type, transport byte (1 String/Number, 2 Binary), length-prefixed value; 4-byte BE lengths.
function md5OfMessageAttributes(attributes) {
  const hash = createHash("md5");
  const prefixed = (bytes) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length);
    hash.update(bytes);
  };
  for (const name of Object.keys(attributes).sort()) {
    const { DataType, StringValue, BinaryValue } = attributes[name];
    prefixed(Buffer.from(name, "utf8"));
    prefixed(Buffer.from(DataType, "utf8"));
    if (DataType.split(".")[0] === "Binary") {
      hash.update(Buffer.from([2]));
      prefixed(Buffer.from(BinaryValue));
    } else {
      hash.update(Buffer.from([1]));
      prefixed(Buffer.from(StringValue, "utf8"));
    }
  }
  return hash.digest("hex");
}

// A build-step middleware (it wraps deserialization, so it sees the parsed output) that rewrites
// the reply before the MD5 checks (initialize step) see it, standing in for a bad digest from the server.
function corrupting(mutate) {
  return {
    applyToStack(stack) {
      stack.add(
        (next) => async (args) => {
          const result = await next(args);
          mutate(result.output);
          return result;
        },
        { step: "build", name: "ternCompatCorruptDigest" },
      );
    },
  };
}

const uniqueName = (label) => `cjs-${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

const ATTRIBUTES = {
  text: { DataType: "String", StringValue: "héllo ✓" },
  count: { DataType: "Number", StringValue: "42" },
  blob: { DataType: "Binary", BinaryValue: new Uint8Array([0, 1, 254, 255]) },
  price: { DataType: "Number.float", StringValue: "2.5" },
};
const BODY = 'javascript ✓ "quotes" <xml> & \u{1F600}';

describe("Tern through @aws-sdk/client-sqs", { timeout: 120_000 }, () => {
  before(async () => {
    ({ child: tern, url: endpoint, dataDir } = await startTern());
  });

  after(async () => {
    let crashed = null;
    if (tern) {
      tern.removeAllListeners("exit");
      if (tern.exitCode !== null || tern.signalCode !== null) crashed = tern.exitCode ?? tern.signalCode;
      await stopTern(tern);
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    assert.equal(crashed, null, `tern exited during the run (${crashed})`);
  });

  test("speaks AWS JSON 1.0 with the body digests checked", async () => {
    const sqs = client();
    const seen = [];
    sqs.middlewareStack.add(
      (next) => async (args) => {
        seen.push({ ...args.request.headers });
        return next(args);
      },
      { step: "finalizeRequest", name: "ternCompatRecordHeaders" },
    );
    const name = uniqueName("protocol");
    await sqs.send(new CreateQueueCommand({ QueueName: name }));
    assert.equal(seen.length, 1);
    assert.equal(seen[0]["content-type"], "application/x-amz-json-1.0");
    assert.equal(seen[0]["x-amz-target"], "AmazonSQS.CreateQueue");
    assert.notEqual(sqs.config.md5, false, "the MD5 checks must be on");
    assert.equal(typeof sqs.config.md5, "function");
  });

  test("create, send with attributes, receive, delete", async () => {
    const sqs = client();
    const name = uniqueName("roundtrip");
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
    assert.equal(QueueUrl, `${endpoint}/000000000000/${name}`);
    const again = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
    assert.equal(again.QueueUrl, QueueUrl);

    // The SDK's middleware verifies MD5OfMessageBody against BODY before this returns.
    const sent = await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: BODY, MessageAttributes: ATTRIBUTES }));
    assert.equal(sent.MD5OfMessageBody, md5(BODY));
    assert.equal(sent.MD5OfMessageAttributes, md5OfMessageAttributes(ATTRIBUTES));
    assert.ok(sent.MessageId);

    // ...and MD5OfBody of every received message.
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl,
        WaitTimeSeconds: 5,
        MessageAttributeNames: ["All"],
        MessageSystemAttributeNames: ["All"],
      }),
    );
    assert.equal(received.Messages?.length, 1);
    const [message] = received.Messages;
    assert.equal(message.MessageId, sent.MessageId);
    assert.equal(message.Body, BODY);
    assert.equal(message.MD5OfBody, md5(BODY));
    assert.equal(message.MD5OfMessageAttributes, md5OfMessageAttributes(ATTRIBUTES));
    assert.deepEqual(Object.keys(message.MessageAttributes).sort(), Object.keys(ATTRIBUTES).sort());
    assert.equal(message.MessageAttributes.text.StringValue, "héllo ✓");
    assert.equal(message.MessageAttributes.count.StringValue, "42");
    assert.deepEqual([...message.MessageAttributes.blob.BinaryValue], [0, 1, 254, 255]);
    assert.equal(md5OfMessageAttributes(message.MessageAttributes), message.MD5OfMessageAttributes);
    assert.equal(message.Attributes.ApproximateReceiveCount, "1");
    assert.equal(message.Attributes.SenderId, "AKIDTERNJS");

    await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: message.ReceiptHandle }));
    const counts = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
      }),
    );
    assert.deepEqual(counts.Attributes, { ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesNotVisible: "0" });
  });

  test("batch send digests are checked per entry", async () => {
    const sqs = client();
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName("batch") }));
    const entries = [
      { Id: "a", MessageBody: "first ✓" },
      { Id: "b", MessageBody: "second", MessageAttributes: { k: { DataType: "String", StringValue: "v" } } },
    ];
    const reply = await sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: entries }));
    assert.deepEqual(reply.Failed ?? [], []);
    const byId = Object.fromEntries(reply.Successful.map((entry) => [entry.Id, entry]));
    assert.equal(byId.a.MD5OfMessageBody, md5("first ✓"));
    assert.equal(byId.b.MD5OfMessageAttributes, md5OfMessageAttributes(entries[1].MessageAttributes));
  });

  test("a missing queue is QueueDoesNotExist", async () => {
    const sqs = client();
    await assert.rejects(
      sqs.send(new GetQueueUrlCommand({ QueueName: uniqueName("missing") })),
      (error) => {
        assert.ok(error instanceof QueueDoesNotExist, `${error.name}: ${error.message}`);
        assert.equal(error.name, "QueueDoesNotExist");
        // awsQueryCompatible: the SDK exposes the Query code from x-amzn-query-error as Code.
        assert.equal(error.Code, "AWS.SimpleQueueService.NonExistentQueue");
        assert.equal(error.Type, "Sender");
        assert.equal(error.$metadata.httpStatusCode, 400);
        assert.equal(error.$fault, "client");
        return true;
      },
    );
    await assert.rejects(
      sqs.send(new SendMessageCommand({ QueueUrl: `${endpoint}/000000000000/${uniqueName("gone")}`, MessageBody: "x" })),
      (error) => error.name === "QueueDoesNotExist",
    );
  });

  test("a wrong MD5OfMessageBody on send is rejected by the SDK", async () => {
    const { QueueUrl } = await client().send(new CreateQueueCommand({ QueueName: uniqueName("badsend") }));
    const sqs = client();
    sqs.middlewareStack.use(
      corrupting((output) => {
        output.MD5OfMessageBody = "0".repeat(32);
      }),
    );
    await assert.rejects(sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "checked" })), /InvalidChecksumError/);
  });

  test("a wrong MD5OfBody on receive is rejected by the SDK", async () => {
    const plain = client();
    const { QueueUrl } = await plain.send(new CreateQueueCommand({ QueueName: uniqueName("badrecv") }));
    await plain.send(new SendMessageCommand({ QueueUrl, MessageBody: "checked" }));
    const sqs = client();
    sqs.middlewareStack.use(
      corrupting((output) => {
        for (const message of output.Messages ?? []) message.MD5OfBody = "0".repeat(32);
      }),
    );
    await assert.rejects(
      sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 5, VisibilityTimeout: 0 })),
      /Invalid MD5 checksum on messages/,
    );
    // The uncorrupted client receives the same message without complaint.
    const ok = await plain.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 5 }));
    assert.equal(ok.Messages?.[0]?.Body, "checked");
    await plain.send(
      new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: ok.Messages[0].ReceiptHandle, VisibilityTimeout: 0 }),
    );
  });
});
