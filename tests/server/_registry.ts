// Real registries for the import tests: the CNCF distribution registry (Debian's
// docker-registry) on loopback with filesystem storage in a temp dir, anonymous, behind basic
// auth (htpasswd, bcrypt) or behind token auth (a token service in this process signing JWTs
// with an openssl-made key). Images are built here (layer tars, configs, manifests, indexes)
// and pushed with plain HTTP per the distribution API, or written as archives.
import assert from "node:assert/strict";
import zlib from "node:zlib";
import { createHash } from "node:crypto";
import { ImageView } from "../../server/images/fs_view.ts";
import { busyboxRootfs, LayerStore } from "../../server/images/layer_store.ts";
import { ImportCache } from "../../server/registry/mod.ts";
import { encodeHeader } from "../../server/tar/mod.ts";
import { run as sandboxRun } from "./_sandbox_fixture.ts";

const REGISTRY_BIN = "/usr/bin/docker-registry";
const SERVICE = "contree-test";
const ISSUER = "contree-test-issuer";

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
export const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";

// ---------------------------------------------------------------------------------------------
// Layer tars

/** One member of a layer tar. */
export interface Entry {
  name: string;
  type?: "file" | "dir" | "symlink" | "link" | "char" | "fifo";
  content?: string | Uint8Array;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  /** Symlink or hard link target. */
  link?: string;
  /** Extra PAX records (e.g. xattrs). */
  pax?: Record<string, string>;
}

const TYPEFLAG = { file: "0", link: "1", symlink: "2", char: "3", dir: "5", fifo: "6" } as const;

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((offset, p) => (out.set(p, offset), offset + p.length), 0);
  return out;
}

/** An uncompressed layer tar of `entries`, in order. */
export function tarOf(entries: Entry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const entry of entries) {
    const type = entry.type ?? "file";
    const data = typeof entry.content === "string"
      ? new TextEncoder().encode(entry.content)
      : entry.content ?? new Uint8Array();
    parts.push(encodeHeader({
      name: type === "dir" && !entry.name.endsWith("/") ? `${entry.name}/` : entry.name,
      type: TYPEFLAG[type],
      mode: entry.mode ?? (type === "dir" ? 0o755 : 0o644),
      uid: entry.uid ?? 0,
      gid: entry.gid ?? 0,
      size: type === "file" ? data.length : 0,
      mtime: entry.mtime ?? 1_700_000_000,
      linkname: entry.link ?? "",
      devmajor: 0,
      devminor: 0,
    }, entry.pax));
    if (type === "file") {
      parts.push(data, new Uint8Array((512 - (data.length % 512)) % 512));
    }
  }
  parts.push(new Uint8Array(1024));
  return concat(parts);
}

