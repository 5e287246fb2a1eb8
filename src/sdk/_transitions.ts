// The legal moves between image states; runs check their own against it.
import { ContreeImageStateError } from "./errors.ts";
import type { ImageState } from "./state.ts";

const TRANSITIONS: Record<ImageState, readonly ImageState[]> = {
  PULLED: ["PREPARED"],
  PREPARED: ["PREPARED", "EXECUTING", "FAILED"],
  EXECUTING: ["SUCCEEDED", "FAILED"],
  SUCCEEDED: ["PREPARED"],
  FAILED: [],
};

/**
 * Checks that `from` may move to `to`, throwing a {@linkcode ContreeImageStateError}
 * that names the image when it may not. Internal: runs call it on their transitions.
 */
export function assertTransition(
  from: ImageState,
  to: ImageState,
  imageUuid: string | undefined,
): void {
  if (!TRANSITIONS[from].includes(to)) {
    throw new ContreeImageStateError(
      `cannot move from ${from} to ${to}`,
      imageUuid,
      from,
      [...TRANSITIONS[from]],
    );
  }
}
