// A data directory written by the server as it was before sandboxes had user namespaces
// (checked out from git into a temp dir and run for real) keeps working: its images run
// with their files' owners intact, inspect shows the same owners, and root inside manages them.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { type Backend, startBackend } from "./_backend.ts";
import { call, run, text } from "./_api.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

async function git(...args: string[]): Promise<Uint8Array> {
  const out = await new Deno.Command("git", { args, cwd: ROOT, stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return out.stdout;
}

/** The server of the commit before user namespaces came in, extracted into a temp dir. */
async function previousServer(): Promise<string> {
  const added = new TextDecoder().decode(
    await git("log", "--diff-filter=A", "--format=%H", "--", "server/sandbox/id_range.ts"),
  ).trim().split("\n").at(-1)!;
  const dir = await Deno.makeTempDir({ prefix: "contree-previous-" });
  const tar = await git("archive", `${added}^`, "server", "src", "deno.json", "package.json");
  const untar = new Deno.Command("tar", { args: ["-x", "-C", dir], stdin: "piped" }).spawn();
  const writer = untar.stdin.getWriter();
  await writer.write(tar);
  await writer.close();
  assert.ok((await untar.status).success);
  await Deno.symlink(`${ROOT}node_modules`, `${dir}/node_modules`);
  return dir;
}

describe("a data directory written before user namespaces", () => {
  let previous: string;
  let dataDir: string;
  let b: Backend;
  let image: string;

  before(async () => {
    previous = await previousServer();
    dataDir = await Deno.makeTempDir({ prefix: "contree-upgrade-" });
    const old = await startBackend({ dataDir, checkout: previous });
    try {
      const made = await run(old, {
        command: "mkdir /tmp/alice && echo hi > /tmp/alice/f && chmod 700 /tmp/alice",
        shell: true,
        uid: 1000,
        gid: 1000,
      });
      assert.equal(made.status, "SUCCESS", JSON.stringify(made.metadata?.result));
      image = made.result_image_uuid;
    } finally {
      await old.dispose();
    }
    b = await startBackend({ dataDir });
  });
  after(async () => {
    await b?.dispose();
    if (dataDir) await Deno.remove(dataDir, { recursive: true });
    if (previous) await Deno.remove(previous, { recursive: true });
  });

  it("runs its images with the owners they were written with", async () => {
    const listed = await call(b, "GET", `/v1/inspect/${image}/list?path=/tmp`);
    const alice = listed.body.files.find((f: { path: string }) => f.path === "alice");
    assert.deepEqual([alice.uid, alice.gid], [1000, 1000]);
    const own = await run(b, {
      image,
      command: "stat -c '%u:%g %a' /tmp/alice /tmp/alice/f && echo more >> /tmp/alice/f",
      shell: true,
      uid: 1000,
      gid: 1000,
    });
    assert.equal(own.status, "SUCCESS", JSON.stringify(own.metadata?.result));
    assert.equal(text(own.metadata.result.stdout), "1000:1000 700\n1000:1000 644\n");
    const other = await run(b, { image, command: "cat /tmp/alice/f", shell: true, uid: 1001 });
    assert.notEqual(other.metadata.result.exit_code, 0);
    const root = await run(b, {
      image: own.result_image_uuid,
      command: "cat /tmp/alice/f && chown -R 2000:2000 /tmp/alice && stat -c %u:%g /tmp/alice/f",
      shell: true,
    });
    assert.equal(text(root.metadata.result.stdout), "hi\nmore\n2000:2000\n");
  });

  it("keeps the base image it built (root-owned files, set-uid busybox bits)", async () => {
    const base = await run(b, { command: "stat -c '%u:%g' / /bin /etc/passwd", shell: true });
    assert.equal(text(base.metadata.result.stdout), "0:0\n0:0\n0:0\n");
  });
});
