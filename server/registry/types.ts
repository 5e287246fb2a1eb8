/** What an image import takes and gives: platform, credentials, progress and result. */

/** An OS and CPU an image is built for (`linux`/`amd64`, `linux`/`arm64`/`v8`). */
export interface Platform {
  /** `linux`. */
  os: string;
  /** CPU in OCI spelling: `amd64`, `arm64`, `arm`, ... */
  architecture: string;
  /** CPU variant (`v7`, `v8`); matched only when given. */
  variant?: string;
}

/** Registry credentials; empty strings count as absent (MCP sends them when anonymous). */
export interface RegistryCredentials {
  /** User name. */
  username?: string;
  /** Password or access token. */
  password?: string;
}

/** The runtime settings of an image, from its config (`config.Env`, `WorkingDir`, ...). */
export interface ImageConfig {
  /** `Env`, as a map (`KEY=VALUE` entries; later duplicates win). */
  env: Record<string, string>;
  /** `WorkingDir`; `""` when unset. */
  workdir: string;
  /** `User` (`name`, `uid`, `uid:gid`, ...); `""` when unset. */
  user: string;
  /** `Entrypoint`; empty when unset. */
  entrypoint: string[];
  /** `Cmd`; empty when unset. */
  cmd: string[];
  /** `Labels`. */
  labels: Record<string, string>;
  /** The OS the config declares. */
  os: string;
  /** The CPU the config declares. */
  architecture: string;
}

/** The outcome of an import: what the API needs to create the image row. */
export interface ImportResult {
  /**
   * Digest of the image manifest (the platform's manifest, not an index); for a `docker save`
   * archive without one, the digest of the image config (its image ID).
   */
  digest: string;
  /** LayerStore layer ids, lowest first. */
  layers: string[];
  /** The image's runtime settings. */
  config: ImageConfig;
  /** Bytes of the image's files and symlinks (sum over its layers). */
  size: number;
  /** `true` when the whole image was already imported (nothing was downloaded or unpacked). */
  cached: boolean;
}

/**
 * Progress of an import, as events: the manifest is resolved, each layer is found in the
 * cache or downloaded (with byte counts now and then) and unpacked, the import is done.
 */
export type ImportProgress =
  | {
    kind: "manifest";
    /** Image manifest digest (see {@linkcode ImportResult.digest}). */
    digest: string;
    /** Layers of the image. */
    layers: number;
    /** Bytes of all its layer blobs (as stored, i.e. compressed). */
    bytes: number;
  }
  | {
    kind: "layer";
    /** Position of the layer, 0 = lowest. */
    index: number;
    /** Uncompressed digest of the layer (its `diff_id`). */
    diffId: string;
    /** `cached`: already unpacked; `downloading`: bytes are flowing; `done`: unpacked. */
    state: "cached" | "downloading" | "done";
    /** Blob bytes received so far. */
    received: number;
    /** Blob size when known, else 0. */
    size: number;
  }
  | {
    kind: "done";
    digest: string;
    /** See {@linkcode ImportResult.cached}. */
    cached: boolean;
  };
