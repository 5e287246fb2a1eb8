// `apt-get install -y curl` (after `apt-get update`) in a sandbox with networking, against the
// same command in a bare copy of the same Debian root: chrooted in new mount, pid and network
// namespaces (as host root), the network namespace wired by pasta with the server's options.
//   deno run -A bench/server_apt.ts [ROUNDS]
// The Debian root is scripts/debian_root.sh's (debootstrap minbase, cached), or DEBIAN_ROOT.
// Each side runs `apt-get update` once, untimed; each round times one install from that state
// (a disposable run; a fresh copy of the updated root), alternating which side goes first.
// Downloads come from the Debian archive, whose speed varies: read the medians.
import { fileURLToPath } from "node:url";
import { startBackend } from "../tests/server/_backend.ts";
import { PASTA_ARGS } from "../server/sandbox/mod.ts";
import { exitCode, median, runToCompletion, time } from "./server_util.ts";

const rounds = Math.max(1, Number(Deno.args[0] ?? 3));
const ROOT = fileURLToPath(new URL("../", import.meta.url));
const ENV = { DEBIAN_FRONTEND: "noninteractive" };
const UPDATE = "apt-get update -q";
const INSTALL = "apt-get install -y -q curl && curl --version >/dev/null";

async function output(command: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(command, { args, stderr: "inherit" }).output();
  if (!out.success) throw new Error(`${command} ${args.join(" ")}: exit ${out.code}`);
  return new TextDecoder().decode(out.stdout).trim();
}

/**
 * `sh -c` script of the bare side, run by `unshare --net --mount --pid --fork` with the host
 * process's pid, the root directory, the command and pasta's options as arguments.
 */
const BARE = `host=$1 dir=$2 cmd=$3; shift 3
exec 7</proc/self/ns/net
pidfile=$(mktemp)
nsenter --net=/proc/$host/ns/net pasta "$@" --netns /proc/self/fd/7 --runas 0 -P "$pidfile" || exit
mount --make-rprivate /
mount -t proc proc "$dir/proc" && mount --rbind /dev "$dir/dev" || exit
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \\
  chroot "$dir" /bin/sh -c "$cmd" >/dev/null
status=$?
kill -9 "$(cat "$pidfile")"; rm -f "$pidfile"
exit $status`;

function bare(dir: string, command: string): Promise<string> {
  return output("unshare", [
    ...["--net", "--mount", "--pid", "--fork", "--", "sh", "-c", BARE, "bare"],
    ...[String(Deno.pid), dir, command, ...PASTA_ARGS],
  ]);
}

const debian = Deno.env.get("DEBIAN_ROOT") ??
  await output("bash", [`${ROOT}/scripts/debian_root.sh`]);
const work = await Deno.makeTempDir({ prefix: "contree-bench-apt-" });
// The sandbox side: the root imported as an image, updated once by a kept run.
await output(Deno.execPath(), [
  ...["run", "-A", `${ROOT}/server/main.ts`, "import-rootfs", debian],
  ...["--tag", "bench/debian:bookworm", "--data-dir", `${work}/data`],
]);
const backend = await startBackend({ dataDir: `${work}/data` });
try {
  const update = await runToCompletion(backend, {
    image: "tag:bench/debian:bookworm",
    command: `${UPDATE} >/dev/null`,
    shell: true,
    env: ENV,
    timeout: 600,
    networking: { enabled: true },
    disposable: false,
  });
  const mustSucceed = async (what: string, operation: string) => {
    const code = await exitCode(backend, operation);
    if (code !== 0) throw new Error(`${what} in the sandbox exited ${code} (${operation})`);
  };
  await mustSucceed(UPDATE, update.operation);
  // The bare side: a copy of the root, updated once.
  await output("cp", ["-a", debian, `${work}/base`]);
  await bare(`${work}/base`, UPDATE);

  const times = { sandbox: [] as number[], bare: [] as number[] };
  const sides = {
    sandbox: async () => {
      let operation = "";
      times.sandbox.push(
        await time(async () => {
          ({ operation } = await runToCompletion(backend, {
            image: update.image,
            command: INSTALL,
            shell: true,
            env: ENV,
            timeout: 600,
            networking: { enabled: true },
            disposable: true,
          }));
        }),
      );
      await mustSucceed(INSTALL, operation);
    },
    bare: async () => {
      await output("cp", ["-a", `${work}/base`, `${work}/round`]);
      try {
        times.bare.push(await time(() => bare(`${work}/round`, INSTALL)));
      } finally {
        await Deno.remove(`${work}/round`, { recursive: true });
      }
    },
  };
  for (let i = 0; i < rounds; i++) {
    const order = i % 2 ? ["bare", "sandbox"] as const : ["sandbox", "bare"] as const;
    for (const side of order) {
      await sides[side]();
    }
  }
  const m = { sandbox: median(times.sandbox), bare: median(times.bare) };
  console.log(`rounds: ${rounds}`);
  console.log(
    `bare chroot + pasta: apt-get install -y curl  median ${m.bare.toFixed(0)} ms ` +
      `(${times.bare.map((t) => t.toFixed(0)).join(", ")})`,
  );
  console.log(
    `sandbox, networking: apt-get install -y curl  median ${m.sandbox.toFixed(0)} ms ` +
      `(${times.sandbox.map((t) => t.toFixed(0)).join(", ")})`,
  );
  console.log(`ratio: ${(m.sandbox / m.bare).toFixed(2)} (aim <= 1.1)`);
} finally {
  await backend.dispose();
  await Deno.remove(work, { recursive: true });
}
