/** Errors raised while reading images and managing layers. */

/**
 * The path does not exist in the image (HTTP 404).
 *
 * @example
 * ```ts
 * try {
 *   await view.open("/nope");
 * } catch (error) {
 *   if (error instanceof PathNotFoundError) console.log(error.path); // "/nope"
 * }
 * ```
 */
export class PathNotFoundError extends Error {
  /** The path as requested. */
  readonly path: string;

  /** Builds the error for `path`. */
  constructor(path: string) {
    super(`no such file or directory in the image: ${path}`);
    this.name = "PathNotFoundError";
    this.path = path;
  }
}

/**
 * The path exists but cannot serve the request, e.g. downloading a directory (HTTP 422).
 * Subclasses say why.
 *
 * @example
 * ```ts
 * try {
 *   await view.open("/etc");
 * } catch (error) {
 *   if (error instanceof PathNotUsableError) console.log(error.message);
 * }
 * ```
 */
export class PathNotUsableError extends Error {
  /** The path as requested. */
  readonly path: string;

  /** Builds the error for `path` with a reason. */
  constructor(path: string, reason: string) {
    super(`the path is not usable inside the image: ${path}: ${reason}`);
    this.name = "PathNotUsableError";
    this.path = path;
  }
}

/**
 * A directory was required (listing, or a path component) and something else was found.
 *
 * @example
 * ```ts
 * await view.list("/etc/hosts").catch((e) => e instanceof NotADirectoryError); // true
 * ```
 */
export class NotADirectoryError extends PathNotUsableError {
  /** Builds the error for `path`. */
  constructor(path: string) {
    super(path, "not a directory");
    this.name = "NotADirectoryError";
  }
}

/**
 * A regular file was required (download) and something else was found.
 *
 * @example
 * ```ts
 * await view.open("/etc").catch((e) => e instanceof NotAFileError); // true
 * ```
 */
export class NotAFileError extends PathNotUsableError {
  /** Builds the error for `path`. */
  constructor(path: string) {
    super(path, "not a regular file");
    this.name = "NotAFileError";
  }
}

/**
 * Resolving the path followed too many symbolic links (a loop).
 *
 * @example
 * ```ts
 * await view.stat("/loop/x").catch((e) => e instanceof SymlinkLoopError); // true
 * ```
 */
export class SymlinkLoopError extends PathNotUsableError {
  /** Builds the error for `path`. */
  constructor(path: string) {
    super(path, "too many levels of symbolic links");
    this.name = "SymlinkLoopError";
  }
}

/**
 * A layer operation failed: an unknown or malformed layer id, a rootfs that cannot be
 * imported (e.g. a tar member escaping the root), a missing workspace.
 *
 * @example
 * ```ts
 * await store.importRootfs("/nonexistent.tar").catch((e) => e instanceof LayerError); // true
 * ```
 */
export class LayerError extends Error {
  /** Builds the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LayerError";
  }
}
