// Every `contree` command against the real local backend, through the Deno entry and the
// compiled binary: exit codes, `-f json` output, files really copied, a Dockerfile built.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import process from "node:process";
import { type CliFixture, commandLine, jsonLines, type Mode, startCli } from "./_cli.ts";

for (const mode of ["binary", "deno"] as Mode[]) {
  describe(`contree commands (${mode})`, () => {
    let t: CliFixture;
    const session = `s-${mode}`;
    const contree = (args: string[], options = {}) =>
      t.run(mode, ["-S", session, ...args], options);
    const json = async (args: string[], options = {}) => {
      const result = await t.run(mode, ["-f", "json", "-S", session, ...args], options);
      assert.equal(result.code, 0, result.stderr);
      return jsonLines(result.stdout);
    };

    before(async () => {
      t = await startCli();
    });
    after(async () => {
      await t?.dispose();
    });

    it("prints --help for every command and exits 2 on usage mistakes", async () => {
      const commands = [
        [],
        ["auth"],
        ["use"],
        ["run"],
        ["build"],
        ["images"],
        ["images", "import"],
        ["tag"],
        ["ps"],
        ["show"],
        ["kill"],
        ["op"],
        ["op", "wait"],
        ["op", "cancel"],
        ["op", "show"],
        ["ls"],
        ["cat"],
        ["cp"],
        ["file", "cp"],
        ["cd"],
        ["env"],
        ["session"],
        ["session", "log"],
        ["session", "rollback"],
        ["session", "branch"],
        ["session", "checkout"],
        ["diff"],
      ];
      for (const words of commands) {
        const result = await t.run(mode, [...words, "--help"]);
        assert.equal(result.code, 0, `${words.join(" ")}: ${result.stderr}`);
        assert.match(result.stdout, /Usage: contree/);
      }
      const wrong = await t.run(mode, ["images", "--bogus"]);
      assert.equal(wrong.code, 2);
      assert.match(wrong.stderr, /unknown option/);
      assert.equal(statSync(join(t.home, "auth.ini")).mode & 0o777, 0o600);
      assert.match(readFileSync(join(t.home, "auth.ini"), "utf8"), /^\[profile:default\]$/m);
      const missing = await t.run(mode, ["-p", "nobody", "ls"]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /Profile 'nobody' does not exist/);
    });

    it("auth saves a profile under the global -p; auth ls, switch and remove", async () => {
      const name = `p-${mode}`;
      const saved = await t.run(mode, [
        "-p",
        name,
        "auth",
        "--token",
        t.backend.token,
        "--url",
        t.backend.url,
        "--type",
        "jwt",
      ]);
      assert.equal(saved.code, 0, saved.stderr);
      const listed = jsonLines((await t.run(mode, ["-f", "json", "auth", "ls"])).stdout);
      const mine = listed.find((p) => p.name === name)!;
      assert.equal(mine.status, "ok");
      assert.equal(mine.active, false);
      const bad = await t.run(mode, [
        "-p",
        "bad",
        "auth",
        "--token",
        "wrong",
        "--url",
        t.backend.url,
        "--type",
        "jwt",
      ]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /Token verification failed/);
      assert.equal((await t.run(mode, ["auth", "switch", name])).code, 0);
      const active = jsonLines((await t.run(mode, ["-f", "json", "auth", "ls", "-O"])).stdout);
      assert.equal(active.find((p) => p.active)!.name, name);
      assert.equal((await t.run(mode, ["auth", "switch", "default"])).code, 0);
      assert.equal((await t.run(mode, ["auth", "rm", "-y", name])).code, 0);
      const left = jsonLines((await t.run(mode, ["-f", "json", "auth", "ls", "-O"])).stdout);
      assert.deepEqual(left.map((p) => p.name), ["default"]);
      assert.ok(!left.some((p) => p.name === name));
    });

    it("use sets the session image and prints the export line", async () => {
      const used = await contree(["use", "tag:busybox:latest"]);
      assert.equal(used.code, 0, used.stderr);
      assert.equal(used.stdout, `export CONTREE_SESSION=${session}\n`);
      const [shown] = await json(["use"]);
      assert.equal(shown.session_key, session);
      assert.equal(shown.last_kind, "use");
    });

    it("run passes the command's exit code, output, -s, -e, -C and piped stdin", async () => {
      const failed = await contree(["run", "--", "sh", "-c", "echo out; echo err >&2; exit 7"]);
      assert.equal(failed.code, 7);
      assert.equal(failed.stdout, "out\n");
      assert.match(failed.stderr, /err\n/);
      // Killed by a signal: 128 + its number; out of time: 124, as a shell and `timeout` say.
      assert.equal((await contree(["run", "-s", "--", "kill -TERM $$"])).code, 143);
      const late = await contree(["run", "-t", "1", "--", "sleep", "10"]);
      assert.equal(late.code, 124);
      assert.match(late.stderr, /timed out after 1s/);
      const shell = await contree([
        "run",
        "-s",
        "-e",
        "GREETING=hi there",
        "-C",
        "/etc",
        "--",
        'echo "$GREETING" $(pwd)',
      ]);
      assert.equal(shell.code, 0, shell.stderr);
      assert.equal(shell.stdout, "hi there /etc\n");
      const piped = await contree(["run", "-D", "--", "tr", "a-z", "A-Z"], {
        stdin: "piped text\n",
      });
      assert.equal(piped.stdout, "PIPED TEXT\n");
      const structured = await t.run(mode, [
        "-f",
        "json",
        "-S",
        session,
        "run",
        "-D",
        "--",
        "sh",
        "-c",
        "echo j; exit 4",
      ]);
      assert.equal(structured.code, 4);
      const [row] = jsonLines(structured.stdout);
      assert.equal(row.exit_code, 4);
      const other = `use-${mode}`;
      const switched = await t.run(mode, [
        "-S",
        other,
        "run",
        "--use",
        "tag:busybox:latest",
        "-D",
        "--",
        "true",
      ]);
      assert.equal(switched.code, 0, switched.stderr);
      const steps = jsonLines(
        (await t.run(mode, ["-f", "json", "-S", other, "session", "show"])).stdout,
      );
      assert.deepEqual(steps.map((step) => [step.kind, step.title]), [[
        "use",
        "tag:busybox:latest",
      ]]);
      const slow = await contree(["run", "-D", "-t", "1", "--", "sleep", "30"]);
      assert.notEqual(slow.code, 0);
      assert.match(slow.stderr, /timed out after 1s/);
      assert.equal(row.stdout, "j\n");
      assert.equal(row.status, "SUCCESS");
    });

    it("run -I runs a shebang script; a closed stdout ends with 141 and cancels the run", async () => {
      writeFileSync(
        join(t.scratch, "script.sh"),
        '#!/usr/bin/env -S contree run -I\necho "args: $*"\n',
      );
      const script = await contree(["run", "-D", "-I", "script.sh", "a", "b c"]);
      assert.equal(script.code, 0, script.stderr);
      assert.equal(script.stdout, "args: a b c\n");
      const piped = await t.shell(
        mode,
        `$contree -S ${session} run -D -- sh -c 'while true; do echo y; sleep 0.1; done' | head -c 4; echo " status=\${PIPESTATUS[0]}"`,
      );
      assert.equal(piped.stdout, "y\ny\n status=141\n", piped.stderr);
      // The cancellation is asked for before exiting; the server ends the run soon after.
      let cancelled: Record<string, unknown>[] = [];
      for (let i = 0; i < 100 && cancelled.length === 0; i++) {
        cancelled = await json(["ps", "-a", "--status", "C"]);
        if (cancelled.length === 0) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.equal(cancelled.length, 1);
    });

    it("run --file sends files with a mode; --disposable keeps the session image", async () => {
      writeFileSync(join(t.scratch, "tool.sh"), "#!/bin/sh\necho tool ran\n");
      mkdirSync(join(t.scratch, "tree/sub"), { recursive: true });
      writeFileSync(join(t.scratch, "tree/sub/a.txt"), "A\n");
      writeFileSync(join(t.scratch, "tree/.hidden"), "skip\n");
      const before = (await json(["use"]))[0].current_image;
      const ran = await contree([
        "run",
        "--file",
        "tool.sh:/opt/tool.sh:0750",
        "--file",
        "tree:/srv/tree",
        "--",
        "sh",
        "-c",
        "stat -c %a /opt/tool.sh; /opt/tool.sh; cat /srv/tree/sub/a.txt; ls -a /srv/tree",
      ]);
      assert.equal(ran.code, 0, ran.stderr);
      assert.equal(ran.stdout, "750\ntool ran\nA\n.\n..\nsub\n");
      const afterRun = (await json(["use"]))[0].current_image;
      assert.notEqual(afterRun, before);
      const disposable = await contree(["run", "--disposable", "-s", "--", "touch /gone"]);
      assert.equal(disposable.code, 0);
      assert.equal((await json(["use"]))[0].current_image, afterRun);
      const gone = await contree(["run", "-D", "--", "test", "-e", "/gone"]);
      assert.equal(gone.code, 1);
    });

    it("ls, cat and cp read the image without a sandbox", async () => {
      await contree([
        "run",
        "-s",
        "--",
        "mkdir -p /data && printf 'line1\\nline2\\n' > /data/f.txt && head -c 300000 /dev/urandom > /data/blob",
      ]);
      const listing = await json(["ls", "/data"]);
      assert.deepEqual(listing.map((item) => item.path).sort(), ["blob", "f.txt"]);
      assert.equal(listing.find((item) => item.path === "f.txt")!.size, 12);
      const cat = await contree(["cat", "/data/f.txt"]);
      assert.equal(cat.stdout, "line1\nline2\n");
      const catBlob = await contree(["cat", "/data/blob"]);
      const copied = await contree(["cp", "/data/blob", "blob.bin"]);
      assert.equal(copied.code, 0, copied.stderr);
      const local = readFileSync(join(t.scratch, "blob.bin"));
      assert.equal(local.length, 300000);
      assert.deepEqual(new Uint8Array(local), catBlob.stdoutBytes);
      const missing = await contree(["cat", "/data/nope"]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /error:/);
    });

    it("colours only on FORCE_COLOR (NO_COLOR and pipes stay plain)", async () => {
      const plain = await contree(["ls", "/"]);
      assert.ok(!plain.stdout.includes("\x1b["), plain.stdout);
      const forced = await contree(["ls", "/"], { env: { FORCE_COLOR: "1" } });
      assert.ok(forced.stdout.includes("\x1b[34mbin/\x1b[39m"), forced.stdout);
      const off = await contree(["ls", "/"], { env: { FORCE_COLOR: "0", NO_COLOR: "" } });
      assert.ok(!off.stdout.includes("\x1b["), off.stdout);
    });

    it("env, cd and file cp shape the next runs", async () => {
      assert.equal((await contree(["env", "A=1", "B=two"])).code, 0);
      assert.equal((await contree(["env", "-U", "A"])).code, 0);
      assert.deepEqual(await json(["env"]), [{ key: "B", value: "two" }]);
      assert.equal((await contree(["cd", "/data"])).code, 0);
      assert.equal((await contree(["cd", "/no/such/dir"])).code, 1);
      writeFileSync(join(t.scratch, "staged.txt"), "staged\n");
      chmodSync(join(t.scratch, "staged.txt"), 0o640);
      const staged = await json(["file", "cp", "staged.txt", "staged.txt"]);
      assert.equal(staged[0].dest, "/data/staged.txt");
      const ran = await contree([
        "run",
        "-s",
        "--",
        'echo "$B $(pwd)"; cat staged.txt; stat -c %a staged.txt',
      ]);
      assert.equal(ran.stdout, "two /data\nstaged\n640\n");
      assert.equal((await contree(["cd", "/"])).code, 0);
      assert.equal((await contree(["env", "-U", "B"])).code, 0);
    });

    it("tag, images (--prefix, -i, -a, --since, --until) and tag -U", async () => {
      const image = (await json(["use"]))[0].current_image as string;
      const tagged = await json(["tag", `cli-${mode}:v1`]);
      assert.equal(tagged[0].uuid, image);
      const listed = await json(["images", "--prefix", `cli-${mode}`]);
      assert.deepEqual(listed.map((i) => i.tag), [`cli-${mode}:v1`]);
      const byUuid = await json(["images", "-i", image]);
      assert.equal(byUuid[0].uuid, image);
      const all = await json(["images", "-a", "--since", "1d"]);
      assert.ok(all.length > (await json(["images"])).length);
      assert.deepEqual(await json(["images", "--until", "2000-01-01"]), []);
      const csv = await t.run(mode, ["-f", "csv", "images", "--prefix", `cli-${mode}`]);
      assert.match(csv.stdout, /^uuid,tag,created_at/);
      assert.equal((await contree(["tag", "-U", image, `cli-${mode}:v1`])).code, 0);
      assert.deepEqual(await json(["images", "--prefix", `cli-${mode}`]), []);
    });

    it("run -d, ps, show, op show|wait|cancel and kill", async () => {
      const [detached] = await json(["run", "-d", "-D", "--", "sh", "-c", "echo bg; exit 3"]);
      const uuid = detached.uuid as string;
      const waited = await t.run(mode, ["-f", "json", "op", "wait", uuid]);
      assert.equal(waited.code, 0, waited.stderr);
      assert.equal(jsonLines(waited.stdout)[0].exit_code, 3);
      const [shown] = await json(["show", uuid]);
      assert.equal(shown.stdout, "bg\n");
      assert.equal(shown.status, "SUCCESS");
      const opShown = await json(["op", "show", uuid]);
      assert.equal(opShown[0].uuid, uuid);
      const everything = await json(["ps", "-a"]);
      assert.ok(everything.some((op) => op.uuid === uuid));
      const quiet = await contree(["ps", "-a", "-q"]);
      assert.ok(quiet.stdout.split("\n").includes(uuid));
      const [sleeper] = await json(["run", "-d", "-D", "--", "sleep", "60"]);
      const [other] = await json(["run", "-d", "-D", "--", "sleep", "60"]);
      const early = await contree(["op", "wait", "-t", "1", sleeper.uuid as string]);
      assert.equal(early.code, 1);
      assert.equal((await contree(["kill", sleeper.uuid as string])).code, 0);
      assert.equal((await contree(["op", "cancel", other.uuid as string])).code, 0);
      const ended = await t.run(mode, [
        "-f",
        "json",
        "op",
        "wait",
        sleeper.uuid as string,
        other.uuid as string,
      ]);
      assert.equal(ended.code, 1);
      assert.deepEqual(jsonLines(ended.stdout).map((op) => op.status), ["CANCELLED", "CANCELLED"]);
    });

    it("session show, branch, checkout, rollback and log", async () => {
      const name = `b-${mode}`;
      await contree(["use", "tag:busybox:latest"]);
      await contree(["run", "-s", "--", "echo one > /step"]);
      const [one] = await json(["use"]);
      assert.equal((await contree(["session", "branch", name])).code, 0);
      assert.equal((await contree(["session", "checkout", name])).code, 0);
      await contree(["run", "-s", "--", "echo two > /step"]);
      assert.equal((await contree(["cat", "/step"])).stdout, "two\n");
      assert.equal((await contree(["session", "checkout", "main"])).code, 0);
      assert.equal((await contree(["cat", "/step"])).stdout, "one\n");
      await contree(["run", "-s", "--", "echo three > /step"]);
      const history = await json(["session", "show"]);
      assert.ok(history.length >= 4);
      const log = await contree(["session", "log"]);
      assert.equal(log.code, 0);
      assert.match(log.stdout, /\(HEAD -> main\)/);
      assert.match(log.stdout, new RegExp(`\\(${name}\\)`));
      assert.match(log.stdout, /^\| \* /m, log.stdout);
      assert.match(log.stdout, /^\* \d+ .*echo three/m);
      const back = await contree(["session", "rollback"]);
      assert.equal(back.code, 0);
      assert.equal((await json(["use"]))[0].current_image, one.current_image);
      const forward = await contree(["session", "rollback", "+1"]);
      assert.equal(forward.code, 0);
      assert.equal((await contree(["cat", "/step"])).stdout, "three\n");
      const first = history[0].id as number;
      assert.equal((await contree(["session", "rollback", String(first)])).code, 0);
      assert.equal((await json(["use"]))[0].current_image, history[0].image);
      assert.equal((await contree(["session", "rollback", "--", "-1"])).code, 1);
      const branches = await json(["session", "branch"]);
      assert.deepEqual(branches.map((b) => b.branch).sort(), ["main", name].sort());
    });

    it("build runs a Dockerfile (FROM, ARG, ENV, WORKDIR, COPY, RUN) and tags it", async () => {
      const dir = join(t.scratch, `ctx-${mode}`);
      mkdirSync(join(dir, "src"), { recursive: true });
      writeFileSync(join(dir, "src/app.sh"), "#!/bin/sh\necho app $GREETING\n");
      chmodSync(join(dir, "src/app.sh"), 0o755);
      writeFileSync(join(dir, "notes.txt"), "notes\n");
      writeFileSync(join(dir, "secret.key"), "key\n");
      writeFileSync(join(dir, "src/debug.log"), "debug\n");
      mkdirSync(join(dir, "logs"));
      writeFileSync(join(dir, "logs/old.log"), "old\n");
      writeFileSync(join(dir, "logs/keep.log"), "keep\n");
      writeFileSync(
        join(dir, ".dockerignore"),
        "# left out of COPY\n*.key\n/logs/\n**/debug.log\n!logs/keep.log\n",
      );
      writeFileSync(
        join(dir, "Dockerfile"),
        [
          "# a comment",
          "ARG BASE=tag:busybox:latest",
          "FROM $BASE",
          "ARG WHO=nobody",
          "ENV GREETING=hello \\",
          "    OTHER=x",
          "WORKDIR /app",
          "COPY src/ ./bin/",
          "COPY notes.txt /app/",
          'RUN echo "built by $WHO" > built.txt && ./bin/app.sh > out.txt',
          'RUN for word in one "$OTHER"; do echo "$word"; done > words.txt',
          "COPY . /ctx/",
          "EXPOSE 80",
        ].join("\n"),
      );
      const built = await t.run(mode, [
        "-f",
        "json",
        "-S",
        session,
        "build",
        "--tag",
        `built-${mode}:1`,
        "--build-arg",
        "WHO=cli",
        "--no-cache",
        dir,
      ]);
      assert.equal(built.code, 0, built.stderr);
      const [row] = jsonLines(built.stdout);
      assert.equal(row.tag, `built-${mode}:1`);
      await contree(["use", `built-${mode}:1`]);
      assert.equal((await contree(["cat", "/app/built.txt"])).stdout, "built by cli\n");
      assert.equal((await contree(["cat", "/app/out.txt"])).stdout, "app hello\n");
      assert.equal((await contree(["cat", "/app/notes.txt"])).stdout, "notes\n");
      // RUN is left to the shell: its own variables work, ENV and ARG are in its environment.
      assert.equal((await contree(["cat", "/app/words.txt"])).stdout, "one\nx\n");
      const copied = await contree(["run", "--", "find", "/ctx", "-type", "f"]);
      assert.deepEqual(copied.stdout.trim().split("\n").sort(), [
        "/ctx/Dockerfile",
        "/ctx/logs/keep.log",
        "/ctx/notes.txt",
        "/ctx/src/app.sh",
      ]);
      writeFileSync(join(dir, "Ignored"), "FROM tag:busybox:latest\nCOPY secret.key /\n");
      const ignored = await contree(["build", "--dockerfile", join(dir, "Ignored"), dir]);
      assert.equal(ignored.code, 1);
      assert.match(ignored.stderr, /secret\.key not found in the build context \(\.dockerignore/);
      writeFileSync(join(dir, "Bad"), "FROM tag:busybox:latest\nRUN exit 5\n");
      const bad = await contree(["build", "--dockerfile", join(dir, "Bad"), dir]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /exit code 5/);
      // Each step's run has the official CLI's time limit, 600 s by default, else --timeout.
      const [failed] = (await contree(["ps", "-a", "-q"])).stdout.split("\n");
      const shown = JSON.parse((await contree(["show", "--raw", failed])).stdout);
      assert.equal(shown.metadata.command, "exit 5");
      assert.equal(shown.metadata.timeout, 600);
      writeFileSync(join(dir, "Slow"), "FROM tag:busybox:latest\nRUN sleep 30\n");
      const slow = await contree(["build", "-t", "1", "--dockerfile", join(dir, "Slow"), dir]);
      assert.equal(slow.code, 1);
      assert.match(slow.stderr, /Slow:2 timed out after 1 s/);
    });

    it("build runs the steps after USER as that user, with its home; COPY --chown takes names", async () => {
      const dir = join(t.scratch, `user-${mode}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "f.txt"), "f\n");
      writeFileSync(
        join(dir, "Dockerfile"),
        [
          "FROM tag:busybox:latest",
          "RUN echo app:x:1234:1234::/home/app:/bin/sh >> /etc/passwd && " +
          "echo staff2:x:2345: >> /etc/group",
          "USER app:staff2",
          "WORKDIR /srv/app",
          'RUN echo "$(id -u):$(id -g) $HOME" > who && touch made',
          "USER 0",
          "COPY --chown=app:staff2 f.txt /srv/named",
          "COPY --chown=app f.txt /srv/user-only",
          "RUN stat -c %u:%g /srv/app/made /srv/app /srv/named /srv/user-only > owners",
        ].join("\n"),
      );
      const built = await t.run(mode, ["-S", session, "build", "--no-cache", dir]);
      assert.equal(built.code, 0, built.stderr);
      await contree(["use", /Built (\S+)/.exec(built.stderr)![1]]);
      assert.equal((await contree(["cat", "/srv/app/who"])).stdout, "1234:2345 /home/app\n");
      assert.equal(
        (await contree(["cat", "/srv/app/owners"])).stdout,
        "1234:2345\n1234:2345\n1234:2345\n1234:1234\n",
      );
      writeFileSync(join(dir, "Nobody"), "FROM tag:busybox:latest\nUSER nobody2\nRUN true\n");
      const unknown = await contree(["build", "--dockerfile", join(dir, "Nobody"), dir]);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /Nobody:2: no user 'nobody2' in \/etc\/passwd/);
    });

    it("build ADDs files from URLs and keeps COPY inside the context", async () => {
      const server = createServer((req, res) => {
        if (req.url !== "/files/tool.sh") return res.writeHead(404).end();
        res.writeHead(200, { "content-type": "text/plain" }).end("#!/bin/sh\necho tool ran\n");
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      try {
        const dir = join(t.scratch, `add-${mode}`);
        mkdirSync(dir, { recursive: true });
        writeFileSync(
          join(dir, "Dockerfile"),
          [
            "FROM tag:busybox:latest",
            `ADD ${url}/files/tool.sh /opt/`,
            `ADD --chmod=755 --chown=7:8 ${url}/files/tool.sh /usr/local/bin/tool`,
            "RUN tool > /out && stat -c '%a %u:%g' /opt/tool.sh /usr/local/bin/tool >> /out",
          ].join("\n"),
        );
        const built = await t.run(mode, ["-S", session, "build", dir]);
        assert.equal(built.code, 0, built.stderr);
        await contree(["use", /Built (\S+)/.exec(built.stderr)![1]]);
        assert.equal((await contree(["cat", "/out"])).stdout, "tool ran\n644 0:0\n755 7:8\n");
        writeFileSync(join(dir, "Missing"), `FROM tag:busybox:latest\nADD ${url}/nothing /x\n`);
        const missing = await contree(["build", "--dockerfile", join(dir, "Missing"), dir]);
        assert.equal(missing.code, 1);
        assert.match(missing.stderr, /Missing:2: http:\S+\/nothing: HTTP 404/);
        // A sibling directory whose name starts with the context's is still outside it.
        mkdirSync(`${dir}-secrets`, { recursive: true });
        writeFileSync(`${dir}-secrets/key`, "key\n");
        writeFileSync(
          join(dir, "Outside"),
          `FROM tag:busybox:latest\nCOPY ../add-${mode}-secrets/key /key\n`,
        );
        const outside = await contree(["build", "--dockerfile", join(dir, "Outside"), dir]);
        assert.equal(outside.code, 1);
        assert.match(outside.stderr, /is outside the build context/);
      } finally {
        server.close();
      }
    });

    it("Ctrl-C cancels the operation of run and of build's step, exiting 130", async () => {
      /** Starts `contree ARGS`, sends it SIGINT once `ready` is printed, and waits for its end. */
      const interrupt = (args: string[]) =>
        new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
          const argv = [...commandLine(mode), "-S", session, ...args];
          const child = spawn(argv[0], argv.slice(1), {
            env: { ...process.env, CONTREE_HOME: t.home, NO_COLOR: "1" },
            cwd: t.scratch,
            stdio: ["ignore", "pipe", "pipe"],
          });
          let output = "";
          let stderr = "";
          const watch = (chunk: Buffer, into: "out" | "err") => {
            if (into === "err") stderr += chunk;
            if (!output.includes("ready") && (output += chunk).includes("ready")) {
              // Not child.kill: Deno's node:child_process then reports the signal it sent as
              // the cause of the exit, whatever the exit code.
              process.kill(child.pid!, "SIGINT");
            }
          };
          child.stdout.on("data", (chunk) => watch(chunk, "out"));
          child.stderr.on("data", (chunk) => watch(chunk, "err"));
          child.on("error", reject);
          child.on("close", (code) => resolve({ code, stderr }));
        });
      const cancelled = async (result: { code: number | null; stderr: string }) => {
        assert.equal(result.code, 130, result.stderr);
        const uuid = /interrupted: operation (\S+) cancelled/.exec(result.stderr)?.[1];
        assert.ok(uuid, result.stderr);
        const [op] = await json(["show", uuid]);
        assert.equal(op.status, "CANCELLED");
      };
      await contree(["use", "tag:busybox:latest"]);
      await cancelled(await interrupt(["run", "-s", "--", "echo ready; sleep 60"]));
      const dir = join(t.scratch, `interrupted-${mode}`);
      mkdirSync(dir, { recursive: true });
      // `rea""dy`: the step's title, printed before it runs, must not say "ready".
      writeFileSync(
        join(dir, "Dockerfile"),
        'FROM tag:busybox:latest\nRUN echo rea""dy; sleep 60\n',
      );
      await cancelled(await interrupt(["build", dir]));
    });

    it("build reuses the steps its layer cache has and reruns from the first change", async () => {
      const dir = join(t.scratch, `cached-${mode}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "a.txt"), `a ${mode}\n`);
      writeFileSync(join(dir, "b.txt"), "b\n");
      writeFileSync(
        join(dir, "Dockerfile"),
        [
          "FROM tag:busybox:latest",
          "COPY a.txt /a.txt",
          "RUN cat /proc/sys/kernel/random/uuid > /stamp1",
          "COPY b.txt /b.txt",
          "RUN cat /proc/sys/kernel/random/uuid > /stamp2",
        ].join("\n"),
      );
      const build = async (...extra: string[]) => {
        const result = await t.run(mode, ["-S", session, "build", ...extra, dir]);
        assert.equal(result.code, 0, result.stderr);
        const image = /Built (\S+)/.exec(result.stderr)![1];
        await contree(["use", image]);
        const stamp1 = (await contree(["cat", "/stamp1"])).stdout;
        const stamp2 = (await contree(["cat", "/stamp2"])).stdout;
        return { image, stamp1, stamp2, hits: result.stderr.match(/Using cache/g)?.length ?? 0 };
      };
      const first = await build();
      const again = await build();
      assert.equal(again.hits, 2);
      assert.deepEqual(again, { ...first, hits: 2 });
      writeFileSync(join(dir, "b.txt"), "b changed\n");
      const changed = await build();
      assert.equal(changed.hits, 1);
      assert.equal(changed.stamp1, first.stamp1);
      assert.notEqual(changed.stamp2, first.stamp2);
      const fresh = await build("--no-cache");
      assert.equal(fresh.hits, 0);
      assert.notEqual(fresh.stamp1, first.stamp1);
    });
  });
}
