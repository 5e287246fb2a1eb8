// The `contree` command tree (commander): the official CLI's grammar, global options before
// the command, `--help` everywhere, and exit codes: the command's own, 1 for errors, 2 for
// usage mistakes.
import process from "node:process";
import { Command, CommanderError, Option } from "commander";
import { ContreeApiError, ContreeError, VERSION } from "../mod.ts";
import { ContreeConfigError } from "../local/mod.ts";
import { Context, type GlobalOptions } from "./_context.ts";
import { FORMATS } from "./_output.ts";
import { UsageError } from "./_session.ts";
import { flushOutput, writeErr, writeOut } from "./_term.ts";
import { authList, authRemove, authSave, authSwitch } from "./_cmd_auth.ts";
import { cat, cd, cp, env, fileCp, ls } from "./_cmd_fs.ts";
import { images, importImages, tag } from "./_cmd_images.ts";
import { cancel, ps, show, wait } from "./_cmd_ops.ts";
import {
  branch,
  checkout,
  rollback,
  sessionDelete,
  sessionList,
  sessionLog,
  sessionShow,
  use,
} from "./_cmd_session.ts";
import { diff } from "./_cmd_diff.ts";
import { build, BuildError, type BuildOptions } from "./_build.ts";
import { BROKEN_PIPE, INTERRUPTED, InterruptedError, isBrokenPipe, runCommand } from "./_run.ts";

const collect = (value: string, previous: string[]) => [...previous, value];
const integer = (name: string) => (value: string) => {
  if (!/^-?\d+$/.test(value)) {
    throw new UsageError(`${name} must be a whole number, not '${value}'`);
  }
  return Number(value);
};
const positive = (name: string) => (value: string) => {
  const n = integer(name)(value);
  if (n < 1) throw new UsageError(`${name} must be >= 1, got ${n}`);
  return n;
};

const EPILOG = `
examples:
  contree auth --token T --url http://127.0.0.1:8080 --type jwt
  contree use tag:busybox:latest          set the session image
  eval $(contree use tag:busybox:latest)  set it and export CONTREE_SESSION
  contree run -- uname -a                 run a command in the session image
  contree run -s -- 'echo hi > /greeting' shell mode
  contree run --file ./app.py:/app.py --disposable -- python /app.py
  contree ls /etc ; contree cat /etc/os-release ; contree cp /etc/passwd .
  contree -f json images | jq -r .uuid
  contree diff tag:base:1 tag:base:2 /etc
  contree session log

environment:
  CONTREE_HOME      data directory (auth.ini, cli/sessions/)
  CONTREE_PROFILE   the profile to use
  CONTREE_SESSION   the session key (or -S NAME)
  NO_COLOR, FORCE_COLOR   colour off / on
`;

