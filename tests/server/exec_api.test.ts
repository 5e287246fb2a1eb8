// The subprocess API against real sandboxes: live stdin, the shared filesystem and pid
// namespace, signals, the instance's lifecycle, errors, the spid filter, and isolation.
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type Backend, SERVER_USER, startBackend } from "./_backend.ts";
import {
  call,
  events,
  type OpEvent,
  parseFrames,
  request,
  run,
  spawn,
  text,
  waitOp,
} from "./_api.ts";
import { capLines, hostPrivilegeProbe, NO_CAPS, ROOT_CAPS } from "./_caps.ts";

/** Follows an operation's events from the start until `until` holds; returns all seen. */
async function followUntil(
  b: Backend,
  uuid: string,
  query: string,
  until: (event: OpEvent) => boolean,
): Promise<OpEvent[]> {
  const res = await request(b, "GET", `/v1/operations/${uuid}/events?follow=1${query}`);
  assert.equal(res.status, 200);
  const seen: OpEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of res.body!) {
    buffer += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const [frame] = parseFrames(buffer.slice(0, end + 2));
      buffer = buffer.slice(end + 2);
      if (!frame?.data) continue;
      const event: OpEvent = JSON.parse(frame.data);
      seen.push(event);
      // Leaving the loop cancels the stream.
      if (until(event)) return seen;
    }
  }
  throw new Error(`events of ${uuid} ended first: ${seen.map((e) => e.type).join(", ")}`);
}

/** Events until the `exit` of process `spid`. */
function untilExit(b: Backend, uuid: string, spid: number): Promise<OpEvent[]> {
  return followUntil(b, uuid, `&spid=${spid}`, (e) => e.type === "exit");
}

/** The stdout of process `spid` in `log`. */
function stdoutOf(log: OpEvent[], spid: number): string {
  return log.filter((e) => e.spid === spid && e.type === "stdout")
    .map((e) => text(e.data as { value: string; encoding: string })).join("");
}

/** Starts a subprocess and returns its spid. */
async function exec(b: Backend, uuid: string, spec: Record<string, unknown>): Promise<number> {
  const res = await call(b, "POST", `/v1/operations/${uuid}/subprocesses`, { json: spec });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.spid;
}

/** Runs a subprocess to its end and returns its stdout (and the whole log up to its exit). */
async function execOutput(
  b: Backend,
  uuid: string,
  spec: Record<string, unknown>,
): Promise<{ spid: number; stdout: string; exit: OpEvent }> {
  const spid = await exec(b, uuid, spec);
  const log = await untilExit(b, uuid, spid);
  return { spid, stdout: stdoutOf(log, spid), exit: log.at(-1)! };
}

function writeStdin(b: Backend, uuid: string, spid: number, json: Record<string, unknown>) {
  return call(b, "POST", `/v1/operations/${uuid}/subprocesses/${spid}/stdin`, { json });
}

