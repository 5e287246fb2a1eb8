// runSandbox against real bubblewrap sandboxes: commands, output, stdin, identity, files,
// time limits, cancellation and resource limits.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ImageView } from "../../server/images/fs_view.ts";
import { checkSandboxSupport, DEFAULT_PATH, runSandbox } from "../../server/sandbox/run.ts";
import { SandboxError } from "../../server/sandbox/errors.ts";
import { type Fixture, makeFixture, run } from "./_sandbox_fixture.ts";

/** Host processes whose command line contains `marker` (e.g. a distinctive sleep time). */
async function processesWith(marker: string): Promise<number[]> {
  const pids: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`).catch(() => "");
    if (cmdline.split("\0").includes(marker)) pids.push(Number(entry.name));
  }
  return pids;
}

describe("runSandbox", () => {
  let fx: Fixture;
  before(async () => {
    fx = await makeFixture();
  });
  after(() => fx.close());

  it("finds everything it needs on this host", async () => {
    assert.deepEqual(await checkSandboxSupport(), { ok: true });
  });

  it("runs an argv command (looked up in PATH) and reports its exit code", async () => {
    const echo = await run(fx.store, [fx.base], "", { command: "echo", args: ["a  b", "$HOME"] });
    assert.equal(echo.stdout, "a  b $HOME\n");
    assert.equal(echo.result.exitCode, 0);
    assert.equal(echo.result.signal, -1);
    const no = await run(fx.store, [fx.base], "", { command: "false", args: [] });
    assert.equal(no.result.exitCode, 1);
  });

  it("runs shell commands with pipes and exit codes", async () => {
    const { stdout, result } = await run(fx.store, [fx.base], "echo hello | tr a-z A-Z; exit 7");
    assert.equal(stdout, "HELLO\n");
    assert.equal(result.exitCode, 7);
    assert.equal(result.timedOut, false);
    assert.equal(result.cancelled, false);
  });

  it("reports a missing command as 127 and a signalled one as signal/-1", async () => {
    const missing = await run(fx.store, [fx.base], "", { command: "no-such-cmd", args: [] });
    assert.equal(missing.result.exitCode, 127);
    assert.match(missing.stderr, /no-such-cmd/);
    const killed = await run(fx.store, [fx.base], "kill -TERM $$");
    assert.equal(killed.result.exitCode, -1);
    assert.equal(killed.result.signal, 15);
  });

  it("reports rusage of the command", async () => {
    const { result } = await run(
      fx.store,
      [fx.base],
      "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done",
    );
    assert.ok(result.resources.user_time_us + result.resources.sys_time_us > 0);
    assert.ok(result.resources.max_rss_kb > 0);
    assert.ok(result.resources.minor_faults > 0);
    assert.equal(Object.keys(result.resources).length, 15);
  });

  it("streams output in order as it is produced", async () => {
    const { chunks } = await run(
      fx.store,
      [fx.base],
      "echo first; sleep 0.3; echo second >&2; sleep 0.3; echo third",
    );
    assert.deepEqual(
      chunks.map((c) => [c.stream, c.text]),
      [["stdout", "first\n"], ["stderr", "second\n"], ["stdout", "third\n"]],
    );
  });

  it("delivers output while the command still runs", async () => {
    let pid = 0;
    let aliveAtFirstChunk: boolean | undefined;
    await run(fx.store, [fx.base], "echo first; sleep 2; echo done", {
      onSpawn: (info) => {
        pid = info.pid;
      },
      onChunk: () => {
        if (aliveAtFirstChunk !== undefined) return;
        const status = Deno.readTextFileSync(`/proc/${pid}/status`);
        aliveAtFirstChunk = !/^State:\s+Z/m.test(status);
      },
    });
    assert.equal(aliveAtFirstChunk, true);
  });

  it("feeds one-shot stdin, then EOF; no stdin means /dev/null", async () => {
    const input = new TextEncoder().encode("line 1\nline 2\n");
    const cat = await run(fx.store, [fx.base], "cat; echo end", { stdin: input });
    assert.equal(cat.stdout, "line 1\nline 2\nend\n");
    const none = await run(fx.store, [fx.base], "cat; readlink /proc/self/fd/0");
    assert.equal(none.stdout, "/dev/null\n");
    const big = new Uint8Array(1 << 20).fill(97);
    const counted = await run(fx.store, [fx.base], "wc -c", { stdin: big });
    assert.equal(counted.stdout.trim(), String(1 << 20));
    const ignored = await run(fx.store, [fx.base], "true", { stdin: big });
    assert.equal(ignored.result.exitCode, 0);
  });

  it("sets exactly the given env (PATH defaulted), cwd and hostname", async () => {
    const { stdout } = await run(
      fx.store,
      [fx.base],
      "env | sort; echo cwd=$(pwd); echo host=$(hostname)",
      { env: { FOO: "bar baz", EMPTY: "" }, cwd: "/tmp", hostname: "box-1" },
    );
    const lines = stdout.trim().split("\n");
    assert.ok(lines.includes("FOO=bar baz"));
    assert.ok(lines.includes("EMPTY="));
    assert.ok(lines.includes(`PATH=${DEFAULT_PATH}`));
    assert.ok(lines.includes("cwd=/tmp"));
    assert.ok(lines.includes("host=box-1"));
    const names = lines.filter((l) => l.includes("=") && !/^(cwd|host)=/.test(l))
      .map((l) => l.split("=")[0]);
    // Nothing from the host's environment; sh itself adds PWD and SHLVL.
    assert.deepEqual(names.filter((n) => !["PWD", "SHLVL"].includes(n)).sort(), [
      "EMPTY",
      "FOO",
      "PATH",
    ]);
    const own = await run(fx.store, [fx.base], "echo $PATH", { env: { PATH: "/bin" } });
    assert.equal(own.stdout, "/bin\n");
  });

  it("runs as the requested uid/gid; files it creates are owned by them in the diff", async () => {
    const { stdout, layer } = await run(
      fx.store,
      [fx.base],
      "id -u; id -g; id -G; touch /tmp/mine; mkdir /home/user/dir",
      { uid: 1000, gid: 1000 },
    );
    assert.equal(stdout, "1000\n1000\n1000\n");
    assert.ok(layer);
    const raw = await Deno.lstat(`${fx.store.path(layer)}/tmp/mine`);
    assert.equal(raw.uid, 1000);
    assert.equal(raw.gid, 1000);
    const view = new ImageView([fx.store.path(fx.base), fx.store.path(layer)]);
    const dir = await view.stat("/home/user/dir");
    assert.equal(dir?.uid, 1000);
    assert.equal(dir?.owner, "user");
    const denied = await run(fx.store, [fx.base], "echo x > /etc/passwd", { uid: 1000, gid: 1000 });
    assert.notEqual(denied.result.exitCode, 0);
  });

  it("fails with 125 and a message when cwd does not exist", async () => {
    const { result, stderr } = await run(fx.store, [fx.base], "pwd", { cwd: "/nowhere" });
    assert.equal(result.exitCode, 125);
    assert.match(stderr, /nowhere/);
  });

  it("rejects an invalid spec with SandboxError", async () => {
    await assert.rejects(run(fx.store, [fx.base], "true", { cwd: "relative" }), SandboxError);
    await assert.rejects(run(fx.store, [fx.base], "true", { env: { "A=B": "x" } }), SandboxError);
  });

  it("places files with their mode and owner, keeping the parents' attributes", async () => {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/config`, '{"a":1}');
      await Deno.writeTextFile(`${dir}/tool`, "#!/bin/sh\necho tool ran\n");
      const link = await run(fx.store, [fx.base], "mkdir -p /opt/real && ln -s /opt/real /link");
      const layers = [fx.base, link.layer!];
      const placed = await run(
        fx.store,
        layers,
        "stat -c '%a %u %g' /etc/app/config.json; " +
          "/usr/local/bin/tool; stat -c '%a %u' /etc /usr/local/bin/tool; test -f /etc/passwd && " +
          "echo passwd kept; ls /opt/real",
        {
          files: [
            {
              path: "/etc/app/config.json",
              source: `${dir}/config`,
              mode: 0o600,
              uid: 1000,
              gid: 1000,
            },
            { path: "/usr/local/bin/tool", source: `${dir}/tool`, mode: 0o755, uid: 0, gid: 0 },
            { path: "/link/through", source: `${dir}/config`, mode: 0o644, uid: 0, gid: 0 },
          ],
        },
      );
      assert.equal(
        placed.stdout,
        "600 1000 1000\ntool ran\n755 0\n755 0\npasswd kept\nthrough\n",
      );
      const view = new ImageView([...layers, placed.layer!].map((id) => fx.store.path(id)));
      const stream = await (await view.open("/etc/app/config.json")).stream();
      assert.equal(await new Response(stream).text(), '{"a":1}');
      assert.equal((await view.stat("/link"))?.is_symlink, true);
      assert.equal((await view.stat("/opt/real/through"))?.is_regular, true);
      const etc = await view.stat("/etc");
      const baseEtc = await new ImageView([fx.store.path(fx.base)]).stat("/etc");
      assert.equal(etc?.mode, baseEtc?.mode);
      await assert.rejects(
        run(fx.store, [fx.base], "true", {
          files: [{ path: "/etc/passwd/x", source: `${dir}/config`, mode: 0o644, uid: 0, gid: 0 }],
        }),
        SandboxError,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  it("kills the whole process tree on timeout", async () => {
    const { result } = await run(fx.store, [fx.base], "sleep 4321 & sleep 4321; echo not reached", {
      timeoutMs: 300,
    });
    assert.equal(result.timedOut, true);
    assert.equal(result.exitCode, -1);
    assert.equal(result.signal, 9);
    assert.ok(result.durationMs < 4321_000);
    assert.deepEqual(await processesWith("4321"), []);
  });

  it("cancels on abort, killing everything at once", async () => {
    const abort = new AbortController();
    const ws = fx.store.createWorkspace();
    const result = await runSandbox({
      layers: [fx.store.path(fx.base)],
      command: "/bin/sh",
      args: ["-c", "sleep 4322 & echo started; sleep 4322"],
      env: {},
      cwd: "/",
      uid: 0,
      gid: 0,
      hostname: "h",
      files: [],
      timeoutMs: 60_000,
      network: false,
      upperDir: ws.upperDir,
      workDir: ws.workDir,
      signal: abort.signal,
      onOutput: () => abort.abort(),
    });
    await fx.store.discard(ws.id);
    assert.equal(result.cancelled, true);
    assert.equal(result.timedOut, false);
    assert.equal(result.exitCode, -1);
    assert.deepEqual(await processesWith("4322"), []);
    const early = new AbortController();
    early.abort();
    const never = await run(fx.store, [fx.base], "echo should not matter", {
      signal: early.signal,
    });
    assert.equal(never.result.cancelled, true);
  });

  it("cancels at any moment of start-up without leaving a process behind", async () => {
    for (let i = 0; i < 15; i++) {
      const abort = new AbortController();
      setTimeout(() => abort.abort(), Math.random() * 60);
      const { result } = await run(fx.store, [fx.base], "sleep 4326", { signal: abort.signal });
      assert.equal(result.cancelled, true);
    }
    assert.deepEqual(await processesWith("4326"), []);
  });

  it("limits processes: a fork bomb stays within pids and dies with the run", async () => {
    const counted = await run(
      fx.store,
      [fx.base],
      "i=0; while [ $i -lt 100 ]; do sleep 4323 & i=$((i+1)); done 2>/dev/null; " +
        "set -- /proc/[0-9]*; echo $#",
      { limits: { pids: 32 } },
    );
    assert.ok(Number(counted.stdout.trim()) <= 32, counted.stdout);
    assert.deepEqual(await processesWith("4323"), []);
    // The loop outlives a failed fork of sleep (the bomb holds every pid): the run must time out.
    const bomb = await run(
      fx.store,
      [fx.base],
      "b() { b | b & }; b; while :; do sleep 4324; done",
      {
        limits: { pids: 64 },
        timeoutMs: 2000,
      },
    );
    assert.equal(bomb.result.timedOut, true);
    assert.deepEqual(await processesWith("4324"), []);
  });

  it("limits memory: a hog is killed, the sandbox reports it", async () => {
    const { result } = await run(
      fx.store,
      [fx.base],
      "awk 'BEGIN { s = \"xxxxxxxxxxxxxxxx\"; while (1) s = s s }'",
      { limits: { memoryBytes: 64 << 20 } },
    );
    assert.equal(result.signal, 9);
    assert.equal(result.exitCode, -1);
    // The peak RSS stays near the limit (it also counts shared pages such as the binary).
    assert.ok(result.resources.max_rss_kb < 2 * (64 << 10), String(result.resources.max_rss_kb));
  });
});
