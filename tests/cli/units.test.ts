// The CLI's parsers without a backend: --file mappings, times, Dockerfiles, .dockerignore,
// image references, the session graph, output formats; the download's reader; the build cache.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseMapping } from "../../cli/_files.ts";
import { parseInterval } from "../../cli/_time.ts";
import { parseDockerfile, substitute } from "../../cli/_dockerfile.ts";
import { deriveTag, expandBraces, normalizeRegistryUrl } from "../../cli/_cmd_images.ts";
import { graphLines } from "../../cli/_cmd_session.ts";
import { parseEnv, shellJoin } from "../../cli/_run.ts";
import { type Session, SessionStore, UsageError } from "../../cli/_session.ts";
import { colorEnabled } from "../../cli/_term.ts";
import { byobReaderOf } from "../../cli/_download.ts";
import { dockerignore } from "../../cli/_dockerignore.ts";
import { BuildCache } from "../../cli/_build_cache.ts";

describe("cli parsers", () => {
  it("keeps build's layer cache across builds, merging what two of them save", async () => {
    const dir = mkdtempSync(join(tmpdir(), "contree-build-cache-"));
    try {
      const path = join(dir, "cache", "default.json");
      const one = await BuildCache.load(path);
      const two = await BuildCache.load(path);
      assert.equal(one.get("k1"), undefined);
      one.set("k1", "image-1");
      two.set("k2", "image-2");
      await one.save();
      await two.save();
      const both = await BuildCache.load(path);
      assert.equal(both.get("k1"), "image-1");
      assert.equal(both.get("k2"), "image-2");
      assert.equal(BuildCache.key({ a: 1 }), BuildCache.key({ a: 1 }));
      assert.notEqual(BuildCache.key({ a: 1 }), BuildCache.key({ a: 2 }));
      writeFileSync(path, "{not json");
      const broken = await BuildCache.load(path);
      assert.equal(broken.get("k1"), undefined);
      broken.set("k3", "image-3");
      await broken.save();
      assert.deepEqual(JSON.parse(readFileSync(path, "utf8")), { k3: "image-3" });
      assert.deepEqual(readdirSync(join(dir, "cache")), ["default.json"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads .dockerignore as Docker does", () => {
    const cases: [string, string, boolean][] = [
      ["*.log", "a.log", true],
      ["*.log", "dir/a.log", false],
      ["**/*.log", "a.log", true],
      ["**/*.log", "dir/sub/a.log", true],
      ["temp?", "temp1", true],
      ["temp?", "temp12", false],
      ["dir", "dir/x/y", true],
      ["dir/", "dir/x", true],
      ["/abs", "abs", true],
      ["./x/../y", "y", true],
      ["dir/**", "dir", false],
      ["dir/**", "dir/a/b", true],
      ["a.b", "axb", false],
      ["{a,b}", "a", false],
      ["[ab].txt", "b.txt", true],
      ["[!a].txt", "a.txt", false],
      ["[!a].txt", "b.txt", true],
      ["\\*", "*", true],
      ["\\*", "x", false],
      ["# comment\n\n   ", "x", false],
      ["*.md\n!README.md", "README.md", false],
      ["!README.md\n*.md", "README.md", true],
      ["logs\n!logs/keep.log", "logs/keep.log", false],
      ["logs\n!logs/keep.log", "logs/old.log", true],
    ];
    for (const [rules, path, ignored] of cases) {
      assert.equal(dockerignore(rules).ignores(path), ignored, `${JSON.stringify(rules)} ${path}`);
    }
    assert.equal(dockerignore("a\n!a/b").reincludes, true);
    assert.equal(dockerignore("a\nb").reincludes, false);
  });

  it("reads --file mappings", () => {
    assert.deepEqual(parseMapping("a.sh"), { host: "a.sh" });
    assert.deepEqual(parseMapping("a.sh:/opt/a.sh:0755"), {
      host: "a.sh",
      dest: "/opt/a.sh",
      mode: 0o755,
    });
    assert.deepEqual(parseMapping("a:/x:u0:g10:m600"), {
      host: "a",
      dest: "/x",
      uid: 0,
      gid: 10,
      mode: 0o600,
    });
    assert.deepEqual(parseMapping("a:m0644"), { host: "a", mode: 0o644 });
    assert.throws(() => parseMapping("a:relative"), UsageError);
    assert.throws(() => parseMapping("a:m999"), UsageError);
    assert.throws(() => parseMapping(":/x"), UsageError);
  });

  it("reads --since/--until as the official CLI does", () => {
    const now = new Date("2026-06-10T12:00:00Z");
    assert.equal(parseInterval("2024-05-01", now).toISOString(), "2024-05-01T00:00:00.000Z");
    assert.equal(parseInterval("2024-05-01T10:30", now).toISOString(), "2024-05-01T10:30:00.000Z");
    assert.equal(parseInterval("08:15", now).toISOString(), "2026-06-10T08:15:00.000Z");
    assert.equal(parseInterval("90", now).toISOString(), "2026-06-10T11:58:30.000Z");
    assert.equal(parseInterval("1h30m", now).toISOString(), "2026-06-10T10:30:00.000Z");
    assert.equal(parseInterval("2d", now).toISOString(), "2026-06-08T12:00:00.000Z");
    assert.throws(() => parseInterval("yesterday", now), UsageError);
  });

  it("splits Dockerfiles and substitutes variables", () => {
    const text = "# c\nFROM tag:a\n\nRUN echo a \\\n  && echo b\n# inner\nenv A=1\n";
    assert.deepEqual(parseDockerfile(text), [
      { keyword: "FROM", args: "tag:a", line: 2 },
      { keyword: "RUN", args: "echo a  && echo b", line: 4 },
      { keyword: "ENV", args: "A=1", line: 7 },
    ]);
    assert.throws(() => parseDockerfile("RUN a \\"), UsageError);
    assert.equal(substitute("$A-${B}-${C:-dflt}-$D", { A: "1", B: "2" }), "1-2-dflt-");
  });

  it("normalises registry references and derives tags", () => {
    assert.equal(normalizeRegistryUrl("ubuntu"), "docker://docker.io/library/ubuntu:latest");
    assert.equal(normalizeRegistryUrl("user/app:1"), "docker://docker.io/user/app:1");
    assert.equal(
      normalizeRegistryUrl("docker.io/ubuntu:22.04"),
      "docker://docker.io/library/ubuntu:22.04",
    );
    assert.equal(normalizeRegistryUrl("127.0.0.1:5000/a/b"), "docker://127.0.0.1:5000/a/b:latest");
    assert.equal(normalizeRegistryUrl("docker://x.io/y:1"), "docker://x.io/y:1");
    assert.equal(deriveTag("docker://docker.io/library/ubuntu:latest"), "ubuntu:latest");
    assert.equal(deriveTag("ghcr.io/owner/image:tag"), "owner/image:tag");
    assert.equal(deriveTag("127.0.0.1:5000/a/b:1"), "a/b:1");
    assert.deepEqual(expandBraces("ubuntu:{22.04,24.04}"), ["ubuntu:22.04", "ubuntu:24.04"]);
  });

  it("quotes shell words and reads KEY=VALUE", () => {
    assert.equal(shellJoin(["echo", "a b", "it's", "$HOME"]), `echo 'a b' 'it'"'"'s' '$HOME'`);
    assert.deepEqual(parseEnv(["A=1", "B=x=y", "C="]), { A: "1", B: "x=y", C: "" });
    assert.throws(() => parseEnv(["=1"]), UsageError);
  });

  it("decides colour from NO_COLOR, FORCE_COLOR and the terminal", () => {
    assert.equal(colorEnabled({}, true), true);
    assert.equal(colorEnabled({}, false), false);
    assert.equal(colorEnabled({ NO_COLOR: "1" }, true), false);
    assert.equal(colorEnabled({ FORCE_COLOR: "1" }, false), true);
    assert.equal(colorEnabled({ FORCE_COLOR: "0" }, true), false);
    assert.equal(colorEnabled({ TERM: "dumb" }, true), false);
  });

  it("draws the session history as a graph with forks", async () => {
    const session = await new SessionStore("/nonexistent").load("k") as Session;
    session.record({ image: "aaaaaaaa-1", kind: "use", title: "busybox" });
    session.record({ image: "bbbbbbbb-2", kind: "run", title: "one" });
    session.state.branches.side = 2;
    session.state.branch = "side";
    session.record({ image: "cccccccc-3", kind: "run", title: "side work" });
    session.state.branch = "main";
    session.record({ image: "dddddddd-4", kind: "run", title: "main work" });
    const plain = (_: string, text: string) => text;
    assert.deepEqual(graphLines(session, plain), [
      "* 4 (HEAD -> main) run dddddddd main work",
      "| * 3 (side) run cccccccc side work",
      "|/",
      "* 2 run bbbbbbbb one",
      "* 1 use aaaaaaaa busybox",
    ]);
  });

  it("reads byte streams and other streams BYOB, in full buffers but the last", async () => {
    const bytes = new Uint8Array(1000).map((_, i) => i % 251);
    const pieces = [bytes.slice(0, 10), bytes.slice(10, 700), bytes.slice(700)];
    const plain = () => ReadableStream.from(pieces.map((piece) => piece.slice()));
    const byteStream = () => {
      let i = 0;
      return new ReadableStream({
        type: "bytes",
        pull(controller: ReadableByteStreamController) {
          if (i < pieces.length) controller.enqueue(pieces[i++].slice());
          else {
            controller.close();
            controller.byobRequest?.respond(0);
          }
        },
      });
    };
    for (const body of [plain(), byteStream()]) {
      const reader = byobReaderOf(body);
      let buffer = new Uint8Array(300);
      const reads: number[] = [];
      const seen: number[] = [];
      for (;;) {
        const { done, value } = await reader.read(buffer, { min: buffer.byteLength });
        buffer = new Uint8Array(value!.buffer);
        reads.push(value!.byteLength);
        seen.push(...value!);
        if (done) break;
      }
      assert.deepEqual(reads.filter((n) => n > 0), [300, 300, 300, 100]);
      assert.deepEqual(new Uint8Array(seen), bytes);
    }
  });
});