describe("server subprocesses", () => {
  let b: Backend;
  const cleanup: string[] = [];

  before(async () => {
    b = await startBackend();
  });
  afterEach(async () => {
    for (const uuid of cleanup.splice(0)) {
      await call(b, "DELETE", `/v1/operations/${uuid}`);
      await waitOp(b, uuid);
    }
  });
  after(async () => {
    await b?.dispose();
  });

  /** Spawns a main command that keeps the instance up until the test cancels it. */
  async function instance(body: Record<string, unknown> = {}): Promise<string> {
    const uuid = await spawn(b, { command: "sleep", args: ["300"], disposable: true, ...body });
    cleanup.push(uuid);
    return uuid;
  }

  it("round-trips live stdin and folds the result", async () => {
    const uuid = await instance();
    const spid = await exec(b, uuid, { command: "cat", stdin: { value: "", close: false } });
    assert.equal(spid, 2);
    const running = await call(b, "GET", `/v1/operations/${uuid}/subprocesses/${spid}`);
    assert.equal(running.status, 200);
    assert.equal(running.body.state.exit_code, -1);
    assert.equal(running.body.state.signal, -1);

    const wrote = await writeStdin(b, uuid, spid, { value: "hello\n" });
    assert.deepEqual([wrote.status, wrote.body], [204, null]);
    const echoed = await followUntil(b, uuid, `&spid=${spid}`, (e) => e.type === "stdout");
    assert.equal(stdoutOf(echoed, spid), "hello\n");
    assert.ok(echoed.every((e) => e.type !== "exit"));

    assert.equal((await writeStdin(b, uuid, spid, { value: "", close: true })).status, 204);
    const log = await untilExit(b, uuid, spid);
    assert.deepEqual(log.at(-1)!.data.code, 0);

    const { status, body } = await call(b, "GET", `/v1/operations/${uuid}/subprocesses/${spid}`);
    assert.equal(status, 200);
    assert.deepEqual(body.stdout, { value: "hello\n", encoding: "ascii", truncated: false });
    assert.deepEqual(body.stderr, { value: "", encoding: "ascii", truncated: false });
    assert.equal(body.state.exit_code, 0);
    assert.equal(body.state.signal, -1);
    assert.equal(typeof body.state.pid, "number");
    assert.equal(typeof body.resources.elapsed_time, "number");
    assert.equal(typeof body.resources.max_rss, "number");

    const closed = await writeStdin(b, uuid, spid, { value: "late" });
    assert.equal(closed.status, 409);
    assert.match(closed.body.error, /exited/);
  });

  it("writes base64 stdin given at creation, closing it by default", async () => {
    const uuid = await instance();
    const { stdout, exit } = await execOutput(b, uuid, {
      command: "wc",
      args: ["-c"],
      stdin: { value: btoa("\x00\x01\x02hey"), encoding: "base64" },
    });
    assert.equal(stdout.trim(), "6");
    assert.equal(exit.data.code, 0);
  });

  it("gives /dev/null as stdin when none is given, and 409 on writes", async () => {
    const uuid = await instance();
    const spid = await exec(b, uuid, { command: "sh", args: ["-c", "cat; echo eof; sleep 300"] });
    const log = await followUntil(b, uuid, `&spid=${spid}`, (e) => e.type === "stdout");
    assert.equal(stdoutOf(log, spid), "eof\n");
    const res = await writeStdin(b, uuid, spid, { value: "x" });
    assert.equal(res.status, 409);
    assert.match(res.body.error, /stdin of process 2 is closed/);
  });

  it("shares the instance's filesystem and pid namespace; changes reach the image", async () => {
    const op = await spawn(b, {
      command: "while [ ! -e /shared ]; do sleep 0.05; done; cat /shared",
      shell: true,
    });
    const { stdout } = await execOutput(b, op, {
      // Renamed into place: the main command must not read a created but still empty file.
      command: "ps -o pid,args; echo from-sub > /shared.new && mv /shared.new /shared",
      shell: true,
    });
    // The sandbox's init, the main command and this shell, nothing from the host.
    assert.match(stdout, /^\s*1 \/dev\/\.contree-init init /m);
    assert.match(stdout, /while \[ ! -e \/shared \]/);
    assert.match(stdout, /ps -o pid,args; echo from-sub/);
    assert.doesNotMatch(stdout, /deno|server\/main\.ts/);
    const done = await waitOp(b, op);
    assert.equal(done.status, "SUCCESS");
    assert.deepEqual(done.metadata.result.stdout, {
      value: "from-sub\n",
      encoding: "ascii",
      truncated: false,
    });
    const image = done.result_image_uuid;
    const file = await request(b, "GET", `/v1/inspect/${image}/download?path=/shared`);
    assert.equal(await file.text(), "from-sub\n");
  });

  it("signals a process: TERM, KILL by default, numbers; 409 once exited", async () => {
    const uuid = await instance();
    const term = await exec(b, uuid, { command: "sleep", args: ["300"] });
    const path = `/v1/operations/${uuid}/subprocesses`;
    const killed = await call(b, "DELETE", `${path}/${term}?signal=TERM`);
    assert.deepEqual([killed.status, killed.body], [202, null]);
    const exit = (await untilExit(b, uuid, term)).at(-1)!;
    assert.deepEqual([exit.data.code, exit.data.signal], [-1, 15]);
    const result = (await call(b, "GET", `${path}/${term}`)).body;
    assert.deepEqual([result.state.exit_code, result.state.signal], [-1, 15]);
    const again = await call(b, "DELETE", `${path}/${term}?signal=TERM`);
    assert.equal(again.status, 409);
    assert.match(again.body.error, /already exited/);

    const kill = await exec(b, uuid, { command: "sleep", args: ["300"] });
    assert.equal(kill, term + 1);
    assert.equal((await call(b, "DELETE", `${path}/${kill}`)).status, 202);
    assert.equal((await untilExit(b, uuid, kill)).at(-1)!.data.signal, 9);

    const int = await exec(b, uuid, { command: "sleep", args: ["300"] });
    assert.equal((await call(b, "DELETE", `${path}/${int}?signal=2`)).status, 202);
    assert.equal((await untilExit(b, uuid, int)).at(-1)!.data.signal, 2);

    const bad = await call(b, "DELETE", `${path}/${int}?signal=NOPE`);
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /^signal: /);
    assert.equal((await call(b, "DELETE", `${path}/99`)).status, 404);
    const main = await call(b, "DELETE", `${path}/1`);
    assert.equal(main.status, 400);
    assert.match(main.body.error, /main command/);
  });

  it("kills what a process left in its process group when it exits", async () => {
    const uuid = await instance();
    const { stdout } = await execOutput(b, uuid, {
      command: "sleep 300 & echo $!",
      shell: true,
    });
    const pid = stdout.trim();
    // SIGKILL lands when the process is next scheduled and init reaps it after that: on a busy
    // machine allow a moment (a zombie is already gone), but never 300 s.
    const check = await execOutput(b, uuid, {
      command: `for i in $(seq 50); do ` +
        `[ "$(cut -d' ' -f3 /proc/${pid}/stat 2>/dev/null || echo X)" = S ] || ` +
        `{ echo gone; exit; }; sleep 0.1; done; echo alive`,
      shell: true,
    });
    assert.equal(check.stdout, "gone\n");
  });

  it("answers 409 unless the operation runs, 404 for unknown ones, 400 for bad bodies", async () => {
    const finished = await run(b, { command: "true", disposable: true });
    const path = `/v1/operations/${finished.uuid}/subprocesses`;
    const late = await call(b, "POST", path, { json: { command: "true" } });
    assert.deepEqual([late.status, late.body], [409, {
      error: "operation is not running",
      status: 409,
    }]);
    assert.equal((await call(b, "GET", `${path}/2`)).status, 404);
    assert.equal((await call(b, "DELETE", `${path}/2`)).status, 404);
    assert.equal((await writeStdin(b, finished.uuid, 2, { value: "" })).status, 404);
    assert.equal((await call(b, "GET", `${path}/nope`)).status, 400);

    const unknown = "/v1/operations/00000000-0000-0000-0000-000000000000/subprocesses";
    for (
      const [method, url, json] of [
        ["POST", unknown, { command: "true" }],
        ["GET", `${unknown}/2`, undefined],
        ["DELETE", `${unknown}/2`, undefined],
        ["POST", `${unknown}/1/stdin`, { value: "", close: false }],
      ] as const
    ) {
      const res = await call(b, method, url, { json });
      assert.deepEqual([res.status, res.body.error], [404, "operation not found"]);
    }

    const uuid = await instance();
    const bodies: [unknown, RegExp][] = [
      [{}, /^command: required/],
      [{ command: "" }, /^command: must not be empty/],
      [{ command: 5 }, /^command: /],
      [{ command: "ls", args: ["ok", 1] }, /^args\[1\]: /],
      [{ command: "ls", cwd: "relative" }, /^cwd: /],
      [{ command: "ls", uid: -1 }, /^uid: /],
      [{ command: "ls", env: { "A=B": "x" } }, /^env\["A=B"\]: must not contain '='/],
      [{ command: "ls", stdin: { close: false } }, /^stdin\.value: required/],
      [{ command: "ls", truncate_output_at: 1.5 }, /^truncate_output_at: /],
      ["text", /^body: /],
    ];
    for (const [json, error] of bodies) {
      const res = await call(b, "POST", `/v1/operations/${uuid}/subprocesses`, { json });
      assert.equal(res.status, 400, JSON.stringify(json));
      assert.match(res.body.error, error);
    }
    const spid = await exec(b, uuid, { command: "cat", stdin: { value: "", close: false } });
    const badStdin = await writeStdin(b, uuid, spid, { value: 1 });
    assert.equal(badStdin.status, 400);
    assert.match(badStdin.body.error, /^value: /);
    assert.equal((await call(b, "GET", `/v1/operations/${uuid}/subprocesses/7`)).status, 404);
    assert.equal((await writeStdin(b, uuid, 7, { value: "" })).status, 404);

    // The processes of an operation that has ended have exited.
    assert.equal((await call(b, "DELETE", `/v1/operations/${uuid}`)).status, 202);
    await waitOp(b, uuid);
    const gone = await writeStdin(b, uuid, spid, { value: "x" });
    assert.equal(gone.status, 409);
    assert.equal(
      (await call(b, "DELETE", `/v1/operations/${uuid}/subprocesses/${spid}`)).status,
      409,
    );
  });

  it("takes the instance's settings unless the request gives its own", async () => {
    const uuid = await instance({ env: { FROM_SPAWN: "spawn", API_TOKEN: "secret" }, cwd: "/etc" });
    const defaults = await execOutput(b, uuid, {
      command: 'echo "$FROM_SPAWN $HOME $(pwd) $(id -u):$(id -g)"',
      shell: true,
    });
    assert.equal(defaults.stdout, "spawn /root /etc 0:0\n");
    const own = await execOutput(b, uuid, {
      command: "sh",
      args: ["-c", 'echo "$FROM_SPAWN $HOME $(pwd) $(id -u):$(id -g)"'],
      env: { FROM_SPAWN: "exec" },
      cwd: "/tmp",
      uid: 1000,
      gid: 1001,
    });
    assert.equal(own.stdout, "exec / /tmp 1000:1001\n");

    const log = await events(b, uuid, `?spid=${own.spid}`);
    const spawned = log[0];
    assert.equal(spawned.type, "spawn");
    assert.deepEqual(
      [spawned.data.command, spawned.data.args, spawned.data.shell, spawned.data.cwd],
      ["sh", ["-c", 'echo "$FROM_SPAWN $HOME $(pwd) $(id -u):$(id -g)"'], false, "/tmp"],
    );
    assert.deepEqual([spawned.data.uid, spawned.data.gid], [1000, 1001]);
    assert.equal((spawned.data.env as Record<string, string>).API_TOKEN, "<MASKED>");
    assert.equal(spawned.data.truncate_at, 1048576);

    const cut = await execOutput(b, uuid, {
      command: "echo 0123456789",
      shell: true,
      truncate_output_at: 4,
    });
    assert.equal(cut.stdout, "0123");
    const folded = (await call(b, "GET", `/v1/operations/${uuid}/subprocesses/${cut.spid}`)).body;
    assert.deepEqual(folded.stdout, { value: "0123", encoding: "ascii", truncated: true });
    const truncated = (await events(b, uuid, `?spid=${cut.spid}`)).find((e) =>
      e.type === "truncated"
    );
    assert.deepEqual(truncated?.data, { stream: "stdout", bytes_emitted: 4, bytes_dropped: 7 });

    const missing = await execOutput(b, uuid, { command: "no-such-command" });
    assert.equal(missing.exit.data.code, 127);
    const badCwd = await execOutput(b, uuid, { command: "true", cwd: "/no/such/dir" });
    assert.equal(badCwd.exit.data.code, 125);
  });

  it("filters the event log by spid", async () => {
    const uuid = await instance();
    const { spid } = await execOutput(b, uuid, { command: "echo", args: ["sub"] });
    const own = await events(b, uuid, `?spid=${spid}`);
    assert.deepEqual(own.map((e) => e.type), ["spawn", "stdout", "exit"]);
    assert.ok(own.every((e) => e.spid === spid));
    assert.ok(own.every((e, i) => i === 0 || e.id > own[i - 1].id));
    const main = await events(b, uuid, "?spid=1");
    assert.deepEqual(main.map((e) => e.type), ["spawn"]);
    const all = await events(b, uuid);
    assert.deepEqual(all.filter((e) => e.spid === spid), own);
  });

  it("kills subprocesses when the main command exits, before the instance shuts down", async () => {
    const uuid = await spawn(b, {
      command: "while [ ! -e /tmp/up ]; do sleep 0.05; done",
      shell: true,
    });
    const spid = await exec(b, uuid, { command: "touch /tmp/up; exec sleep 300", shell: true });
    const op = await waitOp(b, uuid);
    assert.equal(op.status, "SUCCESS");
    const log = await events(b, uuid);
    const exit = log.find((e) => e.spid === spid && e.type === "exit")!;
    assert.deepEqual([exit.data.code, exit.data.signal], [-1, 9]);
    const shutdown = log.find((e) => e.type === "shutdown")!;
    assert.ok(exit.id < shutdown.id);
    assert.equal(log.at(-1)!.type, "completion");
    const result = (await call(b, "GET", `/v1/operations/${uuid}/subprocesses/${spid}`)).body;
    assert.deepEqual([result.state.exit_code, result.state.signal], [-1, 9]);
  });

  it("ends subprocesses when the operation is cancelled", async () => {
    const uuid = await instance();
    const spid = await exec(b, uuid, { command: "sleep", args: ["300"] });
    assert.equal((await call(b, "DELETE", `/v1/operations/${uuid}`)).status, 202);
    assert.equal((await waitOp(b, uuid)).status, "CANCELLED");
    const log = await events(b, uuid);
    const exit = log.find((e) => e.spid === spid && e.type === "exit")!;
    assert.deepEqual([exit.data.code, exit.data.signal], [-1, 9]);
    assert.ok(exit.id < log.find((e) => e.type === "completion")!.id);
    const late = await call(b, "POST", `/v1/operations/${uuid}/subprocesses`, {
      json: { command: "true" },
    });
    assert.equal(late.status, 409);
  });

  it("keeps the main command's stdin open for spid 1 when the spawn asks", async () => {
    const uuid = await spawn(b, {
      command: "cat",
      stdin: { value: "first ", close: false },
      disposable: true,
    });
    assert.equal((await writeStdin(b, uuid, 1, { value: "second\n" })).status, 204);
    assert.equal((await writeStdin(b, uuid, 1, { value: "", close: true })).status, 204);
    const op = await waitOp(b, uuid);
    assert.equal(op.metadata.result.stdout.value, "first second\n");
    assert.equal(
      (await call(b, "GET", `/v1/operations/${uuid}/subprocesses/1`)).body.state
        .exit_code,
      0,
    );
    assert.equal((await writeStdin(b, uuid, 1, { value: "x" })).status, 409);

    const closed = await instance();
    const res = await writeStdin(b, closed, 1, { value: "x" });
    assert.equal(res.status, 409);
    assert.match(res.body.error, /close": false/);
  });

  it("holds the sandbox's isolation: own namespace's capabilities, no host files or processes", async () => {
    const name = `contree-marker-${crypto.randomUUID()}`;
    await Deno.writeTextFile(`/tmp/${name}`, "host secret");
    try {
      const uuid = await instance();
      for (const [uid, permitted] of [[0, ROOT_CAPS], [1000, NO_CAPS]] as const) {
        const caps = await execOutput(b, uuid, {
          command: "grep",
          args: ["Cap", "/proc/self/status"],
          uid,
          gid: uid,
        });
        assert.equal(caps.stdout.trim(), capLines(permitted));
      }
      const { stdout } = await execOutput(b, uuid, {
        command: `cat /tmp/${name} 2>/dev/null && echo host file; ` +
          `kill -0 ${b.pid} 2>/dev/null && echo host process; ` +
          `${hostPrivilegeProbe(false)}; ls /proc | grep -c '^[0-9]'`,
        shell: true,
      });
      // init, sleep, sh, ls and grep.
      assert.match(stdout, /^checked\n\d+\n$/, stdout);
      assert.ok(Number(stdout.split("\n")[1]) <= 5, stdout);
    } finally {
      await Deno.remove(`/tmp/${name}`);
    }
  });

  it("reaches neither the host's loopback nor the backend, with networking or without", {
    skip: SERVER_USER && (Deno.statSync("/dev/net/tun").mode! & 0o006) !== 0o006
      ? "a server without root has no networking on a host whose /dev/net/tun is root's"
      : false,
  }, async () => {
    let connections = 0;
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const serving = (async () => {
      for await (const conn of listener) {
        connections++;
        await conn.write(new TextEncoder().encode("from host\n"));
        conn.close();
      }
    })();
    try {
      const backendPort = new URL(b.url).port;
      assert.match(backendPort, /^\d+$/);
      const nc = {
        command: `for port in ${listener.addr.port} ${backendPort}; do ` +
          `nc -w 2 127.0.0.1 $port </dev/null; echo "rc=$?"; done; ip -o link | grep -vc ': lo:'`,
        shell: true,
      };
      const closed = await execOutput(b, await instance(), nc);
      assert.equal(closed.stdout, "rc=1\nrc=1\n0\n");
      // With networking the instance has an interface to the outside, yet the host's
      // loopback (a test service and the backend's own port) stays out of reach.
      const open = await execOutput(b, await instance({ networking: { enabled: true } }), nc);
      assert.equal(open.stdout, "rc=1\nrc=1\n1\n");
      assert.equal(connections, 0);
    } finally {
      listener.close();
      await serving.catch(() => {});
    }
  });
});
