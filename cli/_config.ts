// The profiles of `auth.ini` as the official CLI keeps them: `[DEFAULT] profile = NAME`
// (the active one) and `[profile:NAME]` sections with token, url, type and project,
// written with mode 0600.
import { join } from "pathe";
import { type Env, parseIni } from "../local/mod.ts";
import { readTextIfExists, writeTextAtomically } from "./_text_file.ts";

/** The public service (IAM profiles). */
export const DEFAULT_IAM_URL = "https://api.tokenfactory.nebius.com/sandboxes";

/** One saved profile. */
export interface Profile {
  name: string;
  token?: string;
  url: string;
  type: "iam" | "jwt";
  project?: string;
}

/** `$CONTREE_HOME`, else `$XDG_CONFIG_HOME/contree`, else `~/.config/contree`. */
export function contreeHome(env: Env): string {
  if (env.CONTREE_HOME) return env.CONTREE_HOME;
  const config = env.XDG_CONFIG_HOME || join(env.HOME ?? "/", ".config");
  return join(config, "contree");
}

/** The profiles file and its active profile. */
export class ProfileConfig {
  readonly path: string;
  active = "default";
  readonly profiles = new Map<string, Profile>();

  private constructor(path: string) {
    this.path = path;
  }

  /** Reads `path` (a missing file is an empty configuration). */
  static async load(path: string): Promise<ProfileConfig> {
    const config = new ProfileConfig(path);
    const ini = parseIni(await readTextIfExists(path));
    config.active = ini.DEFAULT?.profile || "default";
    for (const [section, values] of Object.entries(ini)) {
      if (!section.startsWith("profile:")) continue;
      const merged = { ...ini.DEFAULT, ...values };
      const type = (merged.type || "jwt").toLowerCase() === "iam" ? "iam" : "jwt";
      const name = section.slice("profile:".length);
      config.profiles.set(name, {
        name,
        token: merged.token || undefined,
        url: (merged.url || (type === "iam" ? DEFAULT_IAM_URL : "")).replace(/\/+$/, ""),
        type,
        project: merged.project || undefined,
      });
    }
    return config;
  }

  /** The profile to use: `override`, else `CONTREE_PROFILE`, else the active one. */
  resolve(override: string | undefined, env: Env): string {
    return override || env.CONTREE_PROFILE || this.active;
  }

  /** Writes the file atomically, readable by its owner only. */
  async save(): Promise<void> {
    const lines = ["[DEFAULT]", `profile = ${this.active}`, ""];
    for (const profile of this.profiles.values()) {
      lines.push(`[profile:${profile.name}]`);
      if (profile.token !== undefined) lines.push(`token = ${profile.token}`);
      lines.push(`url = ${profile.url.replace(/\/+$/, "")}`, `type = ${profile.type}`);
      if (profile.project !== undefined) lines.push(`project = ${profile.project}`);
      lines.push("");
    }
    await writeTextAtomically(this.path, lines.join("\n"), 0o600);
  }
}
