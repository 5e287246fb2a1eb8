/**
 * Image manifests, indexes and configs (OCI image spec and Docker v2 schema 2), validated
 * with valibot: parsing, platform selection and the checks an import needs.
 */
import * as v from "valibot";
import { InvalidImageError, UnsupportedImageError } from "./errors.ts";
import type { ImageConfig, Platform } from "./types.ts";

/** Media types of manifests and indexes, in the order registries are asked for them. */
export const MANIFEST_MEDIA_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
] as const;

const INDEX_TYPES = new Set<string>(MANIFEST_MEDIA_TYPES.slice(0, 2));
const IMAGE_TYPES = new Set<string>(MANIFEST_MEDIA_TYPES.slice(2));
const CONFIG_TYPES = new Set([
  "application/vnd.oci.image.config.v1+json",
  "application/vnd.docker.container.image.v1+json",
]);
const LAYER_TYPES = new Set([
  "application/vnd.oci.image.layer.v1.tar",
  "application/vnd.oci.image.layer.v1.tar+gzip",
  "application/vnd.oci.image.layer.v1.tar+zstd",
  "application/vnd.oci.image.layer.nondistributable.v1.tar",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
  "application/vnd.docker.image.rootfs.diff.tar",
  "application/vnd.docker.image.rootfs.diff.tar.gzip",
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
]);

/** Largest manifest or index accepted (the distribution spec's recommended limit). */
export const MAX_MANIFEST_BYTES = 4 << 20;
/** Largest image config accepted. */
export const MAX_CONFIG_BYTES = 32 << 20;

const Digest = v.pipe(v.string(), v.regex(/^(?:sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/));

const PlatformSchema = v.object({
  os: v.string(),
  architecture: v.string(),
  variant: v.optional(v.string()),
});

const DescriptorSchema = v.object({
  mediaType: v.string(),
  digest: Digest,
  size: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  platform: v.optional(PlatformSchema),
  annotations: v.optional(v.record(v.string(), v.string())),
});

/** A content descriptor (OCI image spec): what a manifest or index points at. */
export type Descriptor = v.InferOutput<typeof DescriptorSchema>;

const IndexSchema = v.object({
  schemaVersion: v.literal(2),
  mediaType: v.optional(v.string()),
  manifests: v.array(DescriptorSchema),
});

/** An OCI image index or a Docker manifest list. */
export type Index = v.InferOutput<typeof IndexSchema>;

const ManifestSchema = v.object({
  schemaVersion: v.literal(2),
  mediaType: v.optional(v.string()),
  config: DescriptorSchema,
  layers: v.array(DescriptorSchema),
});

/** An OCI image manifest or a Docker v2 schema 2 manifest. */
export type Manifest = v.InferOutput<typeof ManifestSchema>;

const StringList = v.optional(v.nullable(v.array(v.string())), null);
const ConfigSchema = v.object({
  os: v.optional(v.string(), ""),
  architecture: v.optional(v.string(), ""),
  config: v.optional(
    v.nullable(v.object({
      Env: StringList,
      WorkingDir: v.optional(v.nullable(v.string()), null),
      User: v.optional(v.nullable(v.string()), null),
      Entrypoint: StringList,
      Cmd: StringList,
      Labels: v.optional(v.nullable(v.record(v.string(), v.string())), null),
    })),
    null,
  ),
  rootfs: v.object({ type: v.literal("layers"), diff_ids: v.array(Digest) }),
});

const PROBE = v.object({
  schemaVersion: v.optional(v.number()),
  mediaType: v.optional(v.string()),
  manifests: v.optional(v.unknown()),
  layers: v.optional(v.unknown()),
});

function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new InvalidImageError(`${what}: not JSON: ${(error as Error).message}`);
  }
}

function validate<T extends v.GenericSchema>(schema: T, value: unknown, what: string) {
  const result = v.safeParse(schema, value);
  if (!result.success) {
    const issue = result.issues[0];
    const path = v.getDotPath(issue) ?? "(root)";
    throw new InvalidImageError(`${what}: ${path}: ${issue.message}`);
  }
  return result.output as v.InferOutput<T>;
}

/**
 * Parses a manifest or an index; `contentType` (the HTTP header, or the descriptor's media
 * type) settles documents without a `mediaType` field. Throws
 * {@linkcode UnsupportedImageError} for schema 1 manifests and unknown media types.
 */
