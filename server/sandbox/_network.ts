/**
 * A networked run's wiring: its own network namespace (made by the helper's launcher) and
 * pasta (Debian's `passt`), a user-mode TCP/IP stack that opens ordinary sockets on the host
 * for the namespace's connections. The namespace gets the host's addresses and routes, so the
 * host's own addresses are the namespace's own there; what pasta may forward is fixed here.
 */
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
