/**
 * A networked run's wiring: its own network namespace (made by the helper's launcher) and
 * pasta (Debian's `passt`), a user-mode TCP/IP stack that opens ordinary sockets on the host
 * for the namespace's connections. The namespace gets the host's addresses and routes, so the
 * host's own addresses are the namespace's own there; what pasta may forward is fixed here.
 */
import { LayeredView } from "../images/layered_view.ts";
import { SandboxUnsupportedError } from "./errors.ts";
import { which } from "./_which.ts";

/**
 * pasta's options. Its defaults forward ports bound on the host's loopback into the namespace
 * (`-T auto`, `-U auto`) and map the gateway's address to the host's loopback: both are
 * turned off, so a sandbox reaches the outside world and nothing on the host.
 */
export const PASTA_ARGS: readonly string[] = [
  // Addresses, routes and the tap device, copied from the host's external interface.
  "--config-net",
  // The gateway's address is the real gateway, never the host's 127.0.0.1.
  "--no-map-gw",
  // Nothing bound on the host reaches into the namespace; nothing bound in it reaches out.
  ...["--tcp-ports", "none", "--udp-ports", "none"],
  // Connections to the namespace's loopback stay there (not forwarded to the host's).
  ...["--tcp-ns", "none", "--udp-ns", "none"],
  "--quiet",
];

/**
 * The launcher's options that give a run its network (`--pasta PATH --pasta-arg ARG...`).
 * Throws {@linkcode SandboxUnsupportedError} when pasta is not installed.
 */
export async function networkLaunchArgs(): Promise<string[]> {
  const pasta = await which("pasta");
  if (pasta === null) throw new SandboxUnsupportedError(["pasta (Debian package passt)"]);
  return ["--pasta", pasta, ...PASTA_ARGS.flatMap((arg) => ["--pasta-arg", arg])];
}

/** Where resolvers look, in the image and on the host. */
const RESOLV_CONF = "/etc/resolv.conf";

/** The host's resolver configuration bound into a run (see {@linkcode bindHostResolver}). */
export interface ResolverBind {
  /** bwrap's options that bind it. */
  args: string[];
  /** Removes what the bind left in the run's upper directory; call after the run. */
  cleanUp(): void;
}

/**
 * Gives a networked run the host's resolver configuration, bound read-only over the image's
 * `/etc/resolv.conf` as Podman does (pasta carries the queries to the host's resolvers):
 * images from registries rarely have a usable one. Where the image has none, bwrap makes a
 * mount point in the upper directory, which `cleanUp` removes with an `/etc` copied up only
 * for it, so it never becomes part of an image. An image whose `/etc/resolv.conf` is a
 * symlink (a resolver daemon's file) keeps it; null then, as without `/etc`.
 */
export async function bindHostResolver(
  layers: string[],
  upperDir: string,
): Promise<ResolverBind | null> {
  const host = await Deno.stat(RESOLV_CONF).catch(() => null);
  if (!host?.isFile) return null;
  const view = new LayeredView([...layers, upperDir]);
  const etc = await view.child(await view.root(), "etc");
  if (etc === null || !etc.info.isDirectory) return null;
  const own = await view.child(etc, "resolv.conf");
  if (own?.info.isSymlink) return null;
  const args = ["--ro-bind", RESOLV_CONF, RESOLV_CONF];
  if (own !== null) return { args, cleanUp() {} };
  const upperEtc = `${upperDir}/etc`;
  const copiedUp = etc.host !== upperEtc;
  return {
    args,
    cleanUp() {
      try {
        Deno.removeSync(`${upperDir}${RESOLV_CONF}`);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
      if (!copiedUp) return;
      // The run's own changes to /etc (an entry, its mode or owner) are kept.
      const now = lstatOrNull(upperEtc);
      const same = now?.isDirectory && now.mode === etc.info.mode &&
        now.uid === etc.info.uid && now.gid === etc.info.gid;
      if (same && Deno.readDirSync(upperEtc).next().done) Deno.removeSync(upperEtc);
    },
  };
}

function lstatOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}
