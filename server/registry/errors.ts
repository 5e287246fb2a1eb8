/**
 * Errors of image imports (from a registry or an archive). Every one extends
 * {@linkcode ImportError}; messages never contain credentials. Cancellation is not an
 * `ImportError`: an aborted import rejects with the signal's reason.
 */

/**
 * Base class of every import failure.
 *
 * @example
 * ```ts
 * try {
 *   await importFromRegistry(options);
 * } catch (error) {
 *   if (error instanceof ImportError) console.log(`import failed: ${error.message}`);
 * }
 * ```
 */
export class ImportError extends Error {
  /** Builds the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ImportError";
  }
}

/**
 * The image reference cannot be parsed (`docker://` with nothing after it, spaces, another
 * scheme, upper-case repository names, a malformed tag or digest).
 *
 * @example
 * ```ts
 * try {
 *   parseImageReference("http://example.com/app");
 * } catch (error) {
 *   console.log(error instanceof InvalidReferenceError); // true
 * }
 * ```
 */
export class InvalidReferenceError extends ImportError {
  /** The reference as given. */
  readonly reference: string;

  /** Builds the error for `reference`. */
  constructor(reference: string, reason: string) {
    super(`invalid image reference ${JSON.stringify(reference)}: ${reason}`);
    this.name = "InvalidReferenceError";
    this.reference = reference;
  }
}

/**
 * The registry could not be reached: DNS, connection refused, TLS failure (e.g. a plain
 * HTTP registry not listed as insecure), or the connection broke mid-transfer.
 *
 * @example
 * ```ts
 * await importFromRegistry({ ...options, reference: "docker://127.0.0.1:1/x:y" })
 *   .catch((e) => e instanceof RegistryUnreachableError); // true
 * ```
 */
export class RegistryUnreachableError extends ImportError {
  /** Builds the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RegistryUnreachableError";
  }
}

/**
 * The registry (or its token service) refused the credentials, or demands credentials that
 * were not given, or denies access to the repository.
 *
 * @example
 * ```ts
 * await importFromRegistry({ ...options, credentials: { username: "u", password: "bad" } })
 *   .catch((e) => e instanceof RegistryAuthError); // true
 * ```
 */
export class RegistryAuthError extends ImportError {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = "RegistryAuthError";
  }
}

/**
 * The image does not exist: unknown repository, tag or digest, or no such image in an
 * archive.
 *
 * @example
 * ```ts
 * await importFromRegistry({ ...options, reference: "docker://127.0.0.1:5000/app:nope" })
 *   .catch((e) => e instanceof ImageNotFoundError); // true
 * ```
 */
export class ImageNotFoundError extends ImportError {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = "ImageNotFoundError";
  }
}

/**
 * Content does not match its digest (or its declared size): a manifest, a config, a
 * compressed blob or an uncompressed layer (`diff_id`). Nothing of it is kept.
 *
 * @example
 * ```ts
 * await importFromRegistry(options).catch((e) => {
 *   if (e instanceof DigestMismatchError) console.log(e.expected, e.actual);
 * });
 * ```
 */
export class DigestMismatchError extends ImportError {
  /** The digest the content should have. */
  readonly expected: string;
  /** The digest (or `"<N bytes>"` for a size mismatch) the content has. */
  readonly actual: string;

  /** Builds the error for content described as `what`. */
  constructor(what: string, expected: string, actual: string) {
    super(`${what}: content does not match its digest (expected ${expected}, got ${actual})`);
    this.name = "DigestMismatchError";
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * The image is valid but cannot be imported here: a Docker schema 1 manifest, an artifact
 * that is not a container image, no manifest for the wanted platform, an unknown layer
 * media type or compression.
 *
 * @example
 * ```ts
 * await importFromRegistry({ ...options, platform: { os: "linux", architecture: "s390x" } })
 *   .catch((e) => e instanceof UnsupportedImageError); // true when the image has no s390x
 * ```
 */
export class UnsupportedImageError extends ImportError {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = "UnsupportedImageError";
  }
}

/**
 * The image is malformed: a manifest, index, config or archive that does not parse or
 * breaks the format's rules, or a layer tar that is corrupt or escapes its root.
 *
 * @example
 * ```ts
 * await importArchive({ ...options, path: "/etc/hostname" })
 *   .catch((e) => e instanceof InvalidImageError); // true
 * ```
 */
export class InvalidImageError extends ImportError {
  /** Builds the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InvalidImageError";
  }
}

/**
 * The registry answered with an unexpected HTTP status (e.g. 429 rate limit or a 5xx).
 *
 * @example
 * ```ts
 * await importFromRegistry(options).catch((e) => {
 *   if (e instanceof RegistryResponseError) console.log(e.status); // e.g. 503
 * });
 * ```
 */
export class RegistryResponseError extends ImportError {
  /** The HTTP status. */
  readonly status: number;

  /** Builds the error. */
  constructor(status: number, message: string) {
    super(message);
    this.name = "RegistryResponseError";
    this.status = status;
  }
}
