// `contree auth`: save a verified token as a profile; list, switch and remove profiles.
import { createHash } from "node:crypto";
import { createInterface } from "node:readline/promises";
import process from "node:process";
import type { Context } from "./_context.ts";
import { clientFor } from "./_context.ts";
import { DEFAULT_IAM_URL, type Profile } from "./_config.ts";
import { UsageError } from "./_session.ts";

async function ask(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

/** Options of `auth`. */
export interface AuthOptions {
  token?: string;
  url?: string;
  type: string;
  project?: string;
  profile?: string;
  force?: boolean;
}

/** `contree auth`: token from --token, CONTREE_TOKEN/NEBIUS_API_KEY, or a prompt. */
export async function authSave(ctx: Context, options: AuthOptions): Promise<number> {
  const config = await ctx.config();
  const name = options.profile || "default";
  const type = options.type.toLowerCase();
  if (type !== "iam" && type !== "jwt") throw new UsageError(`--type must be iam or jwt`);
  if (config.profiles.has(name) && !options.force) {
    const answer = await ask(`Profile '${name}' already exists. Overwrite? [y/N] `);
    if (answer.toLowerCase() !== "y") {
      ctx.info("Aborted.");
      return 1;
    }
  }
  const env = ctx.env;
  const token = options.token || env.CONTREE_TOKEN || env.NEBIUS_API_KEY || await ask("Token: ");
  let url = options.url || env.CONTREE_URL;
  if (!url) url = type === "iam" ? DEFAULT_IAM_URL : await ask("URL: ");
  if (!url) throw new UsageError("URL is required for JWT auth");
  let project: string | undefined;
  if (type === "iam") {
    project = options.project || env.CONTREE_PROJECT || env.NEBIUS_AI_PROJECT ||
      await ask("Project ID: ");
  }
  const profile: Profile = { name, token, url: url.replace(/\/+$/, ""), type, project };
  const contree = clientFor(profile);
  try {
    const whoami = await contree.whoami();
    if (!whoami.permissions?.list) {
      ctx.warn(
        `token is valid but sandboxes are disabled on ${project ?? url} (no 'list' permission)`,
      );
    }
  } catch (error) {
    throw new Error(`Token verification failed: ${(error as Error).message}. Profile not changed.`);
  } finally {
    await contree.close();
  }
  config.profiles.set(name, profile);
  if (config.profiles.size === 1) config.active = name;
  await config.save();
  ctx.info(`auth accepted, profile '${name}' saved to -> ${config.path}`);
  return 0;
}

/** `contree auth ls`: profiles, with a whoami probe unless offline. */
export async function authList(ctx: Context, offline: boolean): Promise<number> {
  const config = await ctx.config();
  const active = config.resolve(ctx.options.profile, ctx.env);
  if (config.profiles.size === 0) {
    ctx.info("No profiles configured.");
    return 0;
  }
  for (const profile of config.profiles.values()) {
    let status = "offline mode";
    if (!profile.token) status = "error";
    else if (!offline) {
      const contree = clientFor(profile);
      try {
        const whoami = await contree.api.whoami({ timeout: 2000 });
        status = whoami.permissions?.list ? "ok" : "inactive";
      } catch {
        status = "error";
      } finally {
        await contree.close();
      }
    }
    await ctx.printer.row({
      name: profile.name,
      type: profile.type,
      url: profile.url,
      project: profile.project ?? "",
      token_sha256: profile.token
        ? createHash("sha256").update(profile.token).digest("hex").slice(0, 16)
        : "<no token>",
      active: profile.name === active,
      status,
    });
  }
  await ctx.printer.flush();
  return 0;
}

/** `contree auth switch NAME`. */
export async function authSwitch(ctx: Context, name: string): Promise<number> {
  const config = await ctx.config();
  if (!config.profiles.has(name)) throw new UsageError(`profile '${name}' does not exist`);
  config.active = name;
  await config.save();
  ctx.info(`Switched to profile '${name}'`);
  return 0;
}

/** `contree auth remove NAME`. */
export async function authRemove(ctx: Context, name: string, force: boolean): Promise<number> {
  const config = await ctx.config();
  if (!config.profiles.has(name)) throw new UsageError(`Profile '${name}' does not exist`);
  if (!force && (await ask(`Remove profile '${name}'? [y/N] `)).toLowerCase() !== "y") {
    ctx.info("Aborted.");
    return 1;
  }
  config.profiles.delete(name);
  if (config.active === name) config.active = config.profiles.keys().next().value ?? "default";
  await config.save();
  ctx.info(`Removed profile '${name}'`);
  return 0;
}
