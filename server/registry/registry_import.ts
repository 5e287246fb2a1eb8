/** Importing an image from an OCI distribution registry into the LayerStore. */
import { RegistryClient } from "./_client.ts";
import {
  hostPlatform,
  isIndexDescriptor,
  parseManifestDocument,
  selectPlatform,
} from "./_manifest.ts";
import { InvalidImageError } from "./errors.ts";
import { MASK } from "./import_request.ts";
import { parseImageReference } from "./reference.ts";
import { cachedImport, planImage, storeImage } from "./_store_image.ts";
import type { ImportOptions } from "./import_options.ts";
import type { ImportResult, Platform, RegistryCredentials } from "./types.ts";

/** Indexes nested in indexes followed at most. */
const MAX_INDEX_DEPTH = 2;

/** Settings of {@linkcode importFromRegistry}. */
export interface RegistryImportOptions extends ImportOptions {
  /**
   * `docker://REGISTRY/PATH:TAG`, `...@sha256:<hex>`, or any shorter form
   * {@linkcode parseImageReference} accepts (`ubuntu:22.04`).
   */
  reference: string;
  /** Sent to the registry (basic) or its token service (bearer); never logged. */
  credentials?: RegistryCredentials;
  /** Registries (`host` or `host:port`) spoken to over plain HTTP; all others need HTTPS. */
  insecureRegistries?: readonly string[];
  /** Platform picked from a multi-platform image (default: this host's, e.g. linux/amd64). */
  platform?: Platform;
}

/** `error` with every occurrence of the credentials in its message replaced by the mask. */
function scrubbed(error: unknown, credentials?: RegistryCredentials): unknown {
  if (!(error instanceof Error)) return error;
  for (const secret of [credentials?.password, credentials?.username]) {
    if (secret && secret.length >= 3) error.message = error.message.replaceAll(secret, MASK);
  }
  return error;
}

/**
 * Imports `options.reference` from its registry: resolves the tag (a manifest list or OCI
 * index gives the manifest of `options.platform`), checks every digest, and stores each layer
 * in the LayerStore in the overlay format (whiteouts and opaque directories converted). An
 * image imported before (same manifest digest) comes back at the cost of a manifest request,
 * and layers already present (same uncompressed digest) are not downloaded again.
 *
 * Rejects with an {@linkcode ImportError} subclass (never mentioning the credentials), or with
 * `options.signal.reason` when aborted; either way nothing half-stored remains.
 *
 * @example
 * ```ts
 * const result = await importFromRegistry({
 *   reference: "docker://127.0.0.1:5000/team/app:1",
 *   insecureRegistries: ["127.0.0.1:5000"],
 *   layerStore,
 *   cache,
 *   signal: AbortSignal.timeout(300_000),
 *   onProgress: (event) => console.log(event.kind),
 * });
 * // result.layers: LayerStore ids, lowest first; result.config.env: the image's Env
 * ```
 */
export async function importFromRegistry(options: RegistryImportOptions): Promise<ImportResult> {
  try {
    return await resolveAndStore(options);
  } catch (error) {
    throw scrubbed(error, options.credentials);
  }
}

async function resolveAndStore(options: RegistryImportOptions): Promise<ImportResult> {
  const reference = parseImageReference(options.reference);
  const name = `${reference.registry}/${reference.repository}`;
  const client = new RegistryClient({
    reference,
    credentials: options.credentials,
    insecureRegistries: options.insecureRegistries ?? [],
    signal: options.signal,
  });
  const platform = options.platform ?? hostPlatform();
  const wanted = reference.digest ?? reference.tag!;
  let what = `${name}${reference.digest ? "@" : ":"}${wanted}`;
  let fetched = await client.manifest(wanted, what);
  let document = parseManifestDocument(fetched.bytes, fetched.contentType, what);
  for (let depth = 0; "index" in document; depth++) {
    if (depth === MAX_INDEX_DEPTH) throw new InvalidImageError(`${what}: indexes nested too deep`);
    const chosen = selectPlatform(document.index, platform, what);
    if (!isIndexDescriptor(chosen)) {
      const known = await cachedImport(chosen.digest, options);
      if (known) return known;
    }
    what = `${name}@${chosen.digest}`;
    fetched = await client.manifest(chosen.digest, what);
    document = parseManifestDocument(fetched.bytes, chosen.mediaType, what);
  }
  const digest = fetched.digest;
  const known = await cachedImport(digest, options);
  if (known) return known;
  const plan = await planImage(
    document.manifest,
    digest,
    what,
    (descriptor, limit, configWhat) => client.blobBytes(descriptor, limit, configWhat),
    (descriptor, layerWhat) => (signal, onBytes) =>
      client.blob(descriptor, layerWhat, signal, onBytes),
  );
  return await storeImage(plan, options);
}