/** Builds the command tree; `done(code)` receives each command's exit code. */
function program(done: (code: number) => void): Command {
  const root = new Command("contree")
    .description("ConTree CLI: run sandboxes, manage images, inspect files and track operations.")
    .version(VERSION, "-v, --version", "print the version")
    .enablePositionalOptions()
    .addHelpText("after", EPILOG)
    .option("-p, --profile <name>", "use this profile for the command")
    .option("--token <token>", "API token (overrides the profile)")
    .option("-u, --url <url>", "API base URL (overrides the profile)")
    .option("-P, --project <id>", "project ID (overrides the profile)")
    .option("-c, --config <path>", "the profiles file (default: $CONTREE_HOME/auth.ini)")
    .addOption(
      new Option("-L, --log-level <level>", "logging level").choices([
        "debug",
        "info",
        "warning",
        "error",
        "critical",
      ]).default("info"),
    )
    .addOption(new Option("-f, --format <format>", "output format").choices([...FORMATS]))
    .addOption(
      new Option("-o, --output <format>", "output format (same as -f)").choices([...FORMATS]),
    )
    .option("-S, --session <name>", "session key (instead of CONTREE_SESSION)");

  const context = () => {
    const o = root.opts() as GlobalOptions & { output?: string };
    return new Context({ ...o, format: o.format ?? o.output });
  };
  const act =
    <A extends unknown[]>(handler: (ctx: Context, ...args: A) => Promise<number>) =>
    async (...args: A) => {
      const ctx = context();
      try {
        done(await handler(ctx, ...args));
      } finally {
        await ctx.close();
      }
    };
  const sub = (name: string, description: string, aliases: string[] = []) =>
    root.command(name).description(description).aliases(aliases);

  // auth
  const auth = sub("auth", "configure authentication (saves a verified token as a profile)")
    .option("--token <token>", "API token (prompted if omitted; else CONTREE_TOKEN)")
    .option("-u, --url <url>", "API base URL (else CONTREE_URL)")
    .addOption(new Option("--type <type>", "auth type").choices(["iam", "jwt"]).default("iam"))
    .option("-P, --project <id>", "project ID, IAM only (else CONTREE_PROJECT)")
    .option("-p, --profile <name>", "profile name (default: the global -p, else default)")
    .option("-f, --force", "overwrite an existing profile without asking")
    .addOption(new Option("-y").hideHelp())
    .action(act((ctx, o: Record<string, string | boolean | undefined>) =>
      authSave(ctx, {
        token: o.token as string,
        url: o.url as string,
        type: o.type as string,
        project: o.project as string,
        profile: (o.profile as string | undefined) ?? ctx.options.profile ?? "default",
        force: Boolean(o.force || o.y),
      })
    ));
  auth.command("list").aliases(["ls", "profiles"]).description("list saved profiles")
    .option("-O, --offline", "do not probe /v1/whoami")
    .action(act((ctx, o: { offline?: boolean }) => authList(ctx, Boolean(o.offline))));
  auth.command("switch <name>").description("switch the active profile")
    .action(act((ctx, name: string) => authSwitch(ctx, name)));
  auth.command("remove <name>").aliases(["rm", "del"]).description("remove a profile")
    .option("-f, --force", "do not ask").addOption(new Option("-y").hideHelp())
    .action(
      act((ctx, name: string, o: { force?: boolean; y?: boolean }) =>
        authRemove(ctx, name, Boolean(o.force || o.y))
      ),
    );

  sub("use", "set or show the session image", ["ci"])
    .argument("[image]", "image UUID or tag (tag:NAME or NAME)")
    .option("-N, --new", "start a new session")
    .action(
      act((ctx, image: string | undefined, o: { new?: boolean }) =>
        use(ctx, image, Boolean(o.new))
      ),
    );

  sub("run", "run a command in a sandbox from the session image", ["r"])
    .argument("[command...]", "command and arguments (after --)")
    .passThroughOptions()
    .option("-t, --timeout <seconds>", "timeout in seconds", positive("--timeout"), 120)
    .option(
      "-C, --cwd <dir>",
      "working directory in the sandbox (default: the session's, else WORKDIR)",
    )
    .option("-e, --env <KEY=VALUE>", "environment variable (repeatable)", collect, [])
    .option("-H, --hostname <name>", "sandbox hostname", "linuxkit")
    .option("-D, --disposable", "drop filesystem changes after the run")
    .option("-s, --shell", "run the words as one shell expression")
    .option(
      "-F, --file <LOCAL[:DEST][:uUID][:gGID][:mMODE]>",
      "send a local file or directory (repeatable; DEST:0755 sets the mode too)",
      collect,
      [],
    )
    .option("--file-excludes <pattern>", "more excludes for directories (repeatable)", collect, [])
    .option("-T, --truncate <bytes>", "truncate output at N bytes", positive("--truncate"), 65536)
    .option("-d, --detach", "print the operation and exit without waiting")
    .option("--preserve-env", "keep the environment in the result image (server side)")
    .option("--use <image>", "switch the session to IMAGE first")
    .option("-I, --interpreter", "shebang mode: run the script file given first with sh -s")
    .action(act((ctx, words: string[], o: Record<string, unknown>) =>
      runCommand(ctx, words, {
        timeout: o.timeout as number,
        cwd: o.cwd as string | undefined,
        env: o.env as string[],
        hostname: o.hostname as string,
        disposable: Boolean(o.disposable),
        shell: Boolean(o.shell),
        file: o.file as string[],
        fileExcludes: o.fileExcludes as string[],
        truncate: o.truncate as number,
        detach: Boolean(o.detach),
        preserveEnv: Boolean(o.preserveEnv),
        use: o.use as string | undefined,
        interpreter: Boolean(o.interpreter),
      })
    ));

  sub("build", "build an image from a Dockerfile (FROM, ARG, ENV, WORKDIR, COPY, ADD, USER, RUN)", [
    "bd",
  ])
    .argument("[context]", "the build context directory", ".")
    .option("--dockerfile <path>", "the Dockerfile (default: CONTEXT/Dockerfile)")
    .option("--tag <name>", "tag the result")
    .option("--build-arg <NAME=VALUE>", "set an ARG (repeatable)", collect, [])
    .option("-t, --timeout <seconds>", "time limit of each RUN step", positive("--timeout"), 600)
    .option("--no-cache", "run every step, even those the layer cache has")
    .action(act((ctx, dir: string, o: BuildOptions) => build(ctx, dir, o)));

  const addListOptions = (command: Command) =>
    command
      .option("--prefix <tag>", "only tags starting with this")
      .option("-i, --uuid <uuid>", "only this image")
      .option("-a, --all", "include untagged images")
      .option("--since <when>", "created since: a date, HH:MM, or an interval back (15m, 2d)")
      .option("--until <when>", "created until (same forms)")
      .option("--limit <n>", "stop after N images", positive("--limit"), 3000);
  const listImages = act((ctx, o: Record<string, unknown>) =>
    images(ctx, {
      prefix: o.prefix as string | undefined,
      uuid: o.uuid as string | undefined,
      all: Boolean(o.all),
      since: o.since as string | undefined,
      until: o.until as string | undefined,
      limit: o.limit as number,
    })
  );
  const imagesCommand = addListOptions(sub("images", "list and import images", ["i", "img"]))
    .action(listImages);
  addListOptions(imagesCommand.command("list").aliases(["ls"]).description("list images"))
    .action(listImages);
  imagesCommand.command("import").description("import images from a registry")
    .argument("<refs...>", "references (brace expansion: name:{a,b}; NAME?tag=TAG)")
    .option("--username <user>", "registry user")
    .option("--password <password>", "registry password (prompted with --username)")
    .option("-t, --timeout <seconds>", "import time limit", positive("--timeout"))
    .option("--tag <name>", "tag for the image (one reference)")
    .action(act((ctx, refs: string[], o: Record<string, unknown>) =>
      importImages(ctx, refs, {
        username: o.username as string | undefined,
        password: o.password as string | undefined,
        timeout: o.timeout as number | undefined,
        tag: o.tag as string | undefined,
      })
    ));

  sub("tag", "tag an image (the session image when only TAG is given)", ["t"])
    .argument("<image-or-tag>", "image UUID or tag:NAME, or the TAG for the session image")
    .argument("[tag]", "the tag")
    .option("-U, --delete", "remove the tag instead")
    .addOption(new Option("-d, --rm").hideHelp())
    .action(
      act((ctx, first: string, second: string | undefined, o: { delete?: boolean; rm?: boolean }) =>
        tag(ctx, first, second, Boolean(o.delete || o.rm))
      ),
    );

  const addPsOptions = (command: Command) =>
    command
      .option("-q, --quiet", "UUIDs only")
      .option("-a, --all", "all operations (default: executing only)")
      .option("--status <status>", "P A E S F C, or a full status name")
      .addOption(
        new Option("-k, --kind <kind>", "operation kind").choices(["image_import", "instance"]),
      )
      .option("--since <when>", "since: a date, HH:MM, or an interval back")
      .option("--until <when>", "until (same forms)")
      .option("-M, --show-max <n>", "show at most N", positive("--show-max"), 1000);
  const listOps = act((ctx, o: Record<string, unknown>) =>
    ps(ctx, {
      quiet: Boolean(o.quiet),
      all: Boolean(o.all),
      status: o.status as string | undefined,
      kind: o.kind as string | undefined,
      since: o.since as string | undefined,
      until: o.until as string | undefined,
      showMax: o.showMax as number,
    })
  );
  addPsOptions(sub("ps", "list operations (same as `operation list`)")).action(listOps);
  const showCommand = (command: Command) =>
    command.argument("<uuids...>", "operation UUIDs").option(
      "--raw",
      "the API's JSON, one per line",
    )
      .action(
        act((ctx, uuids: string[], o: { raw?: boolean }) => show(ctx, uuids, Boolean(o.raw))),
      );
  showCommand(sub("show", "show operation results"));
  const cancelCommand = (command: Command) =>
    command.argument("[uuids...]", "operation UUIDs").option(
      "-a, --all",
      "cancel every active operation",
    )
      .action(
        act((ctx, uuids: string[], o: { all?: boolean }) => cancel(ctx, uuids, Boolean(o.all))),
      );
  cancelCommand(sub("kill", "cancel operations (same as `operation cancel`)"));
  const op = sub("operation", "manage operations: list, show, wait, cancel", ["op"]);
  addPsOptions(op.command("list").aliases(["ls"]).description("list operations")).action(listOps);
  showCommand(op.command("show").aliases(["sh"]).description("show operation results"));
  cancelCommand(op.command("cancel").aliases(["kill", "k"]).description("cancel operations"));
  op.command("wait").aliases(["w"]).description(
    "wait until operations end (exit 1 on timeout or failure)",
  )
    .argument("[uuids...]", "operation UUIDs")
    .option("-a, --all", "wait for every active operation")
    .option("-t, --timeout <seconds>", "give up after N seconds", positive("--timeout"), 60)
    .action(
      act((ctx, uuids: string[], o: { all?: boolean; timeout: number }) =>
        wait(ctx, uuids, Boolean(o.all), o.timeout)
      ),
    );

  sub("ls", "list files of the session image (no sandbox)").argument("[path]", "directory")
    .action(act((ctx, path: string | undefined) => ls(ctx, path)));
  sub("cat", "print a file of the session image").argument("<path>", "file")
    .action(act((ctx, path: string) => cat(ctx, path)));
  sub("cp", "download a file of the session image (resumes after a broken connection)")
    .argument("<path>", "file in the image").argument("[dest]", "local path or directory")
    .action(act((ctx, path: string, dest: string | undefined) => cp(ctx, path, dest)));
  const file = sub("file", "manage files of the session", ["f"]);
  file.command("cp").description("stage a local file (or directory) for the next run")
    .argument("<source>", "local path").argument("<dest>", "path in the image")
    .action(act((ctx, source: string, dest: string) => fileCp(ctx, source, dest)));
  sub("cd", "change (or print) the working directory of later runs").argument("[path]", "directory")
    .action(act((ctx, path: string | undefined) => cd(ctx, path)));
  sub("env", "set, unset (-U) or list the session's environment variables")
    .argument("[items...]", "KEY=VALUE")
    .option("-U, --delete <key>", "unset KEY (repeatable)", collect, [])
    .action(act((ctx, items: string[], o: { delete: string[] }) => env(ctx, items, o.delete)));

  const session = sub("session", "the session's history, branches and rollbacks", ["s"]);
  session.command("list").aliases(["ls"]).description("list sessions")
    .action(act((ctx) => sessionList(ctx)));
  session.command("show").description("show the history")
    .action(act((ctx) => sessionShow(ctx)));
  session.command("log").description("the history as a tree (like git log --graph)")
    .action(act((ctx) => sessionLog(ctx)));
  session.command("rollback").aliases(["rb"])
    .description(
      "move HEAD: N = history id, -N = N back (after --), +N = N forward; default one back",
    )
    .argument("[n]", "target")
    .action(act((ctx, n: string | undefined) => rollback(ctx, n)));
  session.command("branch").aliases(["br"]).description("create, delete (-d) or list branches")
    .argument("[name]", "branch name")
    .option("-d, --delete", "delete the branch")
    .option("--from <ref>", "history id or branch to start from (default HEAD)")
    .action(
      act((ctx, name: string | undefined, o: { delete?: boolean; from?: string }) =>
        branch(ctx, name, o)
      ),
    );
  session.command("checkout").aliases(["co"]).description("switch to a branch")
    .argument("<branch>", "branch name")
    .action(act((ctx, name: string) => checkout(ctx, name)));
  session.command("delete").aliases(["rm", "del"]).description("delete a session")
    .argument("<key>", "session key")
    .action(act((ctx, key: string) => sessionDelete(ctx, key)));

  sub("diff", "what changed between two images (content, mode, owner; unified diffs of text)")
    .argument("<a>", "image UUID or tag").argument("<b>", "image UUID or tag")
    .argument("[path]", "only under this path", "/")
    .option("--name-only", "paths only, no content diffs")
    .option("--exit-code", "exit 1 when the images differ")
    .action(
      act((
        ctx,
        a: string,
        b: string,
        path: string,
        o: { nameOnly?: boolean; exitCode?: boolean },
      ) => diff(ctx, a, b, path, o)),
    );

  const configure = (command: Command) => {
    command.exitOverride().configureOutput({
      writeOut: (text) => void writeOut(text),
      writeErr: (text) => writeErr(text),
    }).showHelpAfterError("(add --help for usage)");
    command.commands.forEach(configure);
  };
  configure(root);
  return root;
}

