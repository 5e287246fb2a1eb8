// importFromRegistry against real registries (Debian's docker-registry on loopback):
// layer formats and compressions, whiteouts and opaque directories (checked through ImageView
// and inside a sandbox), multi-platform indexes, basic and token auth, the caches, errors that
// leave nothing half-stored, cancellation and a killed import.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { ImageView } from "../../server/images/fs_view.ts";
import {
  DigestMismatchError,
  ImageNotFoundError,
  ImportCache,
  importFromRegistry,
  type ImportProgress,
  InvalidReferenceError,
  RegistryAuthError,
  type RegistryImportOptions,
  RegistryUnreachableError,
  UnsupportedImageError,
} from "../../server/registry/mod.ts";
import { LayerStore } from "../../server/images/layer_store.ts";
import {
  assertChangedImage,
  buildImage,
  buildIndex,
  busyboxTar,
  changeLayers,
  DOCKER_LIST,
  makeStore,
  PASSWORD,
  type Registry,
  sha256,
  startRegistry,
  type Store,
  tarOf,
  USER,
} from "./_registry.ts";

const INSECURE = ["127.0.0.1"];

async function rejects<T extends Error>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => T,
  pattern?: RegExp,
): Promise<T> {
  const error = await promise.then(() => null, (e) => e);
  assert.ok(error instanceof type, `expected ${type.name}, got ${error?.stack ?? error}`);
  if (pattern) assert.match(error.message, pattern);
  return error;
}

function textFile(path: string, content: string): Uint8Array {
  return tarOf([{ name: path, content }]);
}

