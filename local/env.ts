/**
 * Client options from environment variables.
 *
 * @module
 */
import process from "node:process";
import { type ContreeClientOptions, DEFAULT_BASE_URL } from "../src/wire/client.ts";
import { ContreeConfigError } from "./errors.ts";

/**
 * Environment variables, as in `process.env`.
 *
 * @example
 * ```ts
 * import type { Env } from "@contree/sdk/local";
 *
 * const env: Env = { CONTREE_TOKEN: "abc", CONTREE_URL: "http://127.0.0.1:8080" };
 * ```
 */
export type Env = Record<string, string | undefined>;

/**
 * Builds client options from `CONTREE_TOKEN` (or `NEBIUS_API_KEY`),
 * `CONTREE_URL` (default: the public API) and `CONTREE_PROJECT` (or
 * `NEBIUS_AI_PROJECT`). Throws a `ContreeConfigError` when no token is set.
 *
 * @example
 * ```ts
 * import { ContreeClient } from "@contree/sdk";
 * import { clientOptionsFromEnv } from "@contree/sdk/local";
 *
 * const client = new ContreeClient(clientOptionsFromEnv());
 * ```
 */
export function clientOptionsFromEnv(env: Env = process.env): ContreeClientOptions {
  const token = env.CONTREE_TOKEN || env.NEBIUS_API_KEY;
  if (!token) {
    throw new ContreeConfigError("no ConTree token: set CONTREE_TOKEN (or NEBIUS_API_KEY)");
  }
  const options: ContreeClientOptions = { baseUrl: env.CONTREE_URL || DEFAULT_BASE_URL, token };
  const project = env.CONTREE_PROJECT || env.NEBIUS_AI_PROJECT;
  if (project) options.project = project;
  return options;
}
