// GET /v1/inspect/{uuid}/grep against ripgrep: a layered image is made with real runs, its
// merged tree is extracted on the host from the archive endpoint, and `rg --json` with the
// equivalent flags must report the same files, lines, offsets, texts and submatches.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Backend, startBackend } from "./_backend.ts";
import { call, request, run } from "./_api.ts";

/** One line of a result, in a form both sides can produce. */
interface Entry {
  type: string;
  path: string;
  line_number: number;
  absolute_offset: number;
  /** base64 of the line's bytes. */
  line_bytes: string;
  /** The line as text (rg gives none for a line that is not UTF-8). */
  line_text?: string;
  submatches: { text?: string; start: number; end: number }[];
}

const base64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

/** rg's `{"text": ...}` or `{"bytes": base64}` data. */
function data(value: { text?: string; bytes?: string }): { text?: string; bytes: string } {
  if (value.text !== undefined) {
    return { text: value.text, bytes: base64(new TextEncoder().encode(value.text)) };
  }
  return { bytes: value.bytes! };
}

/** `rg --json` over `dir` as the image's root: paths are given relative to it. */
function ripgrep(dir: string, args: string[]): Entry[] {
  const out = spawnSync("rg", ["--json", "--hidden", "--no-ignore", "--sort", "path", ...args], {
    cwd: dir,
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });
  if (out.error) throw out.error;
  assert.ok(out.status === 0 || out.status === 1, `rg ${args.join(" ")}: ${out.stderr}`);
  return out.stdout.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line))
    .filter((message) => message.type === "match" || message.type === "context")
    .map(({ type, data: d }) => {
      const lines = data(d.lines);
      return {
        type,
        path: `/${data(d.path).text!.replace(/^\.\//, "")}`,
        line_number: d.line_number,
        absolute_offset: d.absolute_offset,
        line_bytes: lines.bytes,
        line_text: lines.text,
        submatches: d.submatches.map((
          s: { match: { text?: string }; start: number; end: number },
        ) => ({ text: s.match.text, start: s.start, end: s.end })),
      };
    });
}

/** What the server answers, trimmed to what rg can say about the same lines. */
// deno-lint-ignore no-explicit-any
function comparable(matches: any[], reference: Entry[]): Entry[] {
  return matches.map((match, i) => {
    const rg = reference[i];
    return {
      type: match.type,
      path: match.path,
      line_number: match.line_number,
      absolute_offset: match.absolute_offset,
      line_bytes: match.line_bytes,
      line_text: rg?.line_text === undefined ? undefined : match.line_text,
      submatches: match.submatches.map((s: Entry["submatches"][number], j: number) => ({
        text: rg?.submatches[j]?.text === undefined ? undefined : s.text,
        start: s.start,
        end: s.end,
      })),
    };
  });
}

