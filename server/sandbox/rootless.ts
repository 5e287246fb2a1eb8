/**
 * The server without root. An ordinary user's server runs inside a user namespace of its own
 * (made by the helper's `rootless` command with Debian's set-uid `newuidmap`/`newgidmap`):
 * ids 0-65535 there are the user's subordinate ids from /etc/subuid and /etc/subgid, id 65536
 * is the user itself, which the server runs as, holding that namespace's capabilities. Layers
 * are stored with their in-image owners as that namespace sees them, and each sandbox's own
 * user namespace maps 0-65535 onto the same ids, so no id shifting is needed.
 */
import { type IdRange, SANDBOX_IDS } from "./id_range.ts";
import { helperPath } from "./_helper_path.ts";

/** Set (to the host range) in the server's environment inside its user namespace. */
const ENV = "CONTREE_ROOTLESS";

let tunUsable: boolean | undefined;

/**
 * Whether a server without root can give runs networking: pasta, started as the server's
 * user, must open /dev/net/tun (mode 0666 on Debian with udev; some hosts keep it root's).
 */
export function rootlessNetworking(): boolean {
  if (tunUsable === undefined) {
    try {
      Deno.openSync("/dev/net/tun", { read: true, write: true }).close();
      tunUsable = true;
    } catch {
      tunUsable = false;
    }
  }
  return tunUsable;
}

/** What a server without root goes without on this host (named once at start-up). */
export function rootlessUnavailable(): string[] {
  return [
    "per-run memory and process limits (cgroups need root or a delegated cgroup)",
    ...(rootlessNetworking() ? [] : [
      "networking (pasta, run as this user, cannot open /dev/net/tun: make it mode 0666)",
    ]),
  ];
}

/**
 * The host ranges of a server running inside its rootless user namespace, else null (a
 * server running as host root).
 *
 * @example
 * ```ts
 * const host = rootlessHostRange(); // e.g. { uidStart: 300000, gidStart: 300000, count: 65536 }
 * ```
 */
export function rootlessHostRange(): IdRange | null {
  const value = Deno.env.get(ENV);
  const match = value && /^(\d+):(\d+):(\d+)$/.exec(value);
  if (!match) return null;
  return { uidStart: Number(match[1]), gidStart: Number(match[2]), count: Number(match[3]) };
}

/**
 * The xattr overlayfs marks opaque directories with: `trusted.overlay.opaque` as root,
 * `user.overlay.opaque` without root (overlayfs' `userxattr`: trusted.* needs host root).
 */
export function opaqueXattr(): string {
  return rootlessHostRange() ? "user.overlay.opaque" : "trusted.overlay.opaque";
}

/** How this process stores file owners in a data directory (see `claimOwnerIds`). */
export function ownerIds(): "host" | "rootless" {
  return rootlessHostRange() ? "rootless" : "host";
}

/**
 * The ids sandboxes of a rootless server map to, as its user namespace sees them: 0-65535,
 * which are the host range's ids.
 */
export const ROOTLESS_SANDBOX_IDS: IdRange = { uidStart: 0, gidStart: 0, count: SANDBOX_IDS };

/**
 * Runs `command` (e.g. this server again) inside a new rootless user namespace over `host`
 * (the current user's subordinate ranges), forwarding SIGTERM, SIGINT and SIGHUP; resolves to
 * its exit status. The helper must already be built (it cannot be built into a directory
 * this user may not write).
 *
 * @example
 * ```ts
 * const code = await runRootless(await defaultIdRange(), [Deno.execPath(), "run", "-A", "main.ts"]);
 * ```
 */
export async function runRootless(host: IdRange, command: string[]): Promise<number> {
  const helper = await helperPath();
  const child = new Deno.Command(helper, {
    args: [
      "rootless",
      ...["--uid-range", `${host.uidStart}:${SANDBOX_IDS}`],
      ...["--gid-range", `${host.gidStart}:${SANDBOX_IDS}`],
      "--",
      ...command,
    ],
    env: { [ENV]: `${host.uidStart}:${host.gidStart}:${SANDBOX_IDS}` },
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const signals = ["SIGTERM", "SIGINT", "SIGHUP"] as const;
  const forward = signals.map((signal) => {
    const handler = () => {
      try {
        child.kill(signal);
      } catch {
        // Already gone.
      }
    };
    Deno.addSignalListener(signal, handler);
    return () => Deno.removeSignalListener(signal, handler);
  });
  const status = await child.status;
  for (const remove of forward) remove();
  return status.code;
}
