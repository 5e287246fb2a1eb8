/**
 * Importing an image from an archive into the LayerStore: a `docker save` tarball (its
 * `manifest.json`), or an OCI image layout (`oci-layout`, `index.json`, `blobs/`) as a
 * directory or a tar. Either may be gzip- or zstd-compressed as a whole.
 */
import * as v from "valibot";
import { type ArchiveReader, openArchive, readMember } from "./_archive_reader.ts";
import { digestOf, verifyBytes, verifyingStream } from "./_digest.ts";
import { ImageNotFoundError, InvalidImageError } from "./errors.ts";
import {
  type Descriptor,
  hostPlatform,
  type Index,
  isIndexDescriptor,
  MAX_CONFIG_BYTES,
  MAX_MANIFEST_BYTES,
  parseImageConfig,
  parseJsonDocument,
  parseManifestDocument,
  selectPlatform,
} from "./_manifest.ts";
import { parseImageReference } from "./reference.ts";
import { cachedImport, type ImagePlan, planImage, storeImage } from "./_store_image.ts";
import type { LayerSource } from "./_layer.ts";
import type { ImportOptions } from "./import_options.ts";
import type { ImportResult, Platform } from "./types.ts";

/** Settings of {@linkcode importArchive}. */
export interface ArchiveImportOptions extends ImportOptions {
  /** A `docker save` tar, an OCI layout directory or tar (possibly compressed). */
  path: string;
  /**
   * The image to take when the archive holds several: one of its `RepoTags` (`docker save`)
   * or its `org.opencontainers.image.ref.name` / `io.containerd.image.name` (OCI layout).
   */
  name?: string;
  /** Platform picked from a multi-platform image (default: this host's). */
  platform?: Platform;
}

const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const NAME_ANNOTATIONS = ["io.containerd.image.name", "org.opencontainers.image.ref.name"];
/** Largest `manifest.json`, `index.json` or `oci-layout` read. */
const MAX_METADATA_BYTES = 4 << 20;

const OciLayoutSchema = v.object({ imageLayoutVersion: v.string() });
const DockerSaveSchema = v.array(v.object({
  Config: v.string(),
  RepoTags: v.optional(v.nullable(v.array(v.string())), null),
  Layers: v.array(v.string()),
}));

function blobPath(digest: string): string {
  return `blobs/${digest.replace(":", "/")}`;
}

/** Whether `candidate` names the image `wanted` (literally, or as the same reference). */
function sameName(candidate: string, wanted: string): boolean {
  if (candidate === wanted) return true;
  try {
    const a = parseImageReference(candidate);
    const b = parseImageReference(wanted);
    return a.registry === b.registry && a.repository === b.repository && a.tag === b.tag;
  } catch {
    return false;
  }
}

/** Opens member `name` counting its bytes, checked against `digest` (and `size`) if given. */
function openMember(
  reader: ArchiveReader,
  name: string,
  what: string,
  digest?: string,
  size?: number,
): LayerSource["open"] {
  return async (_signal, onBytes) => {
    const member = await reader.open(name);
    const counted = member.stream.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          onBytes(chunk.length);
          controller.enqueue(chunk);
        },
      }),
    );
    return digest ? counted.pipeThrough(verifyingStream(digest, what, size)) : counted;
  };
}

async function readBlob(
  reader: ArchiveReader,
  descriptor: Descriptor,
  limit: number,
  what: string,
): Promise<Uint8Array> {
  const bytes = await readMember(reader, blobPath(descriptor.digest), limit);
  verifyBytes(bytes, descriptor.digest, what, descriptor.size);
  return bytes;
}

/** The index entry of the image to take: by name, else the only one, else by platform. */
function chooseImage(index: Index, options: ArchiveImportOptions, what: string): Descriptor {
  const names = (d: Descriptor) =>
    NAME_ANNOTATIONS.map((key) => d.annotations?.[key]).filter((n) => n !== undefined);
  let candidates = index.manifests;
  if (options.name !== undefined) {
    candidates = candidates.filter((d) => names(d).some((n) => sameName(n, options.name!)));
    if (candidates.length === 0) {
      const all = index.manifests.flatMap(names);
      throw new ImageNotFoundError(
        `${what}: no image named ${options.name} (it has ${all.join(", ") || "no names"})`,
      );
    }
  }
  if (candidates.length === 1) return candidates[0];
  if (candidates.every((d) => d.platform === undefined)) {
    const all = candidates.flatMap(names);
    throw new ImageNotFoundError(
      `${what}: holds ${candidates.length} images (${all.join(", ")}); name the one to import`,
    );
  }
  return selectPlatform(
    { ...index, manifests: candidates },
    options.platform ?? hostPlatform(),
    what,
  );
}

