// What every command gets: the global options, the terminal, the profile's client,
// the printer of records, progress bars, and the session.
import process from "node:process";
import { join } from "pathe";
import { Contree, VERSION } from "../mod.ts";
import type { Env } from "../local/mod.ts";
import { contreeHome, type Profile, ProfileConfig } from "./_config.ts";
import { type Format, FORMATS, Printer } from "./_output.ts";
import { type ProgressBar, progressBar } from "./_progress.ts";
import { type Session, sessionKey, SessionStore, UsageError } from "./_session.ts";
import { colorEnabled, type Colors, colors, ttys, writeErr } from "./_term.ts";

/** The options before the command. */
export interface GlobalOptions {
  profile?: string;
  token?: string;
  url?: string;
  project?: string;
  config?: string;
  logLevel?: string;
  format?: string;
  session?: string;
}

const LEVELS = ["debug", "info", "warning", "error", "critical"];

/** The state of one invocation. */
export class Context {
  readonly env: Env;
  readonly options: GlobalOptions;
  readonly tty: { stdout: boolean; stderr: boolean };
  readonly c: Colors;
  readonly printer: Printer;
  readonly home: string;
  #config?: ProfileConfig;
  #contree?: Contree;
  #session?: Session;

  constructor(options: GlobalOptions, env: Env = process.env) {
    this.env = env;
    this.options = options;
    this.tty = ttys();
    const format = (options.format ?? "default") as Format;
    if (!FORMATS.includes(format)) {
      throw new UsageError(`unknown format '${options.format}' (one of ${FORMATS.join(", ")})`);
    }
    if (options.logLevel && !LEVELS.includes(options.logLevel)) {
      throw new UsageError(`unknown log level '${options.logLevel}' (one of ${LEVELS.join(", ")})`);
    }
    this.c = colors(colorEnabled(env, this.tty.stdout));
    this.printer = new Printer(format, this.c);
    this.home = contreeHome(env);
  }

  /** Machine-readable output was asked for. */
  get structured(): boolean {
    return this.printer.structured;
  }

  /** Progress bars are drawn: a terminal on stdout and stderr, default format, not quiet. */
  get progress(): boolean {
    const level = this.options.logLevel ?? "info";
    return this.tty.stdout && this.tty.stderr && !this.structured &&
      LEVELS.indexOf(level) <= LEVELS.indexOf("info");
  }

  /** A progress bar (a no-op when progress is off). */
  bar(label: string): ProgressBar {
    return progressBar(label, this.progress);
  }

  #log(level: string, color: keyof Colors, text: string): void {
    if (LEVELS.indexOf(level) < LEVELS.indexOf(this.options.logLevel ?? "info")) return;
    const paint = this.c[color] as (s: string) => string;
    writeErr(`${paint(level === "info" ? "" : `${level}: `)}${text}\n`);
  }

  info(text: string): void {
    this.#log("info", "dim", text);
  }
  warn(text: string): void {
    this.#log("warning", "yellow", text);
  }
  debug(text: string): void {
    this.#log("debug", "gray", text);
  }

  /** The profiles file (`-c`, else `$CONTREE_HOME/auth.ini`). */
  async config(): Promise<ProfileConfig> {
    return this.#config ??= await ProfileConfig.load(
      this.options.config ?? join(this.home, "auth.ini"),
    );
  }

  /** The name of the profile in use. */
  async profileName(): Promise<string> {
    return (await this.config()).resolve(this.options.profile, this.env);
  }

  /** The profile in use, with `--token`, `--url` and `--project` applied. */
  async profile(): Promise<Profile> {
    const config = await this.config();
    const name = await this.profileName();
    const saved = config.profiles.get(name);
    if (!saved && !(this.options.token && this.options.url)) {
      throw new UsageError(`Profile '${name}' does not exist. Run \`contree auth\` first.`);
    }
    const profile: Profile = { ...(saved ?? { name, url: "", type: "jwt" }) };
    if (this.options.token) profile.token = this.options.token;
    if (this.options.url) profile.url = this.options.url.replace(/\/+$/, "");
    if (this.options.project) profile.project = this.options.project;
    if (!profile.token) {
      throw new UsageError(`profile '${name}' has no token; run \`contree auth\``);
    }
    if (!profile.url) throw new UsageError(`profile '${name}' has no url; run \`contree auth\``);
    return profile;
  }

  /** The SDK client of the profile. */
  async contree(): Promise<Contree> {
    if (this.#contree) return this.#contree;
    const profile = await this.profile();
    return this.#contree = clientFor(profile);
  }

  /** The session (`-S`, else `CONTREE_SESSION`, else one per shell). */
  async session(): Promise<Session> {
    if (this.#session) return this.#session;
    const profile = await this.profileName();
    const store = new SessionStore(join(this.home, "cli", "sessions", profile));
    return this.#session = await store.load(sessionKey(profile, this.options.session, this.env));
  }

  /** The session's image, or a clear error when there is none. */
  async sessionImage(): Promise<string> {
    const image = (await this.session()).image;
    if (!image) {
      throw new UsageError("No image in this session. Run `contree use IMAGE` first.");
    }
    return image;
  }

  /** Closes the client. */
  async close(): Promise<void> {
    await this.#contree?.close();
  }
}

/** An SDK client for a profile (IAM profiles send their project). */
export function clientFor(profile: Profile): Contree {
  return new Contree({
    baseUrl: profile.url,
    token: profile.token,
    project: profile.type === "iam" ? profile.project : undefined,
    userAgent: `contree-cli-ts/${VERSION}`,
    // Downloads are counted and resumed by byte: ask for them as stored.
    compressedDownloads: false,
  });
}
