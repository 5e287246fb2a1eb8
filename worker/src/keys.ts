/**
 * Gateway API keys: the bearer tokens that clients of the gateway present. They are separate
 * from the upstream ConTree token, which never leaves the gateway.
 *
 * @module
 */
import * as v from "valibot";

/**
 * What a key may do: `read` lists, inspects and downloads; `write` also runs and tags.
 *
 * @example
 * ```ts
 * import type { KeyScope } from "./keys.ts";
 *
 * const canRun = (scope: KeyScope) => scope === "write";
 * ```
 */
export type KeyScope = "read" | "write";

/**
 * One accepted API key.
 *
 * @example
 * ```ts
 * import type { GatewayKey } from "./keys.ts";
 *
 * const viewer: GatewayKey = { key: "k_viewer_0123456789abcdef", scope: "read" };
 * ```
 */
export interface GatewayKey {
  /** The secret itself: 16 to 256 characters of `A-Z a-z 0-9 . _ ~ + / = -`. */
  key: string;
  /** What the key may do. */
  scope: KeyScope;
}

const KEY = v.pipe(
  v.string(),
  v.minLength(16, "a key needs at least 16 characters"),
  v.maxLength(256, "a key has at most 256 characters"),
  v.regex(/^[A-Za-z0-9._~+/=-]+$/, "a key uses only A-Z a-z 0-9 . _ ~ + / = -"),
);

/**
 * The schema of one key: used to check keys given as objects.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { GatewayKeySchema } from "./keys.ts";
 *
 * v.parse(GatewayKeySchema, { key: "k_viewer_0123456789abcdef", scope: "read" });
 * ```
 */
export const GatewayKeySchema: v.GenericSchema<GatewayKey> = v.strictObject({
  key: KEY,
  scope: v.picklist(["read", "write"]),
});

/**
 * Parses a key list as found in `GATEWAY_KEYS`: comma-separated keys, each optionally prefixed
 * with `ro:` (read-only: listings, inspection and downloads) or `rw:` (everything; the default).
 * Blank entries are skipped; a malformed or repeated key throws (without echoing the key).
 *
 * @example
 * ```ts
 * import { parseGatewayKeys } from "./keys.ts";
 *
 * const keys = parseGatewayKeys("k_admin_0123456789abcdef, ro:k_viewer_0123456789abcdef");
 * // [{ key: "k_admin_0123456789abcdef", scope: "write" },
 * //  { key: "k_viewer_0123456789abcdef", scope: "read" }]
 * ```
 */
export function parseGatewayKeys(text: string): GatewayKey[] {
  const keys: GatewayKey[] = [];
  const entries = text.split(",").map((entry) => entry.trim()).filter((entry) => entry !== "");
  entries.forEach((entry, index) => {
    const match = /^(ro|rw):(.*)$/.exec(entry);
    const key = match ? match[2] : entry;
    const parsed = v.safeParse(KEY, key);
    if (!parsed.success) {
      throw new TypeError(`GATEWAY_KEYS entry ${index + 1}: ${parsed.issues[0].message}`);
    }
    if (keys.some((known) => known.key === key)) {
      throw new TypeError(`GATEWAY_KEYS entry ${index + 1}: repeats an earlier key`);
    }
    keys.push({ key, scope: match?.[1] === "ro" ? "read" : "write" });
  });
  return keys;
}

/**
 * Makes a random key (32 bytes, base64url) for scripts and tests.
 *
 * @example
 * ```ts
 * import { generateGatewayKey } from "./keys.ts";
 *
 * console.log(`GATEWAY_KEYS=${generateGatewayKey()},ro:${generateGatewayKey()}`);
 * ```
 */
export function generateGatewayKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const base64 = btoa(String.fromCharCode(...bytes));
  return `gk_${base64.replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "")}`;
}