async function ociPlan(
  reader: ArchiveReader,
  options: ArchiveImportOptions,
): Promise<ImagePlan | ImportResult> {
  const what = options.path;
  parseJsonDocument(OciLayoutSchema, await readMember(reader, "oci-layout", 4096), "oci-layout");
  const indexBytes = await readMember(reader, "index.json", MAX_METADATA_BYTES);
  const top = parseManifestDocument(indexBytes, OCI_INDEX, `${what}: index.json`);
  if (!("index" in top)) throw new InvalidImageError(`${what}: index.json is not an index`);
  let descriptor = chooseImage(top.index, options, what);
  while (isIndexDescriptor(descriptor)) {
    const bytes = await readBlob(reader, descriptor, MAX_MANIFEST_BYTES, `${what} index`);
    const nested = parseManifestDocument(bytes, descriptor.mediaType, `${what} index`);
    if (!("index" in nested)) {
      throw new InvalidImageError(`${what}: ${descriptor.digest} is not an index`);
    }
    descriptor = selectPlatform(nested.index, options.platform ?? hostPlatform(), what);
  }
  const known = await cachedImport(descriptor.digest, options);
  if (known) return known;
  const manifestWhat = `${what}@${descriptor.digest}`;
  const bytes = await readBlob(reader, descriptor, MAX_MANIFEST_BYTES, manifestWhat);
  const document = parseManifestDocument(bytes, descriptor.mediaType, manifestWhat);
  if (!("manifest" in document)) {
    throw new InvalidImageError(`${manifestWhat}: not an image manifest`);
  }
  return await planImage(
    document.manifest,
    descriptor.digest,
    manifestWhat,
    (d, limit, configWhat) => readBlob(reader, d, limit, configWhat),
    (d, layerWhat) => openMember(reader, blobPath(d.digest), layerWhat, d.digest, d.size),
  );
}

/** The digest a `docker save` member's name promises (`<hex>.json`, `blobs/sha256/<hex>`). */
function digestInName(name: string): string | undefined {
  const match = /(?:^|\/)(?:blobs\/sha256\/)?([0-9a-f]{64})(?:\.json)?$/.exec(name);
  return match ? `sha256:${match[1]}` : undefined;
}

async function dockerSavePlan(
  reader: ArchiveReader,
  options: ArchiveImportOptions,
): Promise<ImagePlan | ImportResult> {
  const what = options.path;
  const images = parseJsonDocument(
    DockerSaveSchema,
    await readMember(reader, "manifest.json", MAX_METADATA_BYTES),
    `${what}: manifest.json`,
  );
  const tags = (i: typeof images[number]) => i.RepoTags ?? [];
  const candidates = options.name === undefined
    ? images
    : images.filter((i) => tags(i).some((t) => sameName(t, options.name!)));
  if (candidates.length !== 1) {
    const all = images.flatMap(tags).join(", ") || "no tags";
    throw new ImageNotFoundError(
      options.name === undefined
        ? `${what}: holds ${images.length} images (${all}); name the one to import`
        : `${what}: no image named ${options.name} (it has ${all})`,
    );
  }
  const image = candidates[0];
  const configBytes = await readMember(reader, image.Config, MAX_CONFIG_BYTES);
  const promised = digestInName(image.Config);
  if (promised) verifyBytes(configBytes, promised, `${what}: ${image.Config}`);
  const digest = digestOf(configBytes);
  const known = await cachedImport(digest, options);
  if (known) return known;
  const { config, diffIds } = parseImageConfig(configBytes, `${what}: ${image.Config}`);
  if (diffIds.length !== image.Layers.length) {
    throw new InvalidImageError(
      `${what}: ${image.Layers.length} layers but ${diffIds.length} diff_ids`,
    );
  }
  const layers: LayerSource[] = [];
  for (const [i, name] of image.Layers.entries()) {
    const { size, stream } = await reader.open(name);
    await stream.cancel();
    const layerWhat = `${what}: ${name}`;
    const open = openMember(reader, name, layerWhat, digestInName(name));
    layers.push({ diffId: diffIds[i], size, what: layerWhat, open });
  }
  return { digest, config, layers };
}

/**
 * Imports the image in the archive at `options.path` (see {@linkcode ArchiveImportOptions}),
 * with the same result, checks and caching as {@linkcode importFromRegistry}: every blob whose
 * digest the archive states is verified, every layer against its `diff_id`. For a
 * `docker save` archive without an OCI index, the result's digest is the config's (the
 * image ID).
 *
 * @example
 * ```ts
 * const result = await importArchive({ path: "./busybox.tar", layerStore, cache });
 * const { env, workdir } = result.config;
 * store.images.insert({ uuid, layers: result.layers, env, workdir, ... });
 * ```
 */
export async function importArchive(options: ArchiveImportOptions): Promise<ImportResult> {
  const reader = await openArchive(options.path, options.cache, options.signal);
  try {
    const oci = await reader.has("oci-layout") && await reader.has("index.json");
    if (!oci && !await reader.has("manifest.json")) {
      throw new InvalidImageError(
        `${options.path}: neither an OCI image layout (oci-layout, index.json) nor a ` +
          "docker save archive (manifest.json)",
      );
    }
    const plan = oci ? await ociPlan(reader, options) : await dockerSavePlan(reader, options);
    return "cached" in plan ? plan : await storeImage(plan, options);
  } finally {
    await reader.close();
  }
}
