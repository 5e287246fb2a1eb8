// The gateway's pure pieces: entity tags, keys, paths and request schemas.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { fileEtag, ifRangeHolds, noneMatch } from "../../worker/src/_etag.ts";
import { generateGatewayKey, parseGatewayKeys } from "../../worker/src/keys.ts";
import { ImagePathSchema, ImageRefSchema } from "../../worker/src/_paths.ts";
import { ListQuery, RunBody } from "../../worker/src/_schemas.ts";
import { gatewayOptionsFromEnv } from "../../worker/src/env.ts";

describe("entity tags", () => {
  it("are strong, stable and differ by image and path", () => {
    const a = fileEtag("0b8e5f8e-2b7c-4f55-9d57-8d0c2a3a8b51", "/etc/passwd");
    assert.match(a, /^"0b8e5f8e2b7c4f559d578d0c2a3a8b51-[0-9a-f]{16}"$/);
    assert.equal(a, fileEtag("0B8E5F8E-2B7C-4F55-9D57-8D0C2A3A8B51", "/etc/passwd"));
    assert.notEqual(a, fileEtag("0b8e5f8e-2b7c-4f55-9d57-8d0c2a3a8b52", "/etc/passwd"));
    assert.notEqual(a, fileEtag("0b8e5f8e-2b7c-4f55-9d57-8d0c2a3a8b51", "/etc/group"));
  });

  it("hash the path with 64-bit FNV-1a", () => {
    const hash = (path: string) =>
      fileEtag("0b8e5f8e-2b7c-4f55-9d57-8d0c2a3a8b51", path).slice(34, 50);
    assert.equal(hash(""), "cbf29ce484222325");
    assert.equal(hash("a"), "af63dc4c8601ec8c");
    assert.equal(hash("foobar"), "85944171f73967e8");
    const reference = (text: string) => {
      let h = 0xcbf29ce484222325n;
      for (const byte of new TextEncoder().encode(text)) {
        h = ((h ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
      }
      return h.toString(16).padStart(16, "0");
    };
    for (const path of ["/etc/passwd", "/café/ü", "/\u{1F600}", "/" + "x".repeat(5000)]) {
      assert.equal(hash(path), reference(path), path);
    }
  });

  it("If-None-Match compares weakly and accepts lists and *", () => {
    assert.equal(noneMatch('"a"', '"a"'), true);
    assert.equal(noneMatch('W/"a"', '"a"'), true);
    assert.equal(noneMatch('"x", "a"', '"a"'), true);
    assert.equal(noneMatch("*", '"a"'), true);
    assert.equal(noneMatch('"b"', '"a"'), false);
    assert.equal(noneMatch(undefined, '"a"'), false);
  });

  it("If-Range needs the exact strong tag", () => {
    assert.equal(ifRangeHolds(undefined, '"a"'), true);
    assert.equal(ifRangeHolds('"a"', '"a"'), true);
    assert.equal(ifRangeHolds('W/"a"', '"a"'), false);
    assert.equal(ifRangeHolds("Wed, 21 Oct 2015 07:28:00 GMT", '"a"'), false);
  });
});

describe("gateway keys", () => {
  it("parses read-write and read-only keys", () => {
    assert.deepEqual(
      parseGatewayKeys(
        " k_admin_0123456789abcdef , ro:k_view_0123456789abcdef,,rw:k_other_0123456789abc",
      ),
      [
        { key: "k_admin_0123456789abcdef", scope: "write" },
        { key: "k_view_0123456789abcdef", scope: "read" },
        { key: "k_other_0123456789abc", scope: "write" },
      ],
    );
    assert.deepEqual(parseGatewayKeys(""), []);
  });

  it("rejects short, odd or repeated keys without echoing them", () => {
    for (
      const bad of ["short", "k_with space_0123456789", "a".repeat(16) + ",ro:" + "a".repeat(16)]
    ) {
      assert.throws(() => parseGatewayKeys(bad), (error: Error) => {
        assert.ok(error instanceof TypeError);
        assert.ok(!error.message.includes("0123456789"), error.message);
        return true;
      });
    }
  });

  it("generates distinct valid keys", () => {
    const a = generateGatewayKey();
    assert.notEqual(a, generateGatewayKey());
    assert.deepEqual(parseGatewayKeys(`ro:${a}`), [{ key: a, scope: "read" }]);
  });

  it("options from the environment name the missing variable", () => {
    assert.throws(() => gatewayOptionsFromEnv({}), /CONTREE_URL/);
    assert.throws(() => gatewayOptionsFromEnv({ CONTREE_URL: "ftp://x" }), /CONTREE_URL/);
    assert.throws(() => gatewayOptionsFromEnv({ CONTREE_URL: "http://x" }), /CONTREE_TOKEN/);
    assert.throws(
      () => gatewayOptionsFromEnv({ CONTREE_URL: "http://x", CONTREE_TOKEN: "t" }),
      /GATEWAY_KEYS/,
    );
    const options = gatewayOptionsFromEnv({
      CONTREE_URL: "http://x",
      CONTREE_TOKEN: "t",
      GATEWAY_KEYS: "ro:k_view_0123456789abcdef",
      GATEWAY_CORS_ORIGINS: "https://a.example, https://b.example",
    });
    assert.deepEqual(options.keys, [{ key: "k_view_0123456789abcdef", scope: "read" }]);
    assert.deepEqual(options.cors, { origins: ["https://a.example", "https://b.example"] });
  });
});

describe("image paths and references", () => {
  const ok: [string, string][] = [
    ["", "/"],
    ["etc/passwd", "/etc/passwd"],
    ["etc//./passwd/", "/etc/passwd"],
    ["a%20b/c%2Fd", "/a b/c/d"],
    ["caf%C3%A9", "/café"],
    ["%2525", "/%25"],
  ];
  for (const [raw, path] of ok) {
    it(`accepts ${JSON.stringify(raw)} as ${path}`, () =>
      assert.equal(v.parse(ImagePathSchema, raw), path));
  }
  const bad = [
    "..",
    "a/../b",
    "a/%2e%2e/b",
    "a%2F..%2Fb",
    "%FF",
    "%C3",
    "%zz",
    "a%00b",
    "a%0Ab",
    "x".repeat(256),
    "a/".repeat(3000),
  ];
  for (const raw of bad) {
    it(`rejects ${JSON.stringify(raw.slice(0, 40))}`, () =>
      assert.equal(v.safeParse(ImagePathSchema, raw).success, false));
  }

  it("references are UUIDs (lower-cased) or tags", () => {
    assert.deepEqual(v.parse(ImageRefSchema, "0B8E5F8E-2B7C-4F55-9D57-8D0C2A3A8B51"), {
      uuid: "0b8e5f8e-2b7c-4f55-9d57-8d0c2a3a8b51",
    });
    assert.deepEqual(v.parse(ImageRefSchema, "my/app:v1.2"), { tag: "my/app:v1.2" });
    for (const bad of ["", "UPPER", "a b", "a::b", "%FF", "x".repeat(300), "tag:"]) {
      assert.equal(v.safeParse(ImageRefSchema, bad).success, false, bad);
    }
  });
});

describe("request schemas", () => {
  it("list queries have bounded limits and opaque cursors", () => {
    assert.deepEqual(v.parse(ListQuery, {}), { tagged: false, limit: 100 });
    assert.equal(v.safeParse(ListQuery, { limit: "0" }).success, false);
    assert.equal(v.safeParse(ListQuery, { limit: "1001" }).success, false);
    assert.equal(v.safeParse(ListQuery, { limit: ["1", "2"] }).success, false);
    assert.equal(v.safeParse(ListQuery, { cursor: "bm9wZQ" }).success, false);
    assert.equal(v.safeParse(ListQuery, { tagged: "yes" }).success, false);
  });

  it("run bodies take exactly one of command and shell", () => {
    assert.equal(v.safeParse(RunBody, { shell: "echo hi" }).success, true);
    assert.equal(v.safeParse(RunBody, { command: "ls", args: ["-l"] }).success, true);
    const field = (body: unknown) => {
      const result = v.safeParse(RunBody, body);
      return result.success ? "ok" : v.getDotPath(result.issues[0]);
    };
    assert.equal(field({}), "command");
    assert.equal(field({ shell: "a", command: "b" }), "command");
    assert.equal(field({ shell: "a", args: ["x"] }), "args");
    assert.equal(field({ shell: "a", timeout: 0 }), "timeout");
    assert.equal(field({ shell: "a", timeout: 1.5 }), "timeout");
    assert.equal(field({ shell: "a", cwd: "tmp" }), "cwd");
    assert.equal(field({ shell: "a", cwd: "/a/../b" }), "cwd");
    assert.equal(field({ shell: "a", env: { "BAD-NAME": "x" } }), "env.BAD-NAME");
    assert.equal(field({ shell: "a", disposable: true, tag: "x:1" }), "tag");
    // Runs are disposable by default (as in the SDK): a tag needs `disposable: false`.
    assert.equal(field({ shell: "a", tag: "x:1" }), "tag");
    assert.equal(field({ shell: "a", disposable: false, tag: "x:1" }), "ok");
    assert.equal(field({ shell: "a", surprise: 1 }), "surprise");
    assert.equal(field({ shell: "a", stdin: "x".repeat(300_000) }), "stdin");
  });
});
