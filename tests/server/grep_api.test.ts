// GET /v1/inspect/{uuid}/grep over HTTP: the result's shape, max_total and truncated,
// repeatable parameters, request errors (400/404/422), deleted files, and symlinks that try
// to reach host files.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { type Backend, startBackend } from "./_backend.ts";
import { call, run } from "./_api.ts";

describe("server grep", () => {
  let b: Backend;
  let image: string;
  const secretName = `contree-grep-secret-${crypto.randomUUID()}`;
  const secret = `/tmp/${secretName}`;

  const grep = (query: string, uuid = image) => call(b, "GET", `/v1/inspect/${uuid}/grep?${query}`);

  before(async () => {
    writeFileSync(secret, "host-secret-marker\n");
    b = await startBackend();
    const first = await run(b, {
      disposable: false,
      shell: true,
      command: [
        "set -e",
        "mkdir -p /data/gone",
        "printf 'one needle\\ntwo\\nthree needle\\nfour needle\\n' > /data/a.txt",
        "printf 'five needle\\nsix needle\\n' > /data/b.txt",
        "printf 'deleted needle\\n' > /data/gone/c.txt",
        "printf 'deleted needle\\n' > /data/d.txt",
        "mkfifo /data/fifo",
        `ln -s ${secret} /data/escape`,
        `ln -s ../../../../../..${secret} /data/escape-relative`,
        "ln -s /etc/shadow /data/shadow",
        "ln -s /tmp /data/tmp-link",
      ].join("\n"),
    });
    assert.equal(first.status, "SUCCESS", JSON.stringify(first.metadata?.result));
    const second = await run(b, {
      image: first.result_image_uuid,
      disposable: false,
      shell: true,
      command: "rm -r /data/gone /data/d.txt",
    });
    assert.equal(second.status, "SUCCESS", JSON.stringify(second.metadata?.result));
    image = second.result_image_uuid;
  });
  after(async () => {
    rmSync(secret, { force: true });
    await b?.dispose();
  });

  it("answers a GrepResult with every GrepMatch field", async () => {
    const { status, body } = await grep("pattern=needle&path=/data/b.txt");
    assert.equal(status, 200);
    assert.deepEqual(Object.keys(body).sort(), ["matches", "path", "patterns", "truncated"]);
    assert.equal(body.path, "/data/b.txt");
    assert.deepEqual(body.patterns, ["needle"]);
    assert.equal(body.truncated, false);
    assert.deepEqual(body.matches[1], {
      path: "/data/b.txt",
      line_number: 2,
      absolute_offset: 12,
      line_text: "six needle\n",
      line_bytes: btoa("six needle\n"),
      submatches: [{ text: "needle", start: 4, end: 10 }],
      type: "match",
    });
    const none = await grep("pattern=nothing-matches-this&path=/data");
    assert.deepEqual(none.body.matches, []);
    assert.equal(none.body.truncated, false);
  });

  it("cuts the result at max_total and says so with truncated", async () => {
    const all = (await grep("pattern=needle&path=/data")).body;
    assert.equal(all.matches.length, 5);
    const cut = (await grep("pattern=needle&path=/data&max_total=2")).body;
    assert.equal(cut.truncated, true);
    assert.deepEqual(cut.matches, all.matches.slice(0, 2));
    const exact = (await grep("pattern=needle&path=/data&max_total=5")).body;
    assert.equal(exact.truncated, false);
    assert.deepEqual(exact.matches, all.matches);
    const across = (await grep("pattern=needle&path=/data&max_total=4")).body;
    assert.equal(across.truncated, true);
    assert.deepEqual(across.matches.map((m: { path: string }) => m.path), [
      "/data/a.txt",
      "/data/a.txt",
      "/data/a.txt",
      "/data/b.txt",
    ]);
    // The last match keeps its after-context, up to the match that was cut.
    const context = (await grep("pattern=needle&path=/data/a.txt&max_total=1&after=5")).body;
    assert.equal(context.truncated, true);
    assert.deepEqual(
      context.matches.map((m: { line_number: number; type: string }) => [m.line_number, m.type]),
      [[1, "match"], [2, "context"]],
    );
    const zero = (await grep("pattern=needle&path=/data&max_total=0")).body;
    assert.deepEqual(zero.matches, []);
    assert.equal(zero.truncated, true);
  });

  it("does not find files deleted in an upper layer", async () => {
    const { body } = await grep("pattern=deleted");
    assert.deepEqual(body.matches, []);
    assert.equal((await grep("pattern=x&path=/data/gone")).status, 404);
    assert.equal((await grep("pattern=x&path=/data/d.txt")).status, 404);
  });

  it("never reads host files through symlinks, and skips fifos", async () => {
    const walk = await grep("pattern=host-secret-marker&pattern=root");
    assert.equal(walk.status, 200);
    assert.ok(walk.body.matches.length > 0);
    assert.ok(!JSON.stringify(walk.body.matches).includes("host-secret-marker"));
    assert.ok(walk.body.matches.every((m: { path: string }) => !m.path.startsWith("/data/")));
    for (const path of ["/data/escape", "/data/escape-relative", `/data/tmp-link/${secretName}`]) {
      const res = await grep(`pattern=host&path=${encodeURIComponent(path)}`);
      assert.equal(res.status, 404, `${path}: ${JSON.stringify(res.body)}`);
    }
    // A symlink named as the path is followed inside the image: the image's /etc/shadow.
    const shadow = await grep("pattern=%5Eroot&path=/data/shadow");
    assert.equal(shadow.status, 200);
    assert.deepEqual(
      shadow.body.matches.map((m: { path: string; line_text: string }) => [m.path, m.line_text]),
      [["/etc/shadow", "root:*:19000:0:99999:7:::\n"]],
    );
    const fifo = await grep("pattern=x&path=/data/fifo");
    assert.equal(fifo.status, 422);
  });

  it("sends repeated parameters as duplicate keys", async () => {
    const { status, body } = await grep(
      "pattern=five&pattern=one&path=/data/a.txt&path=/data/b.txt&glob=*.txt&glob=!c.txt",
    );
    assert.equal(status, 200);
    assert.deepEqual(body.patterns, ["five", "one"]);
    assert.deepEqual(
      body.matches.map((m: { path: string; line_number: number }) => `${m.path}:${m.line_number}`),
      ["/data/a.txt:1", "/data/b.txt:1"],
    );
  });

  it("rejects bad parameters with 400 naming them", async () => {
    for (
      const [query, param] of [
        ["path=/data", "pattern"],
        ["pattern=a(&path=/data", "pattern"],
        ["pattern=ok&pattern=%5B&path=/data", "pattern"],
        ["pattern=(%3Fx)a", "pattern"],
        ["pattern=a&glob=%7Ba", "glob"],
        ["pattern=a&glob=%5Ba", "glob"],
        ["pattern=a&case=upper", "case"],
        ["pattern=a&max_count=-1", "max_count"],
        ["pattern=a&max_total=1.5", "max_total"],
        ["pattern=a&before=x", "before"],
        ["pattern=a&after=100000", "after"],
        ["pattern=a&max_count=1&max_count=2", "max_count"],
      ] as const
    ) {
      const res = await grep(query);
      assert.equal(res.status, 400, `${query}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.status, 400);
      assert.match(res.body.error, new RegExp(`^${param}`), query);
    }
  });

  it("answers 404 for an unknown image or path and 422 for an unusable path", async () => {
    const unknown = await grep("pattern=a", "00000000-0000-0000-0000-000000000000");
    assert.equal(unknown.status, 404);
    assert.equal((await grep("pattern=a&path=/nope")).status, 404);
    assert.equal((await grep("pattern=a&path=/data&path=/nope")).status, 404);
    const throughFile = await grep("pattern=a&path=/data/a.txt/x");
    assert.equal(throughFile.status, 422);
    assert.equal(typeof throughFile.body.error, "string");
  });
});
