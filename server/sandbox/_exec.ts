/** Starting a process in a running sandbox through the helper's `exec`. */
import { SandboxError, SandboxNotRunningError } from "./errors.ts";
import type { SandboxExecSpec, SandboxExit, SandboxProcess } from "./exec.ts";
import { pump, readHeader } from "./_pipes.ts";
import { readReport, ZERO_RESOURCES } from "./_report.ts";
import { signalName, signalNumber } from "./signals.ts";
import { processProblem } from "./_validate.ts";
import { nulTerminated } from "./_nul_list.ts";

/** The helper's exit status when the sandbox is not running. */
const EXIT_GONE = 3;
/** The helper's first line on stdout: the process's pid on the host and in the sandbox. */
const HEADER = /^contree-exec (\d+) (\d+)$/;

/** What a run gives the processes started in it. */
export interface ExecContext {
  /** The helper binary. */
  helper: string;
  /** The run's cgroup directories. */
  cgroups: string[];
  /** Host pid of the run's launcher (init is found below it when there are no cgroups). */
  launcher: number;
  /** Path prefix of this process's env and report files, in the run's scratch directory. */
  files: string;
}

function envFile(env: Record<string, string>): Uint8Array<ArrayBuffer> {
  return nulTerminated(Object.entries(env).map(([k, v]) => `${k}=${v}`));
}

/**
 * Starts `spec` in the running sandbox of `ctx` and resolves once it exists. The
 * environment travels in a file the helper removes, never in argv or the helper's environ.
 */
export async function startProcess(
  ctx: ExecContext,
  spec: SandboxExecSpec,
): Promise<SandboxProcess> {
  const problem = processProblem(spec);
  if (problem) throw new SandboxError(`invalid process spec: ${problem}`);
  const envPath = `${ctx.files}.env`;
  const reportPath = `${ctx.files}.report`;
  await Deno.writeFile(envPath, envFile(spec.env), { mode: 0o600 });
  const started = performance.now();
  const child = new Deno.Command(ctx.helper, {
    args: [
      "exec",
      ...["--report", reportPath, "--env", envPath, "--cwd", spec.cwd],
      ...["--uid", String(spec.uid), "--gid", String(spec.gid)],
      ...ctx.cgroups.flatMap((dir) => ["--cgroup", dir]),
      ...["--launcher", String(ctx.launcher)],
      "--",
      spec.command,
      ...spec.args,
    ],
    clearEnv: true,
    stdin: spec.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  const { match, rest } = await readHeader(child.stdout, HEADER);
  if (!match) {
    // Without a header the helper failed before the process could start; anything else on
    // stdout would be a helper bug, and ends it.
    if (rest.length > 0) child.kill("SIGKILL");
    const [status, stderr] = await Promise.all([
      child.status,
      new Response(child.stderr).text(),
      child.stdout.cancel(),
    ]);
    await Promise.all([envPath, reportPath].map((path) => Deno.remove(path).catch(() => {})));
    if (rest.length === 0 && (status.code === EXIT_GONE || status.signal !== null)) {
      throw new SandboxNotRunningError();
    }
    throw new SandboxError(
      `could not start the process (exit status ${status.code}): ${stderr.trim()}`,
    );
  }
  const hostPid = Number(match[1]);
  const pid = Number(match[2]);
  spec.onSpawn?.({ pid });

  let running = true;
  const stdinDone = new AbortController();
  spec.stdin?.pipeTo(child.stdin, { signal: stdinDone.signal }).catch(() => {
    // The process exited or closed its stdin: the source is cancelled.
  });
  const output = Promise.all([
    (async () => {
      if (rest.length > 0) spec.onOutput("stdout", rest);
      await pump(child.stdout, (chunk) => spec.onOutput("stdout", chunk));
    })(),
    pump(child.stderr, (chunk) => spec.onOutput("stderr", chunk)),
  ]);
  const exited = (async (): Promise<SandboxExit> => {
    const status = await child.status;
    const durationMs = performance.now() - started;
    running = false;
    stdinDone.abort();
    await output;
    const report = await readReport(reportPath);
    await Deno.remove(reportPath).catch(() => {});
    if (report) {
      const { exit_code, signal, core_dump, timed_out: _, ...resources } = report;
      return { pid, exitCode: exit_code, signal, coreDump: core_dump, durationMs, resources };
    }
    // Killed with the run (cancel, timeout) before it could report.
    return {
      pid,
      exitCode: status.signal === null ? status.code : -1,
      signal: status.signal === null ? -1 : signalNumber(status.signal),
      coreDump: false,
      durationMs,
      resources: { ...ZERO_RESOURCES },
    };
  })();
  return {
    pid,
    exited,
    kill(signo: number): boolean {
      if (!running) return false;
      try {
        // The helper made the process a group leader before reporting its pid, and keeps
        // the group's id from being reused until it has reaped the process.
        Deno.kill(-hostPid, signalName(signo));
        return true;
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return false;
        throw error;
      }
    },
  };
}