/** A layer tar of a busybox root filesystem (GNU tar of `busyboxRootfs`). */
export async function busyboxTar(): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "contree-bb-" });
  try {
    await busyboxRootfs(dir);
    const out = await new Deno.Command("tar", {
      args: ["-c", "--numeric-owner", "-C", dir, "."],
      stdout: "piped",
    }).output();
    if (!out.success) throw new Error("tar of the busybox rootfs failed");
    return out.stdout;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Images

export type Compression = "gzip" | "zstd" | "none";

export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

export function compress(tar: Uint8Array, compression: Compression): Uint8Array<ArrayBuffer> {
  if (compression === "gzip") return new Uint8Array(zlib.gzipSync(tar));
  if (compression === "zstd") {
    // deno-lint-ignore no-explicit-any
    return new Uint8Array((zlib as any).zstdCompressSync(tar));
  }
  return new Uint8Array(tar);
}

/** A blob of an image: bytes plus descriptor. */
export interface Blob {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Uint8Array<ArrayBuffer>;
}

function blob(mediaType: string, bytes: Uint8Array<ArrayBuffer>): Blob {
  return { mediaType, digest: sha256(bytes), size: bytes.length, bytes };
}

/** What an image built by {@linkcode buildImage} consists of. */
export interface BuiltImage {
  manifest: Blob;
  config: Blob;
  layers: Blob[];
  /** Uncompressed layer digests. */
  diffIds: string[];
  /** Uncompressed layer tars. */
  tars: Uint8Array[];
}

export interface ImageSpec {
  /** Uncompressed layer tars (their digests are the config's diff_ids). */
  layers: Uint8Array[];
  /** The layer blobs as stored (default: the layers, compressed). */
  blobs?: Uint8Array<ArrayBuffer>[];
  compression?: Compression;
  format?: "oci" | "docker";
  env?: string[];
  workdir?: string;
  user?: string;
  cmd?: string[];
  labels?: Record<string, string>;
  architecture?: string;
  variant?: string;
}

export function buildImage(spec: ImageSpec): BuiltImage {
  const compression = spec.compression ?? "gzip";
  const oci = (spec.format ?? "oci") === "oci";
  const layerType = oci
    ? `application/vnd.oci.image.layer.v1.tar${compression === "none" ? "" : `+${compression}`}`
    : compression === "none"
    ? "application/vnd.docker.image.rootfs.diff.tar"
    : "application/vnd.docker.image.rootfs.diff.tar.gzip";
  const layers = spec.layers.map((tar, i) =>
    blob(layerType, spec.blobs?.[i] ?? compress(tar, compression))
  );
  const diffIds = spec.layers.map(sha256);
  const config = blob(
    oci
      ? "application/vnd.oci.image.config.v1+json"
      : "application/vnd.docker.container.image.v1+json",
    new TextEncoder().encode(JSON.stringify({
      architecture: spec.architecture ?? "amd64",
      ...(spec.variant ? { variant: spec.variant } : {}),
      os: "linux",
      config: {
        Env: spec.env ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        WorkingDir: spec.workdir ?? "",
        User: spec.user ?? "",
        Cmd: spec.cmd ?? ["sh"],
        Labels: spec.labels ?? null,
      },
      rootfs: { type: "layers", diff_ids: diffIds },
      history: [],
    })),
  );
  const descriptor = (b: Blob) => ({ mediaType: b.mediaType, digest: b.digest, size: b.size });
  const manifest = blob(
    oci ? OCI_MANIFEST : DOCKER_MANIFEST,
    new TextEncoder().encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: oci ? OCI_MANIFEST : DOCKER_MANIFEST,
      config: descriptor(config),
      layers: layers.map(descriptor),
    })),
  );
  return { manifest, config, layers, diffIds, tars: spec.layers };
}

/** An index (OCI) or manifest list (Docker) of `images` with their platforms. */
export function buildIndex(
  entries: { manifest: Blob; platform: { os: string; architecture: string; variant?: string } }[],
  format: "oci" | "docker" = "oci",
): Blob {
  const mediaType = format === "oci" ? OCI_INDEX : DOCKER_LIST;
  return blob(
    mediaType,
    new TextEncoder().encode(JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: entries.map(({ manifest, platform }) => ({
        mediaType: manifest.mediaType,
        digest: manifest.digest,
        size: manifest.size,
        platform,
      })),
    })),
  );
}

// ---------------------------------------------------------------------------------------------
// Registries

export type Auth = "none" | "basic" | "token";

/** A running registry. */
export interface Registry {
  /** `127.0.0.1:PORT`. */
  host: string;
  auth: Auth;
  /** Filesystem storage root. */
  storage: string;
  /** Requests the token service answered (token registries). */
  tokenRequests: number;
  /** Pushes a blob (monolithic upload). */
  pushBlob(repository: string, blob: Blob): Promise<void>;
  /** Pushes a manifest or index under `reference` (tag or digest). */
  pushManifest(repository: string, reference: string, manifest: Blob): Promise<void>;
  /** Pushes an image's blobs and manifest, tagged `tag`. */
  pushImage(repository: string, tag: string, image: BuiltImage): Promise<void>;
  /** Host path of a blob's data in the storage (to tamper with it). */
  blobPath(digest: string): string;
  stop(): Promise<void>;
}

