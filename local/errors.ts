/**
 * Errors raised while reading client configuration.
 *
 * @module
 */
import { ContreeError } from "../src/wire/errors.ts";

/**
 * Configuration is missing or invalid (for example no token in the environment).
 *
 * @example
 * ```ts
 * import { clientOptionsFromEnv, ContreeConfigError } from "@contree/sdk/local";
 *
 * try {
 *   clientOptionsFromEnv({});
 * } catch (error) {
 *   if (error instanceof ContreeConfigError) console.error(error.message);
 * }
 * ```
 */
export class ContreeConfigError extends ContreeError {}

/**
 * The configuration file does not exist.
 *
 * @example
 * ```ts
 * import { ConfigFileNotFoundError } from "@contree/sdk/local";
 *
 * const noFile = (error: unknown) => error instanceof ConfigFileNotFoundError;
 * ```
 */
export class ConfigFileNotFoundError extends ContreeConfigError {
  /** The path that was looked for. */
  readonly path: string;

  /** Creates the error for `path`. */
  constructor(path: string) {
    super(`no ConTree configuration at ${path}; run \`contree auth\` first`);
    this.path = path;
  }
}

/**
 * The selected profile is not in the configuration file.
 *
 * @example
 * ```ts
 * import { ProfileNotFoundError } from "@contree/sdk/local";
 *
 * const noProfile = (error: unknown) => error instanceof ProfileNotFoundError;
 * ```
 */
export class ProfileNotFoundError extends ContreeConfigError {
  /** The profile's name. */
  readonly profile: string;

  /** Creates the error for `profile`, looked up in `path`. */
  constructor(profile: string, path: string) {
    super(`profile '${profile}' does not exist in ${path}; run \`contree auth\` first`);
    this.profile = profile;
  }
}
