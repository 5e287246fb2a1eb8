/**
 * The lifecycle of image-like objects (its legal transitions are in `_transitions.ts`).
 *
 * @module
 */

/**
 * Where an image or a run is in its lifecycle.
 *
 * An image from `images.use()` starts `PULLED`; `run()` gives a `PREPARED`
 * run, executing it moves through `EXECUTING` to `SUCCEEDED` or `FAILED`.
 *
 * @example
 * ```ts
 * import { ImageState } from "@contree/sdk";
 *
 * const finished = (state: ImageState) =>
 *   state === ImageState.SUCCEEDED || state === ImageState.FAILED;
 * ```
 */
export const ImageState = {
  /** An existing image, not prepared for a run. */
  PULLED: "PULLED",
  /** A run prepared from an image, not yet started. */
  PREPARED: "PREPARED",
  /** A run whose operation is in flight. */
  EXECUTING: "EXECUTING",
  /** A run that completed (whatever its exit code), or its result image. */
  SUCCEEDED: "SUCCEEDED",
  /** A run that ended without a result: failed, cancelled, timed out, or refused to start. */
  FAILED: "FAILED",
} as const;

/**
 * One of the {@linkcode ImageState} values.
 *
 * @example
 * ```ts
 * import type { ImageState } from "@contree/sdk";
 *
 * const label = (state: ImageState) => state.toLowerCase();
 * ```
 */
export type ImageState = typeof ImageState[keyof typeof ImageState];