export const USER = "alice";
export const PASSWORD = "s3cret-pa55";

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function run(command: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${command} ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

function base64url(bytes: Uint8Array | string): string {
  const raw = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  return btoa(String.fromCharCode(...raw)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

function pemBody(pem: string): string {
  return pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
}

/** Signs registry tokens (RS256, with the certificate in `x5c`). */
class TokenIssuer {
  readonly #key: CryptoKey;
  readonly #cert: string;

  constructor(key: CryptoKey, cert: string) {
    this.#key = key;
    this.#cert = cert;
  }

  static async create(dir: string): Promise<{ issuer: TokenIssuer; certPath: string }> {
    const keyPath = `${dir}/token.key`;
    const certPath = `${dir}/token.crt`;
    await run("openssl", [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      keyPath,
      "-out",
      certPath,
      "-days",
      "2",
      "-subj",
      "/CN=contree-test-token",
    ]);
    const der = Uint8Array.from(
      atob(pemBody(await Deno.readTextFile(keyPath))),
      (c) => c.charCodeAt(0),
    );
    const key = await crypto.subtle.importKey(
      "pkcs8",
      der,
      { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
      false,
      ["sign"],
    );
    return { issuer: new TokenIssuer(key, pemBody(await Deno.readTextFile(certPath))), certPath };
  }

  async sign(subject: string, repository: string, actions: string[]): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const header = base64url(JSON.stringify({ typ: "JWT", alg: "RS256", x5c: [this.#cert] }));
    const claims = base64url(JSON.stringify({
      iss: ISSUER,
      sub: subject,
      aud: SERVICE,
      exp: now + 600,
      nbf: now - 60,
      iat: now,
      jti: crypto.randomUUID(),
      access: [{ type: "repository", name: repository, actions }],
    }));
    const signature = await crypto.subtle.sign(
      "RSASSA-PKCS1-v1_5",
      this.#key,
      new TextEncoder().encode(`${header}.${claims}`),
    );
    return `${header}.${claims}.${base64url(new Uint8Array(signature))}`;
  }
}

/** Starts a registry on a free loopback port, with its own storage and (for token) token service. */
export async function startRegistry(auth: Auth = "none"): Promise<Registry> {
  const dir = await Deno.makeTempDir({ prefix: "contree-registry-" });
  const storage = `${dir}/storage`;
  const port = freePort();
  const host = `127.0.0.1:${port}`;
  let authConfig = "";
  let tokenServer: Deno.HttpServer | undefined;
  let issuer: TokenIssuer | undefined;
  const state = { tokenRequests: 0 };
  if (auth === "basic") {
    const line = await run("htpasswd", ["-nbB", USER, PASSWORD]);
    await Deno.writeTextFile(`${dir}/htpasswd`, line.trim() + "\n");
    authConfig = `auth:\n  htpasswd:\n    realm: contree-test\n    path: ${dir}/htpasswd\n`;
  } else if (auth === "token") {
    const created = await TokenIssuer.create(dir);
    issuer = created.issuer;
    const signer = issuer;
    tokenServer = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      async (req) => {
        state.tokenRequests++;
        const url = new URL(req.url);
        const expected = `Basic ${btoa(`${USER}:${PASSWORD}`)}`;
        if (req.headers.get("authorization") !== expected) {
          return Response.json({ errors: [{ code: "UNAUTHORIZED" }] }, { status: 401 });
        }
        const scope = /^repository:([^:]+):/.exec(url.searchParams.get("scope") ?? "");
        if (url.searchParams.get("service") !== SERVICE || !scope) {
          return Response.json({ errors: [{ code: "DENIED" }] }, { status: 400 });
        }
        return Response.json({ token: await signer.sign(USER, scope[1], ["pull"]) });
      },
    );
    authConfig =
      `auth:\n  token:\n    realm: http://127.0.0.1:${
        (tokenServer.addr as Deno.NetAddr).port
      }/token\n` +
      `    service: ${SERVICE}\n    issuer: ${ISSUER}\n    rootcertbundle: ${created.certPath}\n`;
  }
  const config = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${storage}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: ${host}
  secret: ${crypto.randomUUID()}
${authConfig}`;
  await Deno.writeTextFile(`${dir}/config.yml`, config);
  const child = new Deno.Command(REGISTRY_BIN, {
    args: ["serve", `${dir}/config.yml`],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let logs = "";
  const draining = child.stderr.pipeTo(
    new WritableStream({ write: (chunk) => void (logs += new TextDecoder().decode(chunk)) }),
  ).catch(() => {});
  const deadline = Date.now() + 20_000;
  while (true) {
    const up = await fetch(`http://${host}/v2/`).then(async (r) => {
      await r.body?.cancel();
      return r.status === 200 || r.status === 401;
    }, () => false);
    if (up) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`docker-registry did not start: ${logs}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  const pushAuth = async (repository: string): Promise<Record<string, string>> => {
    if (auth === "basic") return { Authorization: `Basic ${btoa(`${USER}:${PASSWORD}`)}` };
    if (auth === "token") {
      return { Authorization: `Bearer ${await issuer!.sign(USER, repository, ["pull", "push"])}` };
    }
    return {};
  };
  const expect = async (response: Response, what: string, status: number) => {
    const text = await response.text();
    if (response.status !== status) throw new Error(`${what}: HTTP ${response.status} ${text}`);
  };
  const registry: Registry = {
    host,
    auth,
    storage,
    get tokenRequests() {
      return state.tokenRequests;
    },
    async pushBlob(repository, b) {
      const headers = await pushAuth(repository);
      const start = await fetch(`http://${host}/v2/${repository}/blobs/uploads/`, {
        method: "POST",
        headers,
      });
      await expect(start.clone(), "start upload", 202);
      const location = new URL(start.headers.get("location")!, `http://${host}`);
      location.searchParams.set("digest", b.digest);
      const put = await fetch(location, {
        method: "PUT",
        headers: { ...headers, "Content-Type": "application/octet-stream" },
        body: b.bytes,
      });
      await expect(put, "upload", 201);
    },
    async pushManifest(repository, reference, manifest) {
      const put = await fetch(`http://${host}/v2/${repository}/manifests/${reference}`, {
        method: "PUT",
        headers: { ...await pushAuth(repository), "Content-Type": manifest.mediaType },
        body: manifest.bytes,
      });
      await expect(put, "manifest", 201);
    },
    async pushImage(repository, tag, image) {
      for (const b of [...image.layers, image.config]) await registry.pushBlob(repository, b);
      await registry.pushManifest(repository, tag, image.manifest);
    },
    blobPath(digest) {
      const hex = digest.slice("sha256:".length);
      return `${storage}/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`;
    },
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await draining;
      await tokenServer?.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
  return registry;
}

// ---------------------------------------------------------------------------------------------
// Archives

/** Writes `image` as an OCI image layout in `dir` (created), tagged `name`. */
export async function writeOciLayout(dir: string, image: BuiltImage, name: string): Promise<void> {
  await Deno.mkdir(`${dir}/blobs/sha256`, { recursive: true });
  await Deno.writeTextFile(`${dir}/oci-layout`, JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  for (const b of [...image.layers, image.config, image.manifest]) {
    await Deno.writeFile(`${dir}/blobs/sha256/${b.digest.slice(7)}`, b.bytes);
  }
  await Deno.writeTextFile(
    `${dir}/index.json`,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{
        mediaType: image.manifest.mediaType,
        digest: image.manifest.digest,
        size: image.manifest.size,
        annotations: { "org.opencontainers.image.ref.name": name },
      }],
    }),
  );
}

