// Byte ranges: the Range header (read with and without the size), Content-Range, and the
// stream that cuts a range out of a whole body. Shared by the wire client, the backend and
// the gateway.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  parseRange,
  rangeHeader,
  readContentRange,
  readRangeHeader,
  sliceStream,
} from "../../src/wire/byte_range.ts";

describe("parseRange", () => {
  const cases: [string | null, number, unknown][] = [
    [null, 10, { kind: "full" }],
    ["bytes=0-0", 10, { kind: "partial", start: 0, end: 0 }],
    ["bytes=2-5", 10, { kind: "partial", start: 2, end: 5 }],
    ["bytes=2-", 10, { kind: "partial", start: 2, end: 9 }],
    ["bytes=5-1000", 10, { kind: "partial", start: 5, end: 9 }],
    ["bytes=-3", 10, { kind: "partial", start: 7, end: 9 }],
    ["bytes=-30", 10, { kind: "partial", start: 0, end: 9 }],
    ["BYTES = 1-2", 10, { kind: "partial", start: 1, end: 2 }],
    ["bytes=10-", 10, { kind: "unsatisfiable" }],
    ["bytes=-0", 10, { kind: "unsatisfiable" }],
    ["bytes=0-", 0, { kind: "unsatisfiable" }],
    ["bytes=5-2", 10, { kind: "unsatisfiable" }],
    ["bytes=abc", 10, { kind: "unsatisfiable" }],
    ["bytes=-", 10, { kind: "unsatisfiable" }],
    ["bytes=", 10, { kind: "unsatisfiable" }],
    ["bytes=1-2,x", 10, { kind: "unsatisfiable" }],
    ["garbage", 10, { kind: "unsatisfiable" }],
    ["bytes=99999999999999999999-", 10, { kind: "unsatisfiable" }],
    ["bytes=0-1,4-5", 10, { kind: "full" }],
    ["items=0-1", 10, { kind: "full" }],
  ];
  for (const [header, size, expected] of cases) {
    it(`${JSON.stringify(header)} of ${size} bytes`, () => {
      assert.deepEqual(parseRange(header, size), expected);
    });
  }
});

describe("sliceStream", () => {
  async function slice(chunks: string[], start: number, length: number): Promise<string> {
    const source = ReadableStream.from(chunks.map((c) => new TextEncoder().encode(c)));
    return await new Response(source.pipeThrough(sliceStream(start, length))).text();
  }

  it("cuts across chunk boundaries", async () => {
    assert.equal(await slice(["abc", "def", "ghi"], 2, 5), "cdefg");
    assert.equal(await slice(["abc", "def", "ghi"], 3, 3), "def");
    assert.equal(await slice(["abc", "def", "ghi"], 0, 9), "abcdefghi");
    assert.equal(await slice(["abc", "def", "ghi"], 8, 1), "i");
  });

  it("stops reading the source once the range is sent", async () => {
    let pulled = 0;
    let cancelled = false;
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new Uint8Array(1024));
      },
      cancel() {
        cancelled = true;
      },
    }, { highWaterMark: 0 });
    const body = await new Response(source.pipeThrough(sliceStream(100, 2000))).arrayBuffer();
    assert.equal(body.byteLength, 2000);
    assert.ok(pulled <= 4, `pulled ${pulled} chunks`);
    // The pipe cancels its source as it shuts down, which may finish a few ticks later.
    for (let i = 0; i < 100 && !cancelled; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(cancelled, true);
  });
});

describe("readRangeHeader and rangeHeader", () => {
  it("reads one range without the size, and writes it back", () => {
    for (
      const [header, range] of [
        ["bytes=0-9", { start: 0, end: 9 }],
        ["bytes=100-", { start: 100 }],
        ["bytes=-10", { suffix: 10 }],
      ] as const
    ) {
      assert.deepEqual(readRangeHeader(header), range);
      assert.equal(rangeHeader(range), header);
    }
  });

  it("answers whole for no header, another unit or several ranges; invalid when malformed", () => {
    assert.equal(readRangeHeader(undefined), "whole");
    assert.equal(readRangeHeader("items=0-1"), "whole");
    assert.equal(readRangeHeader("bytes=0-1,4-5"), "whole");
    assert.equal(readRangeHeader("bytes=5-2"), "invalid");
    assert.equal(readRangeHeader("bytes=x"), "invalid");
    assert.equal(readRangeHeader("garbage"), "invalid");
  });
});

describe("readContentRange", () => {
  it("reads the part and the total, or only the total of a 416", () => {
    assert.deepEqual(readContentRange("bytes 0-9/100"), { start: 0, end: 9, total: 100 });
    assert.deepEqual(readContentRange("bytes 5-6/*"), { start: 5, end: 6, total: undefined });
    assert.deepEqual(readContentRange("bytes */100"), { total: 100 });
  });

  it("refuses malformed or impossible values", () => {
    for (
      const header of [null, "", "bytes 9-0/100", "bytes 0-100/100", "bytes */*", "items 0-1/2"]
    ) {
      assert.equal(readContentRange(header), null, String(header));
    }
  });
});
