// Registry import speed: a real docker-registry on loopback serves an image of busybox plus
// layers of many small text files and a few large files (half compressible, half random),
// gzip-compressed. Prints, as medians over rounds (each into a fresh data directory):
// - plain download throughput of the layer blobs (fetch, discard) as the network ceiling, and
//   GNU `tar -xzf` of the same blobs from disk (all at once) as the unpacking floor;
// - first-import throughput, in MB/s of layer blobs and of unpacked layer data, and the time
//   spent handing unpacked layers to the LayerStore (adoptRootfs: a scan and a rename),
//   summed over layers unpacked in parallel, as a share of the import;
// - re-import time of the unchanged image, and its ratio to the first import (target < 5%).
//   deno run -A bench/server_import.ts [ROUNDS] [MB_OF_LAYER_DATA]
import { LayerStore } from "../server/images/layer_store.ts";
import { ImportCache, importFromRegistry } from "../server/registry/mod.ts";
import { buildImage, busyboxTar, startRegistry, tarOf } from "../tests/server/_registry.ts";
import type { Entry } from "../tests/server/_registry.ts";
import { median, time } from "./server_util.ts";

const rounds = Math.max(3, Number(Deno.args[0] ?? 3));
const megabytes = Math.max(16, Number(Deno.args[1] ?? 128));
const MB = 1 << 20;

/** A LayerStore that times the calls handing it unpacked layers. */
class TimedLayerStore extends LayerStore {
  handMs = 0;

  override async adoptRootfs(source: string): Promise<string> {
    const start = performance.now();
    try {
      return await super.adoptRootfs(source);
    } finally {
      this.handMs += performance.now() - start;
    }
  }
}

function randomBytes(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) out.set(crypto.getRandomValues(new Uint8Array(65536)), i);
  return out;
}

/** A layer of `count` small text files of 1-16 KiB in 50 directories. */
function smallFiles(count: number, seed: number): Uint8Array {
  const entries: Entry[] = [];
  const words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"];
  for (let d = 0; d < 50; d++) entries.push({ name: `src${seed}/d${d}`, type: "dir" });
  for (let i = 0; i < count; i++) {
    const size = 1024 + ((i * 7919) % 15360);
    let text = "";
    while (text.length < size) text += `${words[(i + text.length) % 8]} ${i} ${text.length}\n`;
    entries.push({ name: `src${seed}/d${i % 50}/f${i}.txt`, content: text.slice(0, size) });
  }
  return tarOf(entries);
}

function bigFiles(total: number): Uint8Array {
  const half = Math.floor(total / 2);
  const text = new TextEncoder().encode("compressible line of text 0123456789\n".repeat(half / 37));
  return tarOf([
    { name: "data", type: "dir" },
    { name: "data/random.bin", content: randomBytes(half) },
    { name: "data/text.log", content: text },
  ]);
}

console.log(`building the image (${megabytes} MB of layer data)...`);
const smallCount = Math.floor((megabytes * MB) / 4 / 8704);
const layers = [
  await busyboxTar(),
  smallFiles(smallCount, 1),
  bigFiles((megabytes * MB) / 2),
  smallFiles(smallCount, 2),
];
const image = buildImage({ layers });
const blobBytes = image.layers.reduce((n, b) => n + b.size, 0);
const tarBytes = layers.reduce((n, t) => n + t.length, 0);
const registry = await startRegistry();
const blobDir = await Deno.makeTempDir({ prefix: "contree-bench-blobs-" });
try {
  await registry.pushImage("bench/app", "1", image);
  const reference = `docker://${registry.host}/bench/app:1`;

  for (const [i, b] of image.layers.entries()) {
    await Deno.writeFile(`${blobDir}/${i}.tar.gz`, b.bytes);
  }
  const untar: number[] = [];
  const download: number[] = [];
  const first: number[] = [];
  const handShare: number[] = [];
  const again: number[] = [];
  for (let round = 0; round < rounds; round++) {
    download.push(
      await time(async () => {
        await Promise.all(image.layers.map(async (b) => {
          const res = await fetch(`http://${registry.host}/v2/bench/app/blobs/${b.digest}`);
          for await (const _ of res.body!) { /* discard */ }
        }));
      }),
    );
    const target = await Deno.makeTempDir({ prefix: "contree-bench-untar-" });
    untar.push(
      await time(() =>
        Promise.all(image.layers.map(async (_, i) => {
          await Deno.mkdir(`${target}/${i}`);
          const args = ["-x", "-z", "-p", "--numeric-owner", "-f", `${blobDir}/${i}.tar.gz`];
          const out = await new Deno.Command("tar", { args: [...args, "-C", `${target}/${i}`] })
            .output();
          if (!out.success) throw new Error("tar -xzf failed");
        }))
      ),
    );
    await Deno.remove(target, { recursive: true });
    const dataDir = await Deno.makeTempDir({ prefix: "contree-bench-import-" });
    try {
      const layerStore = new TimedLayerStore(dataDir);
      await layerStore.init();
      const cache = new ImportCache(`${dataDir}/imports`);
      await cache.init();
      const options = { reference, insecureRegistries: ["127.0.0.1"], layerStore, cache };
      const firstMs = await time(() => importFromRegistry(options));
      first.push(firstMs);
      handShare.push(layerStore.handMs / firstMs);
      again.push(await time(() => importFromRegistry(options)));
    } finally {
      await Deno.remove(dataDir, { recursive: true });
    }
  }
  const rate = (bytes: number, ms: number) => (bytes / MB / (ms / 1000)).toFixed(1);
  console.log(
    `image: ${image.layers.length} layers, ${(blobBytes / MB).toFixed(1)} MB of gzip blobs, ` +
      `${(tarBytes / MB).toFixed(1)} MB unpacked; ${rounds} rounds`,
  );
  console.log(
    `download only:  median ${median(download).toFixed(0)} ms = ${
      rate(blobBytes, median(download))
    } MB/s of blobs`,
  );
  console.log(
    `tar -xzf floor:  median ${median(untar).toFixed(0)} ms = ${
      rate(tarBytes, median(untar))
    } MB/s unpacked`,
  );
  console.log(
    `first import:   median ${median(first).toFixed(0)} ms = ${
      rate(blobBytes, median(first))
    } MB/s ` +
      `of blobs, ${rate(tarBytes, median(first))} MB/s unpacked ` +
      `(${(median(handShare) * 100).toFixed(0)}% handing layers to the LayerStore)`,
  );
  console.log(
    `re-import:      median ${median(again).toFixed(1)} ms = ` +
      `${((median(again) / median(first)) * 100).toFixed(2)}% of the first import (target < 5%)`,
  );
} finally {
  await registry.stop();
  await Deno.remove(blobDir, { recursive: true });
}