describe("importFromRegistry", () => {
  let registry: Registry;
  let base: Uint8Array;
  const stores: Store[] = [];
  const store = async () => {
    const s = await makeStore();
    stores.push(s);
    return s;
  };
  const options = (s: Store, reference: string): RegistryImportOptions => ({
    reference: `docker://${registry.host}/${reference}`,
    insecureRegistries: INSECURE,
    layerStore: s.layerStore,
    cache: s.cache,
  });

  before(async () => {
    registry = await startRegistry();
    base = await busyboxTar();
  });
  after(async () => {
    await registry.stop();
    for (const s of stores) await s.close();
  });

  for (
    const [format, compression] of [
      ["oci", "gzip"],
      ["docker", "gzip"],
      ["oci", "zstd"],
      ["oci", "none"],
    ] as const
  ) {
    it(`imports a ${format} image with ${compression} layers, deletions and opaque dirs`, async () => {
      const image = buildImage({
        layers: [base, ...changeLayers()],
        format,
        compression,
        env: ["PATH=/usr/bin:/bin", "GREETING=a=b"],
        workdir: "/data",
        user: "1000:1000",
        cmd: ["cat", "keep.txt"],
        labels: { team: "contree" },
      });
      const repo = `changes/${format}-${compression}`;
      await registry.pushImage(repo, "v1", image);
      const s = await store();
      const events: ImportProgress[] = [];
      const result = await importFromRegistry({
        ...options(s, `${repo}:v1`),
        onProgress: (event) => events.push(event),
      });
      assert.equal(result.digest, image.manifest.digest);
      assert.equal(result.layers.length, 4);
      assert.equal(result.cached, false);
      assert.deepEqual(result.config, {
        env: { PATH: "/usr/bin:/bin", GREETING: "a=b" },
        workdir: "/data",
        user: "1000:1000",
        entrypoint: [],
        cmd: ["cat", "keep.txt"],
        labels: { team: "contree" },
        os: "linux",
        architecture: "amd64",
      });
      assert.ok(result.size > 1_000_000, `size ${result.size}`);
      await assertChangedImage(s.layerStore, result.layers);
      assert.deepEqual(await s.garbage(), []);
      assert.equal(events[0].kind, "manifest");
      assert.deepEqual(events.at(-1), { kind: "done", digest: result.digest, cached: false });
      const done = events.filter((e) => e.kind === "layer" && e.state === "done");
      assert.equal(done.length, 4);
    });
  }

  it("re-imports an unchanged image from the caches without downloading blobs", async () => {
    const image = buildImage({ layers: [base, ...changeLayers()] });
    await registry.pushImage("cached/app", "v1", image);
    const s = await store();
    const first = await importFromRegistry(options(s, "cached/app:v1"));
    // Without its blobs the registry can only serve manifests: a re-import must not need them.
    for (const blob of [...image.layers, image.config]) {
      await Deno.remove(registry.blobPath(blob.digest));
    }
    const events: ImportProgress[] = [];
    const again = await importFromRegistry({
      ...options(s, "cached/app:v1"),
      onProgress: (event) => events.push(event),
    });
    assert.deepEqual(again, { ...first, cached: true });
    assert.deepEqual(events, [{ kind: "done", digest: first.digest, cached: true }]);
    const byDigest = await importFromRegistry(options(s, `cached/app@${image.manifest.digest}`));
    assert.deepEqual(byDigest.layers, first.layers);
  });

  it("reuses layers present from other images and downloads only the new ones", async () => {
    const a = buildImage({ layers: [base, textFile("a.txt", "a\n")] });
    const b = buildImage({ layers: [base, textFile("b.txt", "b\n")], compression: "zstd" });
    await registry.pushImage("shared/a", "1", a);
    await registry.pushImage("shared/b", "1", b);
    const s = await store();
    const first = await importFromRegistry(options(s, "shared/a:1"));
    await Deno.remove(registry.blobPath(b.layers[0].digest));
    const events: ImportProgress[] = [];
    const second = await importFromRegistry({
      ...options(s, "shared/b:1"),
      onProgress: (event) => events.push(event),
    });
    assert.equal(second.layers[0], first.layers[0]);
    assert.notEqual(second.layers[1], first.layers[1]);
    const states = events.flatMap((e) =>
      e.kind === "layer" && e.state !== "downloading" ? [[e.index, e.state]] : []
    );
    assert.deepEqual(states.sort(), [[0, "cached"], [1, "done"]]);
    const view = new ImageView(second.layers.map((id) => s.layerStore.path(id)));
    assert.equal(await view.stat("/a.txt"), null);
    assert.equal((await view.stat("/b.txt"))?.size, 2);
  });

  it("picks the host platform from an OCI index or a Docker manifest list", async () => {
    const amd64 = buildImage({ layers: [base, textFile("platform", "amd64\n")] });
    const arm64 = buildImage({ layers: [textFile("platform", "arm64\n")], architecture: "arm64" });
    const armv7 = buildImage({ layers: [textFile("platform", "arm/v7\n")], architecture: "arm" });
    const attestation = buildImage({ layers: [textFile("sbom", "{}\n")] });
    for (const image of [amd64, arm64, armv7, attestation]) {
      await registry.pushImage("multi/app", image.manifest.digest.slice(7, 19), image);
    }
    const entries = [
      { manifest: attestation.manifest, platform: { os: "unknown", architecture: "unknown" } },
      { manifest: armv7.manifest, platform: { os: "linux", architecture: "arm", variant: "v7" } },
      { manifest: arm64.manifest, platform: { os: "linux", architecture: "arm64" } },
      { manifest: amd64.manifest, platform: { os: "linux", architecture: "amd64" } },
    ];
    const ociIndex = buildIndex(entries, "oci");
    const dockerList = buildIndex(entries, "docker");
    assert.equal(dockerList.mediaType, DOCKER_LIST);
    await registry.pushManifest("multi/app", "oci", ociIndex);
    await registry.pushManifest("multi/app", "docker", dockerList);
    const s = await store();
    const platformFile = async (layers: string[]) => {
      const view = new ImageView(layers.map((id) => s.layerStore.path(id)));
      return await new Response(await (await view.open("/platform")).stream()).text();
    };
    for (const tag of ["oci", "docker"]) {
      const host = await importFromRegistry({
        ...options(s, `multi/app:${tag}`),
        platform: { os: "linux", architecture: "amd64" },
      });
      assert.equal(host.digest, amd64.manifest.digest);
      assert.equal(await platformFile(host.layers), "amd64\n");
      const arm = await importFromRegistry({
        ...options(s, `multi/app:${tag}`),
        platform: { os: "linux", architecture: "arm64", variant: "v8" },
      });
      assert.equal(arm.config.architecture, "arm64");
      assert.equal(await platformFile(arm.layers), "arm64\n");
      const v7 = await importFromRegistry({
        ...options(s, `multi/app:${tag}`),
        platform: { os: "linux", architecture: "arm", variant: "v7" },
      });
      assert.equal(await platformFile(v7.layers), "arm/v7\n");
    }
    const pinned = await importFromRegistry({
      ...options(s, `multi/app@${ociIndex.digest}`),
      platform: { os: "linux", architecture: "amd64" },
    });
    assert.equal(pinned.digest, amd64.manifest.digest);
    await rejects(
      importFromRegistry({
        ...options(s, "multi/app:oci"),
        platform: { os: "linux", architecture: "s390x" },
      }),
      UnsupportedImageError,
      /no image for linux\/s390x.*linux\/arm\/v7, linux\/arm64, linux\/amd64/,
    );
  });

  it("fails clearly for unknown tags and repositories, bad references and dead registries", async () => {
    const s = await store();
    await registry.pushImage("known/app", "1", buildImage({ layers: [textFile("f", "f")] }));
    await rejects(
      importFromRegistry(options(s, "known/app:nope")),
      ImageNotFoundError,
      /MANIFEST_UNKNOWN/,
    );
    await rejects(
      importFromRegistry(options(s, "unknown/app:1")),
      ImageNotFoundError,
      /not found/,
    );
    for (
      const reference of ["docker://", "http://x/y:z", "docker://Upper/Case:1", "a b", "x:bad!tag"]
    ) {
      await rejects(
        importFromRegistry({ ...options(s, ""), reference }),
        InvalidReferenceError,
      );
    }
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const deadPort = (listener.addr as Deno.NetAddr).port;
    listener.close();
    await rejects(
      importFromRegistry({ ...options(s, ""), reference: `docker://127.0.0.1:${deadPort}/x/y:1` }),
      RegistryUnreachableError,
      /cannot reach the registry 127\.0\.0\.1:\d+/,
    );
    // Not listed as insecure: HTTPS is spoken to a plain HTTP registry, and fails.
    await rejects(
      importFromRegistry({ ...options(s, "known/app:1"), insecureRegistries: [] }),
      RegistryUnreachableError,
      /https:\/\/127\.0\.0\.1/,
    );
    assert.deepEqual(await s.garbage(), []);
  });

  it("fails a tampered layer, config or manifest and keeps nothing of it", async () => {
    const bigFile = crypto.getRandomValues(new Uint8Array(60_000));
    const image = buildImage({
      layers: [base, tarOf([{ name: "big.bin", content: bigFile }]), textFile("top", "top\n")],
    });
    await registry.pushImage("tamper/app", "1", image);
    const s = await store();
    const layerPath = registry.blobPath(image.layers[1].digest);
    const original = await Deno.readFile(layerPath);
    const tampered = original.slice();
    tampered[tampered.length - 20] ^= 0xff;
    await Deno.writeFile(layerPath, tampered);
    const error = await rejects(
      importFromRegistry(options(s, "tamper/app:1")),
      DigestMismatchError,
      /layer 1/,
    );
    assert.equal(error.expected, image.layers[1].digest);
    assert.deepEqual(await s.garbage(), []);
    assert.equal(await s.cache.image(image.manifest.digest, s.layerStore), null);
    assert.equal(await s.cache.layer(image.diffIds[1], s.layerStore), null);

    await Deno.writeFile(layerPath, original);
    const configPath = registry.blobPath(image.config.digest);
    const config = await Deno.readTextFile(configPath);
    await Deno.writeTextFile(configPath, config.replace('"amd64"', '"arm64"'));
    await rejects(importFromRegistry(options(s, "tamper/app:1")), DigestMismatchError, /config/);
    await Deno.writeTextFile(configPath, config);

    const manifestPath = registry.blobPath(image.manifest.digest);
    await Deno.writeTextFile(manifestPath, `${await Deno.readTextFile(manifestPath)} `);
    await rejects(importFromRegistry(options(s, "tamper/app:1")), DigestMismatchError, /manifest/);
    assert.deepEqual(await s.garbage(), []);
    assert.equal(await s.cache.image(image.manifest.digest, s.layerStore), null);
  });

  it("stops at once when aborted and leaves nothing half-stored", async () => {
    const noise = crypto.getRandomValues(new Uint8Array(64 << 10));
    const big = new Uint8Array(48 << 20);
    for (let i = 0; i < big.length; i += noise.length) big.set(noise, i);
    const image = buildImage({
      layers: [tarOf([{ name: "big.bin", content: big }])],
      compression: "none",
    });
    await registry.pushImage("abort/app", "1", image);
    const s = await store();
    const controller = new AbortController();
    const reason = new Error("user cancelled");
    const error = await importFromRegistry({
      ...options(s, "abort/app:1"),
      signal: controller.signal,
      onProgress: (event) => {
        if (event.kind === "layer" && event.state === "downloading") controller.abort(reason);
      },
    }).then(() => null, (e) => e);
    assert.equal(error, reason);
    assert.deepEqual(await s.garbage(), []);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(`${s.dataDir}/layers`)), []);
    assert.equal(await s.cache.image(image.manifest.digest, s.layerStore), null);
  });
});

