// importArchive: `docker save` tarballs and OCI image layouts (directory, tar, tar.gz) written
// here, checked through ImageView and a sandbox; caching shared with registry imports; errors.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  DigestMismatchError,
  ImageNotFoundError,
  importArchive,
  type ImportProgress,
  InvalidImageError,
} from "../../server/registry/mod.ts";
import {
  assertChangedImage,
  buildImage,
  type BuiltImage,
  busyboxTar,
  changeLayers,
  makeStore,
  sha256,
  type Store,
  tarOf,
  writeDockerSave,
  writeOciLayout,
} from "./_registry.ts";

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

async function tarDir(dir: string, path: string, gzip = false): Promise<void> {
  const args = ["-c", ...(gzip ? ["-z"] : []), "-f", path, "-C", dir, "."];
  const out = await new Deno.Command("tar", { args, stderr: "piped" }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}

describe("importArchive", () => {
  let work: string;
  let image: BuiltImage;
  const stores: Store[] = [];
  const store = async () => {
    const s = await makeStore();
    stores.push(s);
    return s;
  };

  before(async () => {
    work = await Deno.makeTempDir({ prefix: "contree-archives-" });
    const layers = [await busyboxTar(), ...changeLayers()];
    // The last layer twice: docker save stores the repeat as a symlink; applying it twice
    // changes nothing, so the image has one LayerStore layer for both.
    image = buildImage({ layers: [...layers, layers[3]], env: ["A=1"] });
  });
  after(async () => {
    await Deno.remove(work, { recursive: true });
    for (const s of stores) await s.close();
  });

  it("imports a docker save tarball, keyed by its config digest", async () => {
    const path = `${work}/save.tar`;
    await writeDockerSave(path, image, "team/app:1");
    const s = await store();
    const result = await importArchive({ path, layerStore: s.layerStore, cache: s.cache });
    assert.equal(result.digest, image.config.digest);
    assert.deepEqual(result.config.env, { A: "1" });
    assert.equal(result.layers.length, 4);
    await assertChangedImage(s.layerStore, result.layers);
    const again = await importArchive({ path, layerStore: s.layerStore, cache: s.cache });
    assert.deepEqual(again, { ...result, cached: true });
    assert.deepEqual(await s.garbage(), []);
  });

  it("imports an OCI layout as a directory, a tar and a tar.gz with one result", async () => {
    const dir = `${work}/layout`;
    await writeOciLayout(dir, image, "team/app:1");
    await tarDir(dir, `${work}/layout.tar`);
    await tarDir(dir, `${work}/layout.tar.gz`, true);
    const s = await store();
    const fromDir = await importArchive({ path: dir, layerStore: s.layerStore, cache: s.cache });
    assert.equal(fromDir.digest, image.manifest.digest);
    await assertChangedImage(s.layerStore, fromDir.layers);
    for (const path of [`${work}/layout.tar`, `${work}/layout.tar.gz`]) {
      const fresh = await store();
      const result = await importArchive({
        path,
        layerStore: fresh.layerStore,
        cache: fresh.cache,
      });
      assert.equal(result.digest, image.manifest.digest);
      await assertChangedImage(fresh.layerStore, result.layers);
      assert.deepEqual(await fresh.garbage(), []);
      const again = await importArchive({ path, layerStore: s.layerStore, cache: s.cache });
      assert.deepEqual(again, { ...fromDir, cached: true });
    }
    assert.deepEqual(await s.garbage(), []);
  });

  it("shares layers between archive formats: the second unpacks nothing", async () => {
    const save = `${work}/shared-save.tar`;
    const layout = `${work}/shared-layout`;
    await writeDockerSave(save, image, "team/app:1");
    await writeOciLayout(layout, image, "team/app:1");
    const s = await store();
    const first = await importArchive({ path: save, layerStore: s.layerStore, cache: s.cache });
    const events: ImportProgress[] = [];
    const second = await importArchive({
      path: layout,
      layerStore: s.layerStore,
      cache: s.cache,
      onProgress: (event) => events.push(event),
    });
    assert.deepEqual(second.layers, first.layers);
    assert.notEqual(second.digest, first.digest);
    const states = events.flatMap((e) => e.kind === "layer" ? [e.state] : []);
    assert.deepEqual(states, ["cached", "cached", "cached", "cached", "cached"]);
  });

  it("picks an image by name from an archive holding several", async () => {
    const other = buildImage({ layers: [tarOf([{ name: "other.txt", content: "other\n" }])] });
    const dir = `${work}/two`;
    await Deno.mkdir(dir);
    const oneDir = `${work}/two-a`;
    const twoDir = `${work}/two-b`;
    await writeDockerSave(`${oneDir}.tar`, image, "team/app:1");
    await writeDockerSave(`${twoDir}.tar`, other, "docker.io/library/other:2");
    // Merge both saves into one archive with two images in manifest.json.
    for (const path of [`${oneDir}.tar`, `${twoDir}.tar`]) {
      const out = await new Deno.Command("tar", { args: ["-x", "-f", path, "-C", dir] }).output();
      assert.ok(out.success);
    }
    const manifest = [
      {
        Config: `${image.config.digest.slice(7)}.json`,
        RepoTags: ["team/app:1"],
        Layers: [] as string[],
      },
      {
        Config: `${other.config.digest.slice(7)}.json`,
        RepoTags: ["other:2"],
        Layers: [] as string[],
      },
    ];
    const extract = async (path: string) =>
      JSON.parse(
        new TextDecoder().decode(
          (await new Deno.Command("tar", {
            args: ["-x", "-O", "-f", path, "./manifest.json"],
            stdout: "piped",
          })
            .output()).stdout,
        ),
      )[0].Layers;
    manifest[0].Layers = await extract(`${oneDir}.tar`);
    manifest[1].Layers = await extract(`${twoDir}.tar`);
    await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify(manifest));
    const path = `${work}/two.tar`;
    await tarDir(dir, path);
    const s = await store();
    await rejects(
      importArchive({ path, layerStore: s.layerStore, cache: s.cache }),
      ImageNotFoundError,
      /holds 2 images \(team\/app:1, other:2\)/,
    );
    await rejects(
      importArchive({ path, name: "nope:1", layerStore: s.layerStore, cache: s.cache }),
      ImageNotFoundError,
      /no image named nope:1/,
    );
    const picked = await importArchive({
      path,
      name: "docker.io/library/other:2",
      layerStore: s.layerStore,
      cache: s.cache,
    });
    assert.equal(picked.digest, other.config.digest);
    assert.equal(picked.layers.length, 1);
  });

  it("fails missing paths, non-archives and tampered content, keeping nothing", async () => {
    const s = await store();
    const opts = (path: string) => ({ path, layerStore: s.layerStore, cache: s.cache });
    await rejects(importArchive(opts(`${work}/missing.tar`)), ImageNotFoundError, /cannot open/);
    const junk = `${work}/junk.bin`;
    await Deno.writeFile(junk, crypto.getRandomValues(new Uint8Array(4096)));
    await rejects(importArchive(opts(junk)), InvalidImageError);
    const notImage = `${work}/not-image.tar`;
    await Deno.writeFile(notImage, tarOf([{ name: "hello.txt", content: "hi" }]));
    await rejects(importArchive(opts(notImage)), InvalidImageError, /neither an OCI image layout/);

    // A flipped byte in an OCI blob.
    const layout = `${work}/tampered-layout`;
    await writeOciLayout(layout, image, "x:1");
    const blob = `${layout}/blobs/sha256/${image.layers[1].digest.slice(7)}`;
    const bytes = await Deno.readFile(blob);
    bytes[bytes.length - 30] ^= 0xff;
    await Deno.writeFile(blob, bytes);
    await rejects(importArchive(opts(layout)), DigestMismatchError, /layer 1/);

    // A docker save whose layer tar is not the one the config names (diff_id mismatch).
    const wrong = buildImage({ layers: [tarOf([{ name: "a", content: "a" }])] });
    const swapped = { ...wrong, tars: [tarOf([{ name: "a", content: "b" }])] };
    await writeDockerSave(`${work}/swapped.tar`, swapped, "x:1");
    const error = await rejects(
      importArchive(opts(`${work}/swapped.tar`)),
      DigestMismatchError,
      /uncompressed/,
    );
    assert.equal(error.expected, wrong.diffIds[0]);
    assert.equal(error.actual, sha256(swapped.tars[0]));
    assert.deepEqual(await s.garbage(), []);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(`${s.dataDir}/imports/images`)), []);
  });
});
