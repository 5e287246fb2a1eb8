// A real Debian root (debootstrap minbase, imported with `import-rootfs`) in sandboxes: root
// inside manages users and ownership as on any Debian machine, and the ids it sets are the
// ones inspect and archives show.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Backend } from "./_backend.ts";
import { call, request, run, text } from "./_api.ts";
import { DEBIAN_IMAGE as IMAGE, startDebianBackend } from "./_debian_root.ts";

/** Owners of the members of a tar: name -> "uid:gid". */
function tarOwners(tar: Uint8Array): Map<string, string> {
  const decoder = new TextDecoder();
  const field = (at: number, length: number) =>
    decoder.decode(tar.subarray(at, at + length)).replace(/\0.*$/s, "").trim();
  const owners = new Map<string, string>();
  for (let at = 0; at + 512 <= tar.length && tar[at] !== 0;) {
    const name = field(at, 100);
    const size = parseInt(field(at + 124, 12) || "0", 8);
    owners.set(name, `${parseInt(field(at + 108, 8), 8)}:${parseInt(field(at + 116, 8), 8)}`);
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return owners;
}

describe("sandbox on a Debian root", () => {
  let b: Backend;

  before(async () => {
    b = await startDebianBackend();
  });
  after(() => b?.dispose());

  it("adds a user and switches to it: useradd -m alice && su alice -c id", async () => {
    const op = await run(b, {
      image: IMAGE,
      command: "useradd -m alice && su alice -c id && stat -c '%u:%g %n' /home/alice",
      shell: true,
    });
    assert.equal(op.status, "SUCCESS", JSON.stringify(op.metadata?.result));
    const out = text(op.metadata.result.stdout);
    assert.match(out, /^uid=1000\(alice\) gid=1000\(alice\) groups=1000\(alice\)$/m);
    assert.match(out, /^1000:1000 \/home\/alice$/m);
    const home = await call(b, "GET", `/v1/inspect/${op.result_image_uuid}/list?path=/home`);
    const alice = home.body.files.find((f: { path: string }) => f.path === "alice");
    assert.deepEqual([alice.uid, alice.gid, alice.owner], [1000, 1000, "alice"]);
  });

  it("keeps chown 1000:1000 inside, in inspect listings and in archives", async () => {
    const made = await run(b, {
      image: IMAGE,
      command: "mkdir /x && touch /x/f && chown -R 1000:1000 /x && chown 0:2 /x/f && " +
        "stat -c '%u:%g %n' /x /x/f",
      shell: true,
    });
    assert.equal(made.status, "SUCCESS", JSON.stringify(made.metadata?.result));
    assert.equal(text(made.metadata.result.stdout), "1000:1000 /x\n0:2 /x/f\n");
    const image = made.result_image_uuid;
    // In a later run from the result image.
    const later = await run(b, { image, command: "stat -c '%u:%g %n' /x /x/f", shell: true });
    assert.equal(text(later.metadata.result.stdout), "1000:1000 /x\n0:2 /x/f\n");
    const root = await call(b, "GET", `/v1/inspect/${image}/list`);
    const x = root.body.files.find((f: { path: string }) => f.path === "x");
    assert.deepEqual([x.uid, x.gid], [1000, 1000]);
    const inner = await call(b, "GET", `/v1/inspect/${image}/list?path=/x`);
    assert.deepEqual([inner.body.files[0].uid, inner.body.files[0].gid], [0, 2]);
    const archive = await request(b, "GET", `/v1/inspect/${image}/archive?path=/x`);
    const owners = tarOwners(new Uint8Array(await archive.arrayBuffer()));
    assert.equal(owners.get("x/"), "1000:1000");
    assert.equal(owners.get("x/f"), "0:2");
  });

  it("lets root drop privileges the way Debian's tools do (setgroups, setpriv, dpkg)", async () => {
    const op = await run(b, {
      image: IMAGE,
      command: "setpriv --reuid=_apt --regid=nogroup --clear-groups id -u && mkdir /y && " +
        "dpkg-statoverride --update --add _apt nogroup 0750 /y && stat -c '%U:%G %a' /y",
      shell: true,
    });
    assert.equal(op.status, "SUCCESS", JSON.stringify(op.metadata?.result));
    assert.match(text(op.metadata.result.stdout), /^42\n_apt:nogroup 750\n$/);
  });
});