describe("importFromRegistry with authentication", () => {
  let basic: Registry;
  let token: Registry;
  let s: Store;
  let image: ReturnType<typeof buildImage>;

  before(async () => {
    [basic, token] = await Promise.all([startRegistry("basic"), startRegistry("token")]);
    image = buildImage({ layers: [await busyboxTar(), textFile("secret.txt", "classified\n")] });
    await basic.pushImage("private/app", "1", image);
    await token.pushImage("private/app", "1", image);
    s = await makeStore();
  });
  after(async () => {
    await basic.stop();
    await token.stop();
    await s.close();
  });

  const options = (registry: Registry, credentials?: { username: string; password: string }) => ({
    reference: `docker://${registry.host}/private/app:1`,
    insecureRegistries: INSECURE,
    layerStore: s.layerStore,
    cache: s.cache,
    credentials,
  });

  for (const kind of ["basic", "token"] as const) {
    it(`imports with the right credentials behind ${kind} auth`, async () => {
      const registry = kind === "basic" ? basic : token;
      const fresh = await makeStore();
      try {
        const before = registry.tokenRequests;
        const result = await importFromRegistry({
          ...options(registry, { username: USER, password: PASSWORD }),
          layerStore: fresh.layerStore,
          cache: fresh.cache,
        });
        assert.equal(result.digest, image.manifest.digest);
        const view = new ImageView(result.layers.map((id) => fresh.layerStore.path(id)));
        assert.equal(
          await new Response(await (await view.open("/secret.txt")).stream()).text(),
          "classified\n",
        );
        if (kind === "token") assert.ok(registry.tokenRequests > before);
      } finally {
        await fresh.close();
      }
    });

    it(`refuses wrong or missing credentials behind ${kind} auth, never echoing them`, async () => {
      const registry = kind === "basic" ? basic : token;
      const wrong = await rejects(
        importFromRegistry(options(registry, { username: USER, password: "wrong-password" })),
        RegistryAuthError,
        /refused the credentials/,
      );
      assert.doesNotMatch(wrong.message, /wrong-password/);
      await rejects(importFromRegistry(options(registry)), RegistryAuthError);
      await rejects(
        importFromRegistry(options(registry, { username: "", password: "" })),
        RegistryAuthError,
      );
      assert.deepEqual(await s.garbage(), []);
    });
  }

  it("refuses to send credentials to a plain-HTTP token service of a secure host", async () => {
    const error = await rejects(
      importFromRegistry({
        ...options(token, { username: USER, password: PASSWORD }),
        insecureRegistries: [token.host],
      }),
      RegistryAuthError,
      /refusing the token service http:\/\/127\.0\.0\.1:\d+/,
    );
    assert.doesNotMatch(error.message, new RegExp(PASSWORD));
  });
});

