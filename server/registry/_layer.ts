/**
 * One layer from blob to LayerStore layer: decompress, check the uncompressed digest,
 * convert whiteouts ({@linkcode overlayTar}), unpack with GNU tar into a temp directory of the
 * cache, hand that to the LayerStore, remember it by `diff_id`. All while streaming; on any
 * failure the temp directory goes and nothing is recorded.
 */
import { opaqueXattr } from "../sandbox/rootless.ts";
import type { LayerStore } from "../images/layer_store.ts";
import type { CachedLayer, ImportCache } from "./cache.ts";
import { decompress } from "./_decompress.ts";
import { verifyingStream } from "./_digest.ts";
import { ImportError, InvalidImageError } from "./errors.ts";
import { overlayTar } from "./_overlay_tar.ts";

/** Where a layer comes from and what it must hash to. */
export interface LayerSource {
  /** Uncompressed digest (the config's `diff_id`): the cache key, checked while unpacking. */
  diffId: string;
  /** Blob size as declared (0 when unknown). */
  size: number;
  /** The layer in error messages, e.g. `layer 2 (sha256:...)`. */
  what: string;
  /**
   * Opens the blob as stored (compressed or not); the stream errors with
   * `DigestMismatchError` when the blob's own digest or size is wrong. `onBytes` sees the
   * length of every chunk read.
   */
  open(signal: AbortSignal, onBytes: (n: number) => void): Promise<ReadableStream<Uint8Array>>;
}

/** Where a layer goes. */
export interface LayerTarget {
  layerStore: LayerStore;
  cache: ImportCache;
  signal: AbortSignal;
}

/**
 * GNU tar, extracting as the LayerStore does (numeric owners, modes) plus the xattrs that
 * matter in a layer: file capabilities, user xattrs and overlayfs' opaque marker.
 */
const TAR_ARGS = [
  "-x",
  "-p",
  "--numeric-owner",
  // GNU tar keeps owners only as uid 0 unless told (see LayerStore's extraction).
  "--same-owner",
  "--xattrs",
  "--xattrs-include=user.*",
  "--xattrs-include=security.capability",
  `--xattrs-include=${opaqueXattr()}`,
  "--warning=no-unknown-keyword",
  "-f",
  "-",
  "-C",
];
/** Lines of tar's stderr kept in an error message. */
const TAR_ERROR_LINES = 5;

async function unpack(
  source: LayerSource,
  target: LayerTarget,
  dir: string,
  onBytes: (n: number) => void,
): Promise<boolean> {
  const { signal } = target;
  const blob = await source.open(signal, onBytes);
  const { stream } = await decompress(blob, source.what);
  const conversion = overlayTar(source.what);
  const child = new Deno.Command("tar", {
    args: [...TAR_ARGS, dir],
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
    signal,
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const piping = stream
    .pipeThrough(verifyingStream(source.diffId, `${source.what} (uncompressed)`))
    .pipeThrough(conversion.stream)
    .pipeTo(child.stdin, { signal })
    .catch((error) => {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already exited.
      }
      throw error;
    });
  const [piped, status] = await Promise.allSettled([piping, child.status]);
  const errors = await stderr;
  signal.throwIfAborted();
  if (piped.status === "rejected" && piped.reason instanceof ImportError) throw piped.reason;
  if (status.status === "rejected" || !status.value.success) {
    const tail = errors.trim().split("\n").slice(-TAR_ERROR_LINES).join("; ");
    throw new InvalidImageError(`${source.what}: cannot unpack: ${tail || "tar failed"}`);
  }
  if (piped.status === "rejected") throw piped.reason;
  return conversion.rootOpaque();
}

/**
 * The LayerStore layer of `source`: from the cache when a layer with its `diff_id` is there
 * (`cached: true`, nothing read), else unpacked and recorded. Concurrent calls for one
 * `diff_id` run one after the other, so the second finds the first's layer.
 */
export function storeLayer(
  source: LayerSource,
  target: LayerTarget,
  onBytes: (n: number) => void,
): Promise<CachedLayer & { cached: boolean }> {
  const { layerStore, cache } = target;
  return cache.exclusive(`layer ${source.diffId}`, async () => {
    const known = await cache.layer(source.diffId, layerStore);
    if (known) return { ...known, cached: true };
    const dir = await cache.tempDir();
    try {
      const rootOpaque = await unpack(source, target, dir, onBytes);
      const layer = await layerStore.adoptRootfs(dir);
      const entry = { layer, rootOpaque };
      await cache.saveLayer(source.diffId, entry);
      return { ...entry, cached: false };
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  });
}
