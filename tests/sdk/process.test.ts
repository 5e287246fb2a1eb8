// popen() against the real local backend: live streams, wait, communicate, check, kill,
// timeouts, and piped stdin (live where the server supports it, one-shot where it does not).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Contree, ContreeProcessError, OperationTimedOutError } from "../../src/sdk/mod.ts";
import { terminal, text, useBackend } from "./_setup.ts";

describe("popen", () => {
  const t = useBackend();

  it("runs an argv and streams stdout and stderr live", async () => {
    const proc = t.busybox.popen(["sh", "-c", "echo out; echo err >&2; exit 4"]);
    assert.deepEqual(proc.args, ["sh", "-c", "echo out; echo err >&2; exit 4"]);
    assert.equal(proc.stdin, undefined);
    assert.equal(proc.exitCode, undefined);
    const [out, err] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
    ]);
    assert.deepEqual([out, err], ["out\n", "err\n"]);
    assert.equal(await proc.wait(), 4);
    assert.equal(proc.exitCode, 4);
  });

  it("reaches the network only with network: true", async () => {
    const shell = "ip -o link | grep -vc ': lo:'; true";
    for (const [network, count] of [[undefined, "0\n"], [true, "1\n"]] as const) {
      const proc = t.busybox.popen(shell, { network });
      assert.equal(await new Response(proc.stdout).text(), count);
      assert.equal(await proc.wait(), 0);
    }
  });

  it("delivers chunks as they come", async () => {
    const proc = t.busybox.popen("echo one; sleep 0.3; echo two");
    const reader = proc.stdout.getReader();
    const first = await reader.read();
    assert.equal(text(first.value!), "one\n");
    const second = await reader.read();
    assert.equal(text(second.value!), "two\n");
    assert.equal((await reader.read()).done, true);
    assert.equal(await proc.wait(), 0);
  });

  it("runs a string through the shell, or as a plain command with shell: false", async () => {
    assert.equal((await t.busybox.popen("echo $((1 + 2))").communicate()).stdout, "3\n");
    const plain = t.busybox.popen("pwd", { shell: false, cwd: "/tmp" });
    assert.equal((await plain.communicate()).stdout, "/tmp\n");
    const quoted = t.busybox.popen(["echo", "it's", "$HOME"], { shell: true });
    assert.equal((await quoted.communicate()).stdout, "it's $HOME\n");
  });

  it("passes env, cwd and one-shot stdin data", async () => {
    const proc = t.busybox.popen(["sh", "-c", 'cat; echo "$A $(pwd)"'], {
      env: { A: "env-a" },
      cwd: "/etc",
      stdin: "from stdin\n",
    });
    assert.deepEqual(await proc.communicate(), { stdout: "from stdin\nenv-a /etc\n", stderr: "" });
  });

  it("communicate(input) writes to a piped stdin and closes it", async () => {
    const proc = t.busybox.popen(["tr", "a-z", "A-Z"], { stdin: "pipe" });
    assert.ok(proc.stdin instanceof WritableStream);
    const { stdout } = await proc.communicate("hello\n");
    assert.equal(stdout, "HELLO\n");
    assert.equal(proc.exitCode, 0);
  });

  it("takes writes on a piped stdin until it is closed", async () => {
    const proc = t.busybox.popen(["wc", "-c"], { stdin: "pipe" });
    const writer = proc.stdin!.getWriter();
    await writer.write(new TextEncoder().encode("12345"));
    await writer.write(new TextEncoder().encode("678"));
    await writer.close();
    assert.equal((await new Response(proc.stdout).text()).trim(), "8");
    assert.equal(await proc.wait(), 0);
  });

  it("talks to a running process through a live stdin pipe", async () => {
    const proc = t.busybox.popen(["sh", "-c", "while read line; do echo got $line; done"], {
      stdin: "pipe",
    });
    const writer = proc.stdin!.getWriter();
    const reader = proc.stdout.getReader();
    await writer.write(new TextEncoder().encode("one\n"));
    assert.equal(text((await reader.read()).value!), "got one\n");
    await writer.write(new TextEncoder().encode("two\n"));
    assert.equal(text((await reader.read()).value!), "got two\n");
    await writer.close();
    assert.equal(await proc.wait(), 0);
    assert.equal((await reader.read()).done, true);
  });

  it("collects a piped stdin and sends it at close on a server without live stdin", async () => {
    // The real backend, seen through a fetch that answers 501 to the subprocess routes as a
    // server without them does.
    const subprocessCalls: string[] = [];
    const older = new Contree({
      baseUrl: t.backend.url,
      token: t.backend.token,
      fetch: (input, init) => {
        const url = String(input);
        if (!url.includes("/subprocesses")) return fetch(input, init);
        subprocessCalls.push(url);
        const body = JSON.stringify({ error: "not supported", status: 501 });
        return Promise.resolve(new Response(body, { status: 501 }));
      },
    });
    const image = await older.images.use(t.busybox.uuid!);
    const proc = image.popen(["sh", "-c", "cat; echo end"], { stdin: "pipe" });
    const writer = proc.stdin!.getWriter();
    await writer.write(new TextEncoder().encode("first "));
    await writer.write(new TextEncoder().encode("second\n"));
    await writer.close();
    assert.equal(await new Response(proc.stdout).text(), "first second\nend\n");
    assert.equal(await proc.wait(), 0);
    assert.equal(subprocessCalls.length, 1);
    await older.close();
  });

  it("refuses communicate(input) without a pipe", async () => {
    await assert.rejects(t.busybox.popen("cat").communicate("x"), TypeError);
  });

  it("check: true throws a typed error with the exit code and output", async () => {
    const failing = t.busybox.popen("echo partial; echo bad >&2; exit 3", { check: true });
    const error = await failing.wait().then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof ContreeProcessError, String(error));
    assert.deepEqual(
      [error.exitCode, error.stdout, error.stderr, error.command],
      [3, "partial\n", "bad\n", ["echo partial; echo bad >&2; exit 3"]],
    );
    await assert.rejects(
      t.busybox.popen(["false"], { check: true }).communicate(),
      (e: unknown) => e instanceof ContreeProcessError && e.exitCode === 1,
    );
    assert.equal(await t.busybox.popen(["true"], { check: true }).wait(), 0);
  });

  it("kill() cancels the operation and wait() gives -9", async () => {
    const proc = t.busybox.popen("echo started; sleep 60");
    const uuid = (await proc.whenSpawned())!;
    const reader = proc.stdout.getReader();
    assert.equal(text((await reader.read()).value!), "started\n");
    await proc.kill();
    assert.equal(await proc.wait(), -9);
    assert.equal(proc.exitCode, -9);
    assert.equal((await terminal(t.contree, uuid)).status, "CANCELLED");
    assert.equal((await reader.read()).done, true);
  });

  it("kill() before a piped process started ends it at once", async () => {
    const proc = t.busybox.popen(["cat"], { stdin: "pipe" });
    await proc.kill();
    assert.equal(await proc.wait(), -9);
  });

  it("times out with a typed error", async () => {
    const proc = t.busybox.popen("echo before; sleep 30", { timeout: 1 });
    const error = await proc.wait().then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof OperationTimedOutError, String(error));
    assert.equal(error.stdout, "before\n");
  });

  it("aborts through its signal", async () => {
    const controller = new AbortController();
    const proc = t.busybox.popen("sleep 60", { signal: controller.signal });
    const uuid = (await proc.whenSpawned())!;
    controller.abort();
    await assert.rejects(proc.wait(), { name: "AbortError" });
    assert.equal((await terminal(t.contree, uuid)).status, "CANCELLED");
  });

  it("places files before it starts", async () => {
    const proc = t.busybox.popen(["cat", "/in.txt"], {
      files: { "/in.txt": new TextEncoder().encode("file data") },
    });
    assert.equal((await proc.communicate()).stdout, "file data");
  });
});