describe("an import killed mid-way", () => {
  it("leaves only complete layers, which init() keeps and the next import reuses", async () => {
    const registry = await startRegistry();
    const s = await makeStore();
    try {
      const noise = crypto.getRandomValues(new Uint8Array(64 << 10));
      const big = new Uint8Array(32 << 20);
      for (let i = 0; i < big.length; i += noise.length) big.set(noise, i);
      const image = buildImage({
        layers: [textFile("small.txt", "small\n"), tarOf([{ name: "big.bin", content: big }])],
        compression: "none",
      });
      await registry.pushImage("kill/app", "1", image);
      const marker = `${s.dataDir}/frozen`;
      const mod = new URL("../../server/registry/mod.ts", import.meta.url).href;
      const layerStoreMod = new URL("../../server/images/layer_store.ts", import.meta.url).href;
      const script = `${s.dataDir}/child.ts`;
      // The child freezes (synchronously, mid-stream) once the big layer flows and the small
      // one is stored, then is killed.
      await Deno.writeTextFile(
        script,
        `import { ImportCache, importFromRegistry } from ${JSON.stringify(mod)};
import { LayerStore } from ${JSON.stringify(layerStoreMod)};
const layerStore = new LayerStore(${JSON.stringify(s.dataDir)});
const cache = new ImportCache(${JSON.stringify(`${s.dataDir}/imports`)});
let smallStored = false;
let bigStored = false;
let bigReceived = 0;
await importFromRegistry({
  reference: "docker://${registry.host}/kill/app:1",
  insecureRegistries: ["127.0.0.1"],
  layerStore,
  cache,
  onProgress: (event) => {
    if (event.kind !== "layer") return;
    if (event.index === 0 && event.state !== "downloading") smallStored = true;
    if (event.index === 1 && event.state === "downloading") bigReceived = event.received;
    if (event.index === 1 && event.state !== "downloading") bigStored = true;
    // Layers are fetched in parallel: freeze only once the small one is stored for good.
    if (smallStored && !bigStored && bigReceived > (4 << 20)) {
      Deno.writeTextFileSync(${JSON.stringify(marker)}, "");
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
    }
  },
});
`,
      );
      const deno = fileURLToPath(new URL("../../node_modules/.bin/deno", import.meta.url));
      const config = fileURLToPath(new URL("../../deno.json", import.meta.url));
      const child = new Deno.Command(deno, {
        args: ["run", "-A", "--config", config, script],
        stdout: "null",
        stderr: "piped",
      }).spawn();
      const stderr = new Response(child.stderr).text();
      const deadline = Date.now() + 60_000;
      while (!await Deno.stat(marker).then(() => true, () => false)) {
        assert.ok(Date.now() < deadline, "the child never reached the big layer");
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok((await Array.fromAsync(Deno.readDir(`${s.dataDir}/imports/tmp`))).length > 0);
      child.kill("SIGKILL");
      await child.status;
      await stderr;
      // The orphaned tar sees EOF and ends; wait for it before cleaning up.
      while (await tarsUnder(s.dataDir)) await new Promise((r) => setTimeout(r, 20));

      const layerStore = new LayerStore(s.dataDir);
      await layerStore.init();
      const cache = new ImportCache(`${s.dataDir}/imports`);
      await cache.init();
      assert.deepEqual(await s.garbage(), []);
      assert.equal(await cache.image(image.manifest.digest, layerStore), null);
      const small = await cache.layer(image.diffIds[0], layerStore);
      assert.ok(small, "the completed small layer stays cached");
      const layers = (await Array.fromAsync(Deno.readDir(`${s.dataDir}/layers`))).map((e) =>
        e.name
      );
      assert.deepEqual(layers.sort(), [small.layer, `${small.layer}.json`].sort());

      const result = await importFromRegistry({
        reference: `docker://${registry.host}/kill/app:1`,
        insecureRegistries: INSECURE,
        layerStore,
        cache,
      });
      assert.equal(result.layers[0], small.layer);
      const view = new ImageView(result.layers.map((id) => layerStore.path(id)));
      assert.equal((await view.stat("/big.bin"))?.size, big.length);
      assert.equal(
        sha256(big),
        sha256(
          new Uint8Array(
            await new Response(await (await view.open("/big.bin")).stream()).arrayBuffer(),
          ),
        ),
      );
    } finally {
      await registry.stop();
      await s.close();
    }
  });
});

/** Whether some process still runs with `dir` on its command line (e.g. `tar -C dir/...`). */
async function tarsUnder(dir: string): Promise<boolean> {
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`).catch(() => "");
    if (cmdline.startsWith("tar\0") && cmdline.includes(dir)) return true;
  }
  return false;
}