describe("server grep, compared with ripgrep", () => {
  let b: Backend;
  let image: string;
  let tree: string;

  const grep = async (query: string) => {
    const res = await call(b, "GET", `/v1/inspect/${image}/grep?${query}`);
    assert.equal(res.status, 200, `${query}: ${JSON.stringify(res.body)}`);
    return res.body;
  };
  /** Asserts that the server and `rg ARGS` agree, and returns the server's matches. */
  const same = async (query: string, args: string[]) => {
    const reference = ripgrep(tree, args);
    const body = await grep(query);
    assert.deepEqual(comparable(body.matches, reference), reference, query);
    assert.equal(body.truncated, false);
    return body.matches as Entry[];
  };
  const where = (matches: Entry[]) => matches.map((m) => `${m.path}:${m.line_number}`);

  before(async () => {
    b = await startBackend();
    const first = await run(b, {
      disposable: false,
      shell: true,
      command: [
        "set -e",
        "mkdir -p /data/sub/deep /data/.hidden /data/skip /data/opaque /data/emptydir",
        "printf 'hello world\\nHello World\\nHELLO\\nsay hello again\\n' > /data/hello.txt",
        "printf 'alpha\\nbeta hello\\ngamma\\ndelta\\nepsilon hello\\nzeta\\neta\\ntheta hello\\n" +
        "iota\\n' > /data/sub/context.txt",
        "printf 'fn main() {\\n    println!(\"hello\");\\n}\\n' > /data/sub/main.rs",
        "printf 'deep hello\\n' > /data/sub/deep/deep.rs",
        "printf 'h\\303\\251llo w\\303\\266rld hello \\360\\237\\230\\200 hello\\n" +
        "\\346\\227\\245\\346\\234\\254 hello_x \\303\\251hello\\n' > /data/utf8.txt",
        "printf 'crlf hello\\r\\nno newline hello' > /data/crlf.txt",
        "printf 'bad \\377 hello \\376\\n' > /data/invalid.txt",
        "printf 'hello\\000binary\\n' > /data/early.bin",
        "{ echo 'hello top'; seq 1 30000; printf 'hello\\000\\n'; echo 'hello after'; } > " +
        "/data/late.bin",
        "printf 'hidden hello\\n' > /data/.hidden/h.txt",
        "printf 'skip hello\\n' > /data/skip/s.txt",
        "printf 'old hello\\n' > /data/opaque/old.txt",
        "ln -s hello.txt /data/link.txt",
        "ln -s /etc /data/etc-link",
      ].join("\n"),
    });
    assert.equal(first.status, "SUCCESS", JSON.stringify(first.metadata?.result));
    const second = await run(b, {
      image: first.result_image_uuid,
      disposable: false,
      shell: true,
      command: [
        "set -e",
        "rm /data/skip/s.txt",
        "rm -r /data/opaque && mkdir /data/opaque && printf 'new hello\\n' > /data/opaque/new.txt",
        "printf 'replaced hello\\n' >> /data/sub/deep/deep.rs",
      ].join("\n"),
    });
    assert.equal(second.status, "SUCCESS", JSON.stringify(second.metadata?.result));
    image = second.result_image_uuid;

    tree = mkdtempSync(join(tmpdir(), "contree-grep-rg-"));
    const archive = await request(b, "GET", `/v1/inspect/${image}/archive?path=/`);
    assert.equal(archive.status, 200);
    writeFileSync(join(tree, ".image.tar"), new Uint8Array(await archive.arrayBuffer()));
    const untar = spawnSync("tar", ["-xf", ".image.tar"], {
      cwd: tree,
      encoding: "utf8",
    });
    assert.equal(untar.status, 0, untar.stderr);
    rmSync(join(tree, ".image.tar"));
  });
  after(async () => {
    if (tree) rmSync(tree, { recursive: true, force: true });
    await b?.dispose();
  });

  it("searches a directory: layers merged, binary files, symlinks and hidden files", async () => {
    const matches = await same("pattern=hello&path=/data", ["-e", "hello", "data"]);
    const found = where(matches);
    // Deleted in the upper layer, or under a directory the upper layer made opaque.
    assert.ok(!found.some((m) => m.startsWith("/data/skip/") || m.startsWith("/data/opaque/old")));
    assert.ok(found.includes("/data/opaque/new.txt:1"));
    assert.ok(found.includes("/data/sub/deep/deep.rs:2"));
    // A NUL in the first 64 KiB skips a file; after that, what was read before it counts.
    assert.ok(!found.some((m) => m.startsWith("/data/early.bin")));
    assert.deepEqual(found.filter((m) => m.startsWith("/data/late.bin")), ["/data/late.bin:1"]);
    // Symlinks are not followed while walking; hidden files are searched.
    assert.ok(!found.some((m) => m.startsWith("/data/link.txt")));
    assert.ok(found.includes("/data/.hidden/h.txt:1"));
  });

  it("reports byte offsets: UTF-8, CRLF, no newline at the end, invalid UTF-8", async () => {
    const matches = await same("pattern=hello&path=/data/utf8.txt&path=/data/crlf.txt", [
      "-e",
      "hello",
      "data/utf8.txt",
      "data/crlf.txt",
    ]);
    const utf8 = matches.find((m) => m.path === "/data/utf8.txt")!;
    assert.equal(utf8.line_text, "héllo wörld hello 😀 hello\n");
    assert.deepEqual(utf8.submatches.map((s) => [s.start, s.end]), [[14, 19], [25, 30]]);
    const last = matches.find((m) => m.path === "/data/crlf.txt" && m.line_number === 2)!;
    assert.equal(last.line_text, "no newline hello");
    assert.equal(last.absolute_offset, 12);
    const invalid = await grep("pattern=hello&path=/data/invalid.txt");
    const line = invalid.matches[0];
    assert.equal(
      line.line_bytes,
      base64(
        new Uint8Array([
          ...new TextEncoder().encode("bad "),
          0xff,
          32,
          104,
          101,
          108,
          108,
          111,
          32,
          0xfe,
          10,
        ]),
      ),
    );
    assert.deepEqual(line.submatches, [{ text: "hello", start: 6, end: 11 }]);
    await same("pattern=hello&path=/data/invalid.txt", ["-e", "hello", "data/invalid.txt"]);
  });

  it("searches the whole image from / by default", async () => {
    await same("pattern=root", ["-e", "root", "."]);
  });

  it("takes several patterns (leftmost first) and several paths, in order", async () => {
    await same(
      "pattern=hel%2Bo&pattern=wor(ld)%3F&pattern=o%20w&path=/data/sub&path=/data/hello.txt",
      [
        "-e",
        "hel+o",
        "-e",
        "wor(ld)?",
        "-e",
        "o w",
        "data/sub",
        "data/hello.txt",
      ],
    );
    await same("pattern=a&pattern=ab%7Cb&path=/data/sub/context.txt", [
      "-e",
      "a",
      "-e",
      "ab|b",
      "data/sub/context.txt",
    ]);
  });

  it("filters with gitignore-style globs, negations and directory exclusions", async () => {
    const cases: [string[], string[]][] = [
      [["*.rs"], ["-g", "*.rs"]],
      [["*.{rs,txt}"], ["-g", "*.{rs,txt}"]],
      [["!*.rs"], ["-g", "!*.rs"]],
      [["*.rs", "!deep.rs"], ["-g", "*.rs", "-g", "!deep.rs"]],
      [["!deep.rs", "*.rs"], ["-g", "!deep.rs", "-g", "*.rs"]],
      [["!sub"], ["-g", "!sub"]],
      [["!sub/"], ["-g", "!sub/"]],
      [["data/sub/*"], ["-g", "data/sub/*"]],
      [["data/sub/**"], ["-g", "data/sub/**"]],
      [["**/deep/*"], ["-g", "**/deep/*"]],
      [["/data/*.txt"], ["-g", "/data/*.txt"]],
      [["[c-h]*.txt"], ["-g", "[c-h]*.txt"]],
      [["!.*"], ["-g", "!.*"]],
      [["sub"], ["-g", "sub"]],
    ];
    for (const [globs, flags] of cases) {
      const query = globs.map((glob) => `glob=${encodeURIComponent(glob)}`).join("&");
      await same(`pattern=hello&path=/data&${query}`, ["-e", "hello", ...flags, "data"]);
    }
    // A path named explicitly is searched whatever the globs say.
    await same("pattern=hello&path=/data/hello.txt&glob=*.rs", [
      "-e",
      "hello",
      "-g",
      "*.rs",
      "data/hello.txt",
    ]);
  });

  it("limits matches per file with max_count, after-context included", async () => {
    await same("pattern=hello&path=/data&max_count=1", ["-e", "hello", "-m", "1", "data"]);
    await same("pattern=hello&path=/data/sub/context.txt&max_count=2&after=2", [
      "-e",
      "hello",
      "-m",
      "2",
      "-A",
      "2",
      "data/sub/context.txt",
    ]);
    const trailing = await same("pattern=hello&path=/data/sub/context.txt&max_count=1&after=3", [
      "-e",
      "hello",
      "-m",
      "1",
      "-A",
      "3",
      "data/sub/context.txt",
    ]);
    // As ripgrep: a match inside the last match's after-context is shown as a match.
    assert.deepEqual(trailing.map((m) => [m.line_number, m.type]), [
      [2, "match"],
      [3, "context"],
      [4, "context"],
      [5, "match"],
    ]);
  });

  it("adds before and after context lines", async () => {
    const both = await same("pattern=hello&path=/data/sub/context.txt&before=1&after=1", [
      "-e",
      "hello",
      "-B",
      "1",
      "-A",
      "1",
      "data/sub/context.txt",
    ]);
    assert.deepEqual(both.map((m) => [m.line_number, m.type]), [
      [1, "context"],
      [2, "match"],
      [3, "context"],
      [4, "context"],
      [5, "match"],
      [6, "context"],
      [7, "context"],
      [8, "match"],
      [9, "context"],
    ]);
    assert.deepEqual(both[0].submatches, []);
    await same("pattern=hello&path=/data&before=3", ["-e", "hello", "-B", "3", "data"]);
    await same("pattern=hello&path=/data&after=2", ["-e", "hello", "-A", "2", "data"]);
  });

  it("handles case modes: sensitive, insensitive and smart", async () => {
    const sensitive = await same("pattern=hello&path=/data/hello.txt", [
      "-e",
      "hello",
      "data/hello.txt",
    ]);
    assert.equal(sensitive.length, 2);
    const insensitive = await same("pattern=hello&path=/data/hello.txt&case=insensitive", [
      "-i",
      "-e",
      "hello",
      "data/hello.txt",
    ]);
    assert.equal(insensitive.length, 4);
    await same("pattern=HeLLo&path=/data/hello.txt&case=ignore", [
      "-i",
      "-e",
      "HeLLo",
      "data/hello.txt",
    ]);
    const smartLower = await same("pattern=hello&path=/data/hello.txt&case=smart", [
      "-S",
      "-e",
      "hello",
      "data/hello.txt",
    ]);
    assert.equal(smartLower.length, 4);
    const smartUpper = await same("pattern=Hello&path=/data/hello.txt&case=smart", [
      "-S",
      "-e",
      "Hello",
      "data/hello.txt",
    ]);
    assert.equal(smartUpper.length, 1);
    // Smart case looks at every pattern; `\W` is a class, not an upper-case letter.
    await same("pattern=hello&pattern=World&path=/data/hello.txt&case=smart", [
      "-S",
      "-e",
      "hello",
      "-e",
      "World",
      "data/hello.txt",
    ]);
    await same("pattern=%5CWhello&path=/data/hello.txt&case=smart", [
      "-S",
      "-e",
      "\\Whello",
      "data/hello.txt",
    ]);
  });

  it("speaks Rust regex: Unicode classes and boundaries, inline flags, group names", async () => {
    for (
      const pattern of [
        "\\w+",
        "\\bhello\\b",
        "\\Bhello",
        "\\d+",
        "(?i)HELLO",
        "(?P<h>h)ello",
        "\\S+$",
      ]
    ) {
      await same(
        `pattern=${encodeURIComponent(pattern)}&path=/data/utf8.txt&path=/data/hello.txt`,
        [
          "-e",
          pattern,
          "data/utf8.txt",
          "data/hello.txt",
        ],
      );
    }
  });
});
