// The pure helpers of the wire client: StreamRepr, image references, file modes, hashing,
// resource usage in its two shapes.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  decodeStream,
  decodeStreamText,
  encodeStream,
  type EventResources,
  eventResources,
  formatFileMode,
  imageRefToWire,
  isUuid,
  parseFileMode,
  parseImageRef,
  readContent,
  resultResources,
  sha256Hex,
} from "../../mod.ts";

const UUID = "87654321-9ABC-baba-deda-0123456789ab";

describe("StreamRepr", () => {
  it("encodes printable ASCII as text and anything else as base64", () => {
    assert.deepEqual(encodeStream("hi\tthere\r\n"), { value: "hi\tthere\r\n", encoding: "ascii" });
    assert.deepEqual(encodeStream(new Uint8Array([104, 105, 10])), {
      value: "hi\n",
      encoding: "ascii",
    });
    assert.deepEqual(encodeStream(new Uint8Array([0, 255])), { value: "AP8=", encoding: "base64" });
    assert.deepEqual(encodeStream("héllo"), { value: "aMOpbGxv", encoding: "base64" });
    assert.deepEqual(encodeStream(""), { value: "", encoding: "ascii" });
  });

  it("decodes base64 and reads any other encoding as text", () => {
    assert.deepEqual(
      decodeStream({ value: "aGkK", encoding: "base64" }),
      new Uint8Array([104, 105, 10]),
    );
    assert.deepEqual(decodeStream({ value: "hi", encoding: "ascii" }), new Uint8Array([104, 105]));
    assert.equal(decodeStreamText({ value: "aMOpbGxv", encoding: "base64" }), "héllo");
    assert.equal(decodeStreamText({ value: "plain", encoding: "utf-8" }), "plain");
  });

  it("round-trips large binary content", () => {
    const bytes = new Uint8Array(200_000).map((_, i) => (i * 7) % 256);
    const repr = encodeStream(bytes);
    assert.equal(repr.encoding, "base64");
    assert.deepEqual(decodeStream(repr), bytes);
  });
});

describe("image references", () => {
  it("parses UUIDs, tag: references and bare tags", () => {
    assert.equal(isUuid(UUID), true);
    assert.equal(isUuid("87654321-9abc-baba-deda-0123456789a"), false);
    assert.deepEqual(parseImageRef(UUID), { kind: "uuid", uuid: UUID });
    assert.deepEqual(parseImageRef("tag:ubuntu:latest"), { kind: "tag", tag: "ubuntu:latest" });
    assert.deepEqual(parseImageRef(" my/app:v1 "), { kind: "tag", tag: "my/app:v1" });
    assert.throws(() => parseImageRef(""), TypeError);
    assert.throws(() => parseImageRef("tag:"), TypeError);
  });

  it("renders the wire form", () => {
    assert.equal(imageRefToWire("busybox:latest"), "tag:busybox:latest");
    assert.equal(imageRefToWire("tag:busybox"), "tag:busybox");
    assert.equal(imageRefToWire(UUID), UUID);
    assert.equal(imageRefToWire({ kind: "tag", tag: "x" }), "tag:x");
  });
});

describe("file modes", () => {
  it("formats permission bits as four octal digits", () => {
    assert.equal(formatFileMode(0o644), "0644");
    assert.equal(formatFileMode(0o4755), "4755");
    assert.equal(formatFileMode(33188), "0644");
    assert.equal(formatFileMode(0), "0000");
    assert.throws(() => formatFileMode(-1), RangeError);
    assert.throws(() => formatFileMode(1.5), RangeError);
  });

  it("parses octal strings", () => {
    assert.equal(parseFileMode("0644"), 0o644);
    assert.equal(parseFileMode("755"), 0o755);
    assert.equal(parseFileMode("0o600"), 0o600);
    assert.equal(parseFileMode(0o700), 0o700);
    for (const bad of ["0999", "rwx", "", "01234", 70000]) {
      assert.throws(() => parseFileMode(bad), RangeError, String(bad));
    }
  });
});

describe("hashing", () => {
  it("hashes bytes, strings, blobs and streams alike", async () => {
    const empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    assert.equal(await sha256Hex(""), empty);
    const hello = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
    assert.equal(await sha256Hex("hello"), hello);
    assert.equal(await sha256Hex(new TextEncoder().encode("hello")), hello);
    assert.equal(await sha256Hex(new Blob(["he", "llo"])), hello);
    assert.equal(await sha256Hex(new Response("hello").body!), hello);
    assert.deepEqual(await readContent(new Blob(["ab"])), new Uint8Array([97, 98]));
  });
});

describe("resource usage", () => {
  it("maps an exit event's resources to a result's and back", () => {
    const event: EventResources = {
      user_time_us: 250_000,
      sys_time_us: 125_000,
      max_rss_kb: 2048,
      shared_memory: 1,
      unshared_memory: 2,
      swaps: 3,
      minor_faults: 4,
      major_faults: 5,
      voluntary_ctx_switches: 6,
      involuntary_ctx_switches: 7,
      block_input_ops: 8,
      block_output_ops: 9,
      ipc_msgs_sent: 0,
      ipc_msgs_received: 0,
      signals_received: 10,
    };
    const result = resultResources(event, 1500);
    assert.equal(result.elapsed_time, 1.5);
    assert.equal(result.user_cpu_time, 0.25);
    assert.equal(result.system_cpu_time, 0.125);
    assert.equal(result.max_rss, 2048);
    assert.equal(result.page_faults, 4);
    assert.equal(result.page_faults_io, 5);
    assert.equal(result.signals, 10);
    assert.deepEqual(eventResources(result), event);
    assert.deepEqual(eventResources({}), zeroes(event));
  });
});

function zeroes(resources: EventResources): EventResources {
  return Object.fromEntries(
    Object.keys(resources).map((key) => [key, 0]),
  ) as unknown as EventResources;
}
