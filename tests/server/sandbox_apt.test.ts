// apt-get on a real Debian root (debootstrap minbase, imported with `import-rootfs`) in a
// sandbox with networking: the Debian archive through pasta and the host's DNS resolver,
// apt's own privilege drop to `_apt`, dpkg; nothing modified. The only traffic outside the
// host goes to the resolver and the Debian archive, through apt.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Backend } from "./_backend.ts";
import { run, text } from "./_api.ts";
import { DEBIAN_IMAGE as IMAGE, startDebianBackend } from "./_debian_root.ts";

describe("apt-get in a sandbox with networking", () => {
  let b: Backend;

  before(async () => {
    b = await startDebianBackend();
  });
  after(() => b?.dispose());

  it("installs curl: apt-get update && apt-get install -y curl, then curl runs later", async () => {
    const op = await run(b, {
      image: IMAGE,
      command: "apt-get update && apt-get install -y curl",
      shell: true,
      networking: { enabled: true },
      timeout: 900,
      disposable: false,
    });
    const result = op.metadata?.result;
    const output = result ? `${text(result.stdout)}\n${text(result.stderr)}` : JSON.stringify(op);
    assert.equal(op.status, "SUCCESS", output);
    assert.equal(result.state.exit_code, 0, output);
    assert.match(text(result.stdout), /Setting up curl /);
    // In a later run from the result image, without networking.
    const later = await run(b, {
      image: op.result_image_uuid,
      command: "curl --version",
      shell: true,
    });
    assert.equal(later.metadata.result.state.exit_code, 0, text(later.metadata.result.stderr));
    assert.match(text(later.metadata.result.stdout), /^curl \d+\.\d+/);
  });

  it("cannot reach the archive without networking", async () => {
    const op = await run(b, { image: IMAGE, command: "apt-get update", shell: true, timeout: 120 });
    const { stdout, stderr } = op.metadata.result;
    // apt-get update exits 0 on a temporary failure, warning that it used no index.
    assert.match(
      `${text(stdout)}${text(stderr)}`,
      /Temporary failure resolving 'deb\.debian\.org'/,
    );
    assert.match(text(stderr), /Some index files failed to download/);
  });
});
