/**
 * The operation statuses as values, for code that validates or branches on them (the
 * client's schemas, the local backend's query parameters and state machine).
 *
 * @module
 */
import type { OperationStatus, TerminalStatus } from "./types.ts";

/**
 * Every operation status, in lifecycle order.
 *
 * @example
 * ```ts
 * import { OPERATION_STATUSES } from "@contree/sdk";
 *
 * const valid = (text: string) => (OPERATION_STATUSES as readonly string[]).includes(text);
 * ```
 */
export const OPERATION_STATUSES: readonly OperationStatus[] = [
  "PENDING",
  "ASSIGNED",
  "EXECUTING",
  "SUCCESS",
  "FAILED",
  "CANCELLED",
];

/**
 * The statuses after which an operation changes no more.
 *
 * @example
 * ```ts
 * import { TERMINAL_STATUSES } from "@contree/sdk";
 *
 * console.log(TERMINAL_STATUSES); // ["SUCCESS", "FAILED", "CANCELLED"]
 * ```
 */
export const TERMINAL_STATUSES: readonly TerminalStatus[] = ["SUCCESS", "FAILED", "CANCELLED"];

/**
 * Whether `status` is terminal (`SUCCESS`, `FAILED` or `CANCELLED`).
 *
 * @example
 * ```ts
 * import { isTerminalStatus } from "@contree/sdk";
 *
 * console.log(isTerminalStatus("EXECUTING")); // false
 * ```
 */
export function isTerminalStatus(status: string): status is TerminalStatus {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}