export function parseManifestDocument(
  bytes: Uint8Array,
  contentType: string,
  what: string,
): { index: Index } | { manifest: Manifest } {
  const json = parseJson(bytes, what);
  const probe = validate(PROBE, json, what);
  if (probe.schemaVersion === 1) {
    throw new UnsupportedImageError(`${what}: Docker schema 1 manifests are not supported`);
  }
  const type = probe.mediaType ?? contentType.split(";")[0].trim();
  const known = INDEX_TYPES.has(type) || IMAGE_TYPES.has(type);
  if (INDEX_TYPES.has(type) || (!known && probe.manifests !== undefined)) {
    return { index: validate(IndexSchema, json, what) };
  }
  if (IMAGE_TYPES.has(type) || (!known && probe.layers !== undefined)) {
    return { manifest: validate(ManifestSchema, json, what) };
  }
  throw new UnsupportedImageError(`${what}: unsupported manifest media type ${type}`);
}

/** Whether a descriptor points at an index (which then needs a platform chosen). */
export function isIndexDescriptor(descriptor: Descriptor): boolean {
  return INDEX_TYPES.has(descriptor.mediaType);
}

function normalizeArch(arch: string): string {
  return arch === "x86_64" ? "amd64" : arch === "aarch64" ? "arm64" : arch;
}

/** The platform of this host: `linux` and its CPU in OCI spelling. */
export function hostPlatform(): Platform {
  return { os: "linux", architecture: normalizeArch(Deno.build.arch) };
}

function platformName(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join("/");
}

/**
 * The entry of `index` for `platform`: os and architecture equal, the variant too when the
 * platform names one (arm64 entries without a variant count as `v8`); among several, one
 * without a variant first. An index with one entry and no platforms gives that entry.
 * Throws {@linkcode UnsupportedImageError} listing what the index offers.
 */
export function selectPlatform(index: Index, platform: Platform, what: string): Descriptor {
  const entries = index.manifests.filter((d) =>
    IMAGE_TYPES.has(d.mediaType) || isIndexDescriptor(d)
  );
  if (entries.length === 1 && entries[0].platform === undefined) return entries[0];
  const wantedArch = normalizeArch(platform.architecture);
  const matches = entries.filter((d) => {
    const p = d.platform;
    if (!p || p.os !== platform.os || normalizeArch(p.architecture) !== wantedArch) return false;
    if (platform.variant === undefined) return true;
    return (p.variant ?? (wantedArch === "arm64" ? "v8" : undefined)) === platform.variant;
  });
  const best = matches.find((d) => d.platform?.variant === undefined) ?? matches[0];
  if (best) return best;
  const offered = entries.map((d) => d.platform ? platformName(d.platform) : "(no platform)");
  throw new UnsupportedImageError(
    `${what}: no image for ${platformName(platform)} (the index has ${
      offered.join(", ") || "no images"
    })`,
  );
}

/** Checks that `manifest` describes a container image whose layers can be unpacked. */
export function checkImageManifest(manifest: Manifest, what: string): void {
  if (!CONFIG_TYPES.has(manifest.config.mediaType)) {
    throw new UnsupportedImageError(
      `${what}: not a container image (config media type ${manifest.config.mediaType})`,
    );
  }
  for (const layer of manifest.layers) {
    if (!LAYER_TYPES.has(layer.mediaType)) {
      throw new UnsupportedImageError(`${what}: unsupported layer media type ${layer.mediaType}`);
    }
  }
}

function envMap(entries: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of entries) {
    const equals = entry.indexOf("=");
    if (equals > 0) env[entry.slice(0, equals)] = entry.slice(equals + 1);
  }
  return env;
}

/** A config's `WorkingDir` as an absolute path (`""` stays: no working directory). */
function absoluteWorkdir(dir: string): string {
  return dir === "" || dir.startsWith("/") ? dir : `/${dir}`;
}

/** Parses an image config: its runtime settings and the digests of its uncompressed layers. */
export function parseImageConfig(
  bytes: Uint8Array,
  what: string,
): { config: ImageConfig; diffIds: string[] } {
  const parsed = validate(ConfigSchema, parseJson(bytes, what), what);
  const settings = parsed.config;
  return {
    config: {
      env: envMap(settings?.Env ?? []),
      // Docker resolves a relative WORKDIR against "/" when there is none before it.
      workdir: absoluteWorkdir(settings?.WorkingDir ?? ""),
      user: settings?.User ?? "",
      entrypoint: settings?.Entrypoint ?? [],
      cmd: settings?.Cmd ?? [],
      labels: settings?.Labels ?? {},
      os: parsed.os,
      architecture: parsed.architecture,
    },
    diffIds: parsed.rootfs.diff_ids,
  };
}

/** Parses a JSON document of the archive or registry formats with `schema`. */
export function parseJsonDocument<T extends v.GenericSchema>(
  schema: T,
  bytes: Uint8Array,
  what: string,
): v.InferOutput<T> {
  return validate(schema, parseJson(bytes, what), what);
}
