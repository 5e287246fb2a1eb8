/**
 * Client options from the profiles in `auth.ini`, the file `contree auth` writes.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import process from "node:process";
import { join } from "pathe";
import { type ContreeClientOptions, DEFAULT_BASE_URL } from "../src/wire/client.ts";
import type { Env } from "./env.ts";
import { ConfigFileNotFoundError, ContreeConfigError, ProfileNotFoundError } from "./errors.ts";
import { parseIni } from "./ini.ts";

/**
 * Where to look for the configuration.
 *
 * @example
 * ```ts
 * import type { ProfileSource } from "@contree/sdk/local";
 *
 * const source: ProfileSource = { path: "/etc/contree/auth.ini" };
 * ```
 */
export interface ProfileSource {
  /** The `auth.ini` to read; default from `CONTREE_HOME` / `XDG_CONFIG_HOME` / the home directory. */
  path?: string;
  /** The environment; default `process.env`. */
  env?: Env;
}

/**
 * The path of `auth.ini`: `$CONTREE_HOME/auth.ini`, else
 * `$XDG_CONFIG_HOME/contree/auth.ini`, else `~/.config/contree/auth.ini`.
 *
 * @example
 * ```ts
 * import { authIniPath } from "@contree/sdk/local";
 *
 * console.log(authIniPath({ CONTREE_HOME: "/srv/contree" })); // "/srv/contree/auth.ini"
 * ```
 */
export function authIniPath(env: Env = process.env): string {
  if (env.CONTREE_HOME) return join(env.CONTREE_HOME, "auth.ini");
  const config = env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return join(config, "contree", "auth.ini");
}

/**
 * Builds client options from a profile of `auth.ini`. The profile is `name`,
 * else `CONTREE_PROFILE`, else `[DEFAULT] profile`, else `default`; it is read
 * from the section `[profile:NAME]` (values of `[DEFAULT]` apply to every
 * section, as in Python's configparser) with `token`, `url`, `type`
 * (`iam` or `jwt`) and `project`. IAM profiles send their project and default
 * to the public URL; JWT profiles never send a project and need a URL.
 * Throws a `ConfigFileNotFoundError`, a `ProfileNotFoundError` or a
 * `ContreeConfigError`.
 *
 * @example
 * ```ts
 * import { ContreeClient } from "@contree/sdk";
 * import { clientOptionsFromProfile } from "@contree/sdk/local";
 *
 * const client = new ContreeClient(await clientOptionsFromProfile("work"));
 * ```
 */
export async function clientOptionsFromProfile(
  name?: string,
  source: ProfileSource = {},
): Promise<ContreeClientOptions> {
  const env = source.env ?? process.env;
  const path = source.path ?? authIniPath(env);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") throw new ConfigFileNotFoundError(path);
    throw error;
  }
  let ini;
  try {
    ini = parseIni(text);
  } catch (error) {
    throw new ContreeConfigError(`cannot read ${path}: ${(error as Error).message}`);
  }
  const defaults = ini.DEFAULT ?? {};
  const profile = name || env.CONTREE_PROFILE || defaults.profile || "default";
  const section = ini[`profile:${profile}`];
  if (section === undefined) throw new ProfileNotFoundError(profile, path);
  const values = { ...defaults, ...section };
  const type = (values.type || "iam").toLowerCase();
  if (type !== "iam" && type !== "jwt") {
    throw new ContreeConfigError(`profile '${profile}': unknown type '${values.type}'`);
  }
  if (!values.token) throw new ContreeConfigError(`profile '${profile}' has no token`);
  if (type === "jwt" && !values.url) {
    throw new ContreeConfigError(`profile '${profile}' (jwt) has no url`);
  }
  const options: ContreeClientOptions = {
    baseUrl: values.url || DEFAULT_BASE_URL,
    token: values.token,
  };
  if (type === "iam" && values.project) options.project = values.project;
  return options;
}