/**
 * Runs the `contree` command line with `argv` (the words after the program name) and
 * resolves to its exit code: the sandboxed command's for `run`, 0 for success, 1 for
 * errors, 2 for usage mistakes. Prints to the process's stdout and stderr.
 *
 * @example
 * ```ts ignore
 * import { main } from "@contree/sdk/cli";
 *
 * const code = await main(["--help"]);
 * console.log(code); // 0
 * ```
 */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  // A closed stdout surfaces as a rejected write (exit 141); no unhandled 'error' event.
  process.stdout.on("error", () => {});
  const root = program((c) => (code = c));
  if (argv.length === 0) {
    root.outputHelp();
    await flushOutput();
    return 0;
  }
  try {
    await root.parseAsync(argv, { from: "user" });
  } catch (error) {
    code = report(error);
  }
  await flushOutput();
  return code;
}

function report(error: unknown): number {
  if (isBrokenPipe(error)) return BROKEN_PIPE;
  if (error instanceof InterruptedError) {
    writeErr(`error: ${error.message}\n`);
    return INTERRUPTED;
  }
  if (error instanceof CommanderError) {
    if (
      error.code === "commander.helpDisplayed" || error.code === "commander.version" ||
      error.code === "commander.help"
    ) return 0;
    return 2;
  }
  const message = error instanceof Error ? error.message : String(error);
  if (
    error instanceof UsageError || error instanceof ContreeConfigError ||
    error instanceof BuildError
  ) {
    writeErr(`error: ${message}\n`);
  } else if (error instanceof ContreeApiError || error instanceof ContreeError) {
    writeErr(`error: ${message}\n`);
  } else {
    writeErr(
      `error: ${
        error instanceof Error && error.stack && process.env.CONTREE_DEBUG ? error.stack : message
      }\n`,
    );
  }
  return 1;
}
