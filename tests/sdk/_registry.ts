// A real OCI registry for the SDK's import tests, under any runtime: Debian's docker-registry
// (the CNCF distribution registry) on loopback, anonymous, with filesystem storage in a temp
// dir; images are pushed with plain HTTP per the distribution API.
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

/** A running registry. */
export interface Registry {
  /** `127.0.0.1:PORT`. */
  host: string;
  /** Pushes a one-layer image holding `files` (path -> text) as `repository:tag`. */
  push(repository: string, tag: string, files: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

/** A port that was free a moment ago (the registry needs it in its config). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A ustar archive of regular files. */
function tar(files: Record<string, string>): Uint8Array {
  const blocks: Uint8Array[] = [];
  const octal = (value: number, width: number) => value.toString(8).padStart(width - 1, "0") + "\0";
  for (const [path, text] of Object.entries(files)) {
    const data = new TextEncoder().encode(text);
    const header = new Uint8Array(512);
    const put = (value: string, at: number) => header.set(new TextEncoder().encode(value), at);
    put(path, 0);
    put(octal(0o644, 8), 100);
    put(octal(0, 8), 108);
    put(octal(0, 8), 116);
    put(octal(data.length, 12), 124);
    put(octal(1_700_000_000, 12), 136);
    put("        ", 148);
    put("0", 156);
    put("ustar\u000000", 257);
    put(octal(header.reduce((sum, byte) => sum + byte, 0), 7), 148);
    blocks.push(header, data, new Uint8Array((512 - (data.length % 512)) % 512));
  }
  blocks.push(new Uint8Array(1024));
  const out = new Uint8Array(blocks.reduce((n, block) => n + block.length, 0));
  blocks.reduce((at, block) => (out.set(block, at), at + block.length), 0);
  return out;
}

const digest = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

/** Starts a registry on a free loopback port. */
export async function startRegistry(): Promise<Registry> {
  const dir = mkdtempSync(join(tmpdir(), "contree-sdk-registry-"));
  const host = `127.0.0.1:${await freePort()}`;
  writeFileSync(
    join(dir, "config.yml"),
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n` +
      `  filesystem:\n    rootdirectory: ${join(dir, "storage")}\nhttp:\n  addr: ${host}\n` +
      `  secret: ${crypto.randomUUID()}\n`,
  );
  const child: ChildProcess = spawn(
    "/usr/bin/docker-registry",
    ["serve", join(dir, "config.yml")],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let logs = "";
  child.stderr!.on("data", (data: Uint8Array) => (logs += new TextDecoder().decode(data)));
  for (let attempt = 0;; attempt++) {
    const up = await fetch(`http://${host}/v2/`).then(async (res) => {
      await res.body?.cancel();
      return res.status === 200;
    }, () => false);
    if (up) break;
    if (attempt > 400 || child.exitCode !== null) {
      child.kill("SIGKILL");
      throw new Error(`docker-registry did not start: ${logs}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  const expect = async (res: Response, status: number, what: string) => {
    const text = await res.text();
    if (res.status !== status) throw new Error(`${what}: HTTP ${res.status} ${text}`);
  };
  const pushBlob = async (repository: string, bytes: Uint8Array<ArrayBuffer>) => {
    const start = await fetch(`http://${host}/v2/${repository}/blobs/uploads/`, { method: "POST" });
    await expect(start.clone(), 202, "start upload");
    const location = new URL(start.headers.get("location")!, `http://${host}`);
    location.searchParams.set("digest", digest(bytes));
    const put = await fetch(location, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream" },
      body: bytes,
    });
    await expect(put, 201, "upload");
  };

  return {
    host,
    async push(repository, tag, files) {
      const layerTar = tar(files);
      const layer = new Uint8Array(gzipSync(layerTar));
      const config = new TextEncoder().encode(JSON.stringify({
        architecture: "amd64",
        os: "linux",
        config: { Env: ["PATH=/usr/bin:/bin"], Cmd: ["sh"] },
        rootfs: { type: "layers", diff_ids: [digest(layerTar)] },
        history: [],
      }));
      await pushBlob(repository, layer);
      await pushBlob(repository, config);
      const manifest = new TextEncoder().encode(JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: {
          mediaType: "application/vnd.oci.image.config.v1+json",
          digest: digest(config),
          size: config.length,
        },
        layers: [{
          mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
          digest: digest(layer),
          size: layer.length,
        }],
      }));
      const put = await fetch(`http://${host}/v2/${repository}/manifests/${tag}`, {
        method: "PUT",
        headers: { "content-type": OCI_MANIFEST },
        body: manifest,
      });
      await expect(put, 201, "manifest");
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
