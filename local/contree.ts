/**
 * {@linkcode Contree} clients configured from the local machine: environment
 * variables or a profile of `auth.ini`.
 *
 * @module
 */
import { Contree, type ContreeSettings } from "../src/sdk/contree.ts";
import { clientOptionsFromEnv, type Env } from "./env.ts";
import { clientOptionsFromProfile, type ProfileSource } from "./profile.ts";

/**
 * A {@linkcode Contree} from `CONTREE_TOKEN` (or `NEBIUS_API_KEY`),
 * `CONTREE_URL` and `CONTREE_PROJECT` (see `clientOptionsFromEnv`), with SDK
 * settings. Throws a `ContreeConfigError` when no token is set.
 *
 * @example
 * ```ts
 * import { contreeFromEnv } from "@contree/sdk/local";
 *
 * await using contree = contreeFromEnv({ operationTimeout: 300 });
 * console.log((await contree.whoami()).token_uuid);
 * ```
 */
export function contreeFromEnv(settings: ContreeSettings & { env?: Env } = {}): Contree {
  const { env, ...rest } = settings;
  return new Contree({ ...clientOptionsFromEnv(env), ...rest });
}

/**
 * A {@linkcode Contree} from a profile of `auth.ini` (see
 * `clientOptionsFromProfile`: `name`, else `CONTREE_PROFILE`, else the
 * default profile), with SDK settings.
 *
 * @example
 * ```ts
 * import { contreeFromProfile } from "@contree/sdk/local";
 *
 * await using contree = await contreeFromProfile("work", { operationTimeout: 300 });
 * const busybox = await contree.images.use("busybox:latest");
 * ```
 */
export async function contreeFromProfile(
  name?: string,
  settings: ContreeSettings & ProfileSource = {},
): Promise<Contree> {
  const { path, env, ...rest } = settings;
  return new Contree({ ...(await clientOptionsFromProfile(name, { path, env })), ...rest });
}
