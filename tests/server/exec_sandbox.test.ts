// Processes started in a running sandbox (RunningSandbox.exec), below the HTTP layer: start-up
// ordering, the end of the run, cgroup limits, the run's diff, and a streamed stdin.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type RunningSandbox,
  runSandbox,
  SandboxError,
  type SandboxExecSpec,
  SandboxNotRunningError,
  type SandboxResult,
  type SandboxSpec,
} from "../../server/sandbox/mod.ts";
import { type Fixture, makeFixture } from "./_sandbox_fixture.ts";

const decoder = new TextDecoder();

/** A run started in the background, with its sandbox handle once it is up. */
interface Started {
  sandbox: RunningSandbox;
  done: Promise<SandboxResult>;
  stdout(): string;
  /** Resolves once the command's stdout contains `text`. */
  printed(text: string): Promise<void>;
  workspace: string;
}

describe("processes in a running sandbox", () => {
  let fx: Fixture;
  before(async () => {
    fx = await makeFixture();
  });
  after(() => fx.close());

  async function start(script: string, options: Partial<SandboxSpec> = {}): Promise<Started> {
    const ws = fx.store.createWorkspace();
    const handle = Promise.withResolvers<RunningSandbox>();
    let out = "";
    const waiters: { text: string; resolve(): void }[] = [];
    const done = runSandbox({
      layers: [fx.store.path(fx.base)],
      command: "/bin/sh",
      args: ["-c", script],
      env: {},
      cwd: "/",
      uid: 0,
      gid: 0,
      hostname: "sandbox",
      files: [],
      timeoutMs: 60_000,
      network: false,
      upperDir: ws.upperDir,
      workDir: ws.workDir,
      onOutput: (stream, chunk) => {
        if (stream !== "stdout") return;
        out += decoder.decode(chunk);
        for (const waiter of waiters.filter((w) => out.includes(w.text))) waiter.resolve();
      },
      onSpawn: (info) => handle.resolve(info.sandbox),
      ...options,
    });
    done.catch(handle.reject);
    return {
      sandbox: await handle.promise,
      done,
      stdout: () => out,
      printed: (text) => {
        const printed = Promise.withResolvers<void>();
        waiters.push({ text, resolve: printed.resolve });
        if (out.includes(text)) printed.resolve();
        return printed.promise;
      },
      workspace: ws.id,
    };
  }

  /** Runs a process in the sandbox to its end. */
  async function execOutput(sandbox: RunningSandbox, spec: Partial<SandboxExecSpec>) {
    let stdout = "";
    let stderr = "";
    const proc = await sandbox.exec({
      command: "/bin/sh",
      args: [],
      env: {},
      cwd: "/",
      uid: 0,
      gid: 0,
      onOutput: (stream, chunk) => {
        if (stream === "stdout") stdout += decoder.decode(chunk);
        else stderr += decoder.decode(chunk);
      },
      ...spec,
    });
    const exit = await proc.exited;
    return { proc, exit, stdout, stderr };
  }

  it("waits for the sandbox to be set up, reports spawn before output, refuses after the end", async () => {
    const ws = fx.store.createWorkspace();
    const order: string[] = [];
    const quiet = { env: {}, cwd: "/", uid: 0, gid: 0, onOutput: () => {} };
    let sandbox: RunningSandbox | undefined;
    let exited: Promise<unknown> | undefined;
    const result = await runSandbox({
      layers: [fx.store.path(fx.base)],
      command: "/bin/sh",
      args: ["-c", "while [ ! -e /tmp/done ]; do sleep 0.02; done"],
      env: {},
      cwd: "/",
      uid: 0,
      gid: 0,
      hostname: "sandbox",
      files: [],
      timeoutMs: 60_000,
      network: false,
      upperDir: ws.upperDir,
      workDir: ws.workDir,
      onOutput: () => {},
      // Asked for before the sandbox has even been set up.
      onSpawn: (info) => {
        sandbox = info.sandbox;
        exited = sandbox.exec({
          ...quiet,
          command: "/bin/sh",
          args: ["-c", "echo $$; touch /tmp/done"],
          onSpawn: ({ pid }) => order.push(`spawn ${pid}`),
          onOutput: (_, chunk) => order.push(`output ${decoder.decode(chunk).trim()}`),
        }).then((proc) => proc.exited);
      },
    });
    assert.equal(result.exitCode, 0);
    await exited;
    const [spawned, output] = order;
    assert.match(spawned, /^spawn \d+$/);
    assert.equal(output, `output ${spawned.slice("spawn ".length)}`);
    await assert.rejects(
      sandbox!.exec({ ...quiet, command: "true", args: [] }),
      SandboxNotRunningError,
    );
    await fx.store.discard(ws.id);
  });

  it("runs in the run's cgroup: the cgroup namespace is the sandbox's, its limits hold", async () => {
    const cancel = new AbortController();
    const run = await start(
      // A subshell fills the pids limit (and quits at its first failed fork), freeing only
      // its own pid, which the helper joining the cgroup takes.
      "while [ ! -e /tmp/go ]; do sleep 0.02; done; " +
        "(for i in $(seq 64); do sleep 300 & done) 2>/dev/null; echo full; exec sleep 300",
      { limits: { pids: 32 }, signal: cancel.signal },
    );
    try {
      const { stdout } = await execOutput(run.sandbox, {
        args: ["-c", "cat /proc/self/cgroup; touch /tmp/go"],
      });
      for (const line of stdout.trim().split("\n")) assert.match(line, /:\/$/);
      await run.printed("full");
      await assert.rejects(
        execOutput(run.sandbox, { args: ["-c", "true"] }),
        (error) =>
          error instanceof SandboxError && !(error instanceof SandboxNotRunningError) &&
          /fork/.test(error.message),
      );
    } finally {
      cancel.abort();
      assert.equal((await run.done).cancelled, true);
      await fx.store.discard(run.workspace);
    }
  });

  it("writes into the run's diff", async () => {
    const run = await start("while [ ! -e /made ]; do sleep 0.02; done; cat /made");
    await execOutput(run.sandbox, { args: ["-c", "echo by-exec > /made"], uid: 1000, gid: 1000 })
      .then(({ exit, stderr }) => {
        // A non-root process cannot write to /: the same rules as the command.
        assert.notEqual(exit.exitCode, 0);
        assert.match(stderr, /Permission denied/);
      });
    await execOutput(run.sandbox, { args: ["-c", "echo by-exec > /made"] });
    const result = await run.done;
    assert.equal(result.exitCode, 0);
    assert.equal(run.stdout(), "by-exec\n");
    const layer = await fx.store.commit(run.workspace);
    assert.ok(layer);
    assert.equal(await Deno.readTextFile(`${fx.store.path(layer)}/made`), "by-exec\n");
  });

  it("pipes a streamed stdin into the command until the stream ends", async () => {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const run = await start("cat; echo end", { stdin: readable });
    const writer = writable.getWriter();
    await writer.write(new TextEncoder().encode("one "));
    await writer.write(new TextEncoder().encode("two\n"));
    await writer.close();
    assert.equal((await run.done).exitCode, 0);
    assert.equal(run.stdout(), "one two\nend\n");
    await fx.store.discard(run.workspace);
  });
});