/**
 * Writes `image` as a classic `docker save` archive at `path`: `manifest.json`,
 * `<config hex>.json`, `<id>/layer.tar` (uncompressed). A layer equal to an earlier one is a
 * symlink to it, as docker writes repeated layers.
 */
export async function writeDockerSave(path: string, image: BuiltImage, tag: string): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "contree-save-" });
  try {
    const configName = `${image.config.digest.slice(7)}.json`;
    await Deno.writeFile(`${dir}/${configName}`, image.config.bytes);
    const layers: string[] = [];
    for (const [i, tar] of image.tars.entries()) {
      const id = sha256(new TextEncoder().encode(`layer ${i}`)).slice(7);
      await Deno.mkdir(`${dir}/${id}`);
      const first = image.diffIds.indexOf(image.diffIds[i]);
      if (first < i) await Deno.symlink(`../${layers[first]}`, `${dir}/${id}/layer.tar`);
      else await Deno.writeFile(`${dir}/${id}/layer.tar`, tar);
      await Deno.writeTextFile(`${dir}/${id}/VERSION`, "1.0");
      layers.push(`${id}/layer.tar`);
    }
    await Deno.writeTextFile(
      `${dir}/manifest.json`,
      JSON.stringify([{ Config: configName, RepoTags: [tag], Layers: layers }]),
    );
    await run("tar", ["-c", "-f", path, "-C", dir, "."]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// ---------------------------------------------------------------------------------------------
// A multi-layer image with deletions and opaque directories, and how to check it

const LONG = `long/${"n".repeat(120)}/${"f".repeat(110)}.txt`;

/**
 * Three layers over busybox that add, modify and delete files under /data and /etc: deleted
 * files and whole trees (`.wh.NAME`), opaque directories (`.wh..wh..opq`, given before and
 * after the directory's own entry), a name both whited out and re-created in one layer, hard
 * links, symlinks, a FIFO, owners and set-id modes, a name longer than ustar allows.
 */
export function changeLayers(): Uint8Array[] {
  const l1 = tarOf([
    { name: "data", type: "dir" },
    { name: "data/keep.txt", content: "keep v1\n" },
    { name: "data/gone.txt", content: "gone\n" },
    { name: "data/dir", type: "dir" },
    { name: "data/dir/a.txt", content: "a\n" },
    { name: "data/dir/b.txt", content: "b\n" },
    { name: "data/opq", type: "dir" },
    { name: "data/opq/old1.txt", content: "old\n" },
    { name: "data/opq/old2", type: "dir" },
    { name: "data/opq/old2/x.txt", content: "x\n" },
    { name: "data/opq2", type: "dir" },
    { name: "data/opq2/old.txt", content: "old\n" },
    { name: "data/redo", type: "dir" },
    { name: "data/redo/x.txt", content: "x\n" },
    { name: "data/tree", type: "dir" },
    { name: "data/tree/deep", type: "dir" },
    { name: "data/tree/deep/file.txt", content: "deep\n" },
    { name: "data/owned.txt", content: "mine\n", uid: 1000, gid: 1000, mode: 0o600 },
    { name: "data/suid", content: "#!/bin/sh\n", mode: 0o4755 },
    { name: "etc/motd", content: "hello\n" },
  ]);
  const l2 = tarOf([
    { name: "data", type: "dir" },
    { name: "data/.wh.gone.txt" },
    { name: "data/dir", type: "dir" },
    { name: "data/dir/.wh.a.txt" },
    { name: "data/opq/.wh..wh..opq" },
    { name: "data/opq", type: "dir", mode: 0o750 },
    { name: "data/opq/new.txt", content: "new\n" },
    { name: "data/opq2", type: "dir", mode: 0o775, uid: 1000, gid: 1000 },
    { name: "data/opq2/fresh.txt", content: "fresh\n" },
    { name: "data/opq2/.wh..wh..opq" },
    { name: "data/redo", type: "dir" },
    { name: "data/redo/z.txt", content: "z\n" },
    { name: "data/.wh.redo" },
    { name: "data/h1", content: "hard\n" },
    { name: "data/h2", type: "link", link: "data/h1" },
    { name: "data/sym", type: "symlink", link: "keep.txt" },
    { name: "data/fifo", type: "fifo" },
    { name: "data/long", type: "dir" },
    { name: `data/${LONG.split("/").slice(0, 2).join("/")}`, type: "dir" },
    { name: `data/${LONG}`, content: "long\n" },
  ]);
  const l3 = tarOf([
    { name: "data", type: "dir" },
    { name: "data/.wh.tree" },
    { name: "data/keep.txt", content: "keep v2\n" },
    { name: "data/tree2", type: "dir" },
    { name: "etc", type: "dir" },
    { name: "etc/.wh.motd" },
  ]);
  return [l1, l2, l3];
}

/** What /data holds after {@linkcode changeLayers}: path → content (`null`: not a file). */
export const EXPECTED_DATA: Record<string, string | null> = {
  "/data": null,
  "/data/dir": null,
  "/data/dir/b.txt": "b\n",
  "/data/fifo": null,
  "/data/h1": "hard\n",
  "/data/h2": "hard\n",
  "/data/keep.txt": "keep v2\n",
  "/data/long": null,
  [`/data/${LONG.split("/").slice(0, 2).join("/")}`]: null,
  [`/data/${LONG}`]: "long\n",
  "/data/opq": null,
  "/data/opq/new.txt": "new\n",
  "/data/opq2": null,
  "/data/opq2/fresh.txt": "fresh\n",
  "/data/owned.txt": "mine\n",
  "/data/redo": null,
  "/data/redo/z.txt": "z\n",
  "/data/suid": "#!/bin/sh\n",
  "/data/sym": null,
  "/data/tree2": null,
};

/** `path|st_mode hex|uid|gid|size|nlink` per entry under `root` (size and nlink of files only). */
export async function viewLines(view: ImageView, root: string): Promise<string[]> {
  const lines: string[] = [];
  const walk = async (path: string) => {
    const item = (await view.stat(path))!;
    const file = item.is_regular;
    lines.push(
      [
        path,
        item.mode.toString(16),
        item.uid,
        item.gid,
        file ? item.size : "",
        file ? item.nlink : "",
      ]
        .join("|"),
    );
    if (item.is_dir) {
      for (const child of (await view.list(path)).files) await walk(`${path}/${child.path}`);
    }
  };
  await walk(root);
  return lines.sort();
}

/** The same lines as {@linkcode viewLines}, from inside a sandbox running the image. */
export async function sandboxLines(
  store: LayerStore,
  layers: string[],
  root: string,
): Promise<string[]> {
  const script = `find ${root} | while read -r p; do stat -c '%n|%f|%u|%g|%F|%s|%h' "$p"; done`;
  const { stdout, stderr, result } = await sandboxRun(store, layers, script, { commit: false });
  if (result.exitCode !== 0) throw new Error(`sandbox listing failed: ${stderr}`);
  return stdout.trim().split("\n").map((line) => {
    const [path, mode, uid, gid, type, size, nlink] = line.split("|");
    const file = type.startsWith("regular");
    return [path, mode, uid, gid, file ? size : "", file ? nlink : ""].join("|");
  }).sort();
}

/** Asserts that `layers` hold busybox plus {@linkcode changeLayers}, via ImageView and a sandbox. */
export async function assertChangedImage(store: LayerStore, layers: string[]): Promise<void> {
  const view = new ImageView(layers.map((id) => store.path(id)));
  const lines = await viewLines(view, "/data");
  assert.deepEqual(
    lines.map((line) => line.split("|")[0]).sort(),
    Object.keys(EXPECTED_DATA).sort(),
  );
  for (const [path, content] of Object.entries(EXPECTED_DATA)) {
    if (content === null) continue;
    const stream = await (await view.open(path)).stream();
    assert.equal(await new Response(stream).text(), content, path);
  }
  const item = async (path: string) => (await view.stat(path))!;
  assert.equal((await item("/data/owned.txt")).mode, 0o100600);
  assert.equal((await item("/data/owned.txt")).uid, 1000);
  assert.equal((await item("/data/suid")).mode, 0o104755);
  assert.equal((await item("/data/opq")).mode, 0o40750);
  assert.equal((await item("/data/opq2")).uid, 1000);
  assert.equal((await item("/data/sym")).symlink_to, "keep.txt");
  assert.equal((await item("/data/fifo")).is_fifo, true);
  assert.equal((await item("/data/h1")).nlink, 2);
  assert.equal(await view.stat("/etc/motd"), null);
  assert.equal((await item("/etc/passwd")).is_regular, true);
  assert.equal((await item("/bin/sh")).symlink_to, "/bin/busybox");
  // The kernel's overlayfs sees exactly what ImageView sees.
  assert.deepEqual(await sandboxLines(store, layers, "/data"), lines);
  const { stdout } = await sandboxRun(
    store,
    layers,
    "cat /data/keep.txt /data/sym /data/opq/new.txt; ls /etc/motd 2>&1; ls /data/opq /data/redo",
    { commit: false },
  );
  assert.equal(
    stdout,
    "keep v2\nkeep v2\nnew\nls: /etc/motd: No such file or directory\n/data/opq:\nnew.txt\n\n/data/redo:\nz.txt\n",
  );
}

/** Names left in a directory (none when it does not exist). */
export async function leftovers(dir: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(dir))).map((entry) => entry.name).sort();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

/** A data directory with a LayerStore and an import cache, both initialised. */
export interface Store {
  dataDir: string;
  layerStore: LayerStore;
  cache: ImportCache;
  /** Temp files of the LayerStore and of the cache, and workspaces (all empty when clean). */
  garbage(): Promise<string[]>;
  close(): Promise<void>;
}

export async function makeStore(): Promise<Store> {
  const dataDir = await Deno.makeTempDir({ prefix: "contree-import-" });
  const layerStore = new LayerStore(dataDir);
  await layerStore.init();
  const cache = new ImportCache(`${dataDir}/imports`);
  await cache.init();
  return {
    dataDir,
    layerStore,
    cache,
    garbage: async () => [
      ...(await leftovers(`${dataDir}/tmp`)).map((n) => `tmp/${n}`),
      ...(await leftovers(`${dataDir}/work`)).map((n) => `work/${n}`),
      ...(await leftovers(`${dataDir}/imports/tmp`)).map((n) => `imports/tmp/${n}`),
    ],
    close: () => Deno.remove(dataDir, { recursive: true }),
  };
}
