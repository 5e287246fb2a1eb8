/** The environment of a sandboxed process, and how events show it. */
import { DEFAULT_PATH } from "../sandbox/run.ts";

const SENSITIVE_SUFFIXES = [
  "token",
  "secret",
  "password",
  "api_key",
  "credentials",
  "authorization",
];

/** `PATH` and `HOME` (by `uid`) defaults, overridden by `envs` in order. */
export function processEnv(uid: number, ...envs: Record<string, string>[]): Record<string, string> {
  return Object.assign({ PATH: DEFAULT_PATH, HOME: uid === 0 ? "/root" : "/" }, ...envs);
}

/** `env` with the values of secret-looking keys masked, for `spawn` events. */
export function redactEnv(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).map(([key, value]) => [
      key,
      SENSITIVE_SUFFIXES.some((s) => key.toLowerCase().endsWith(s)) ? "<MASKED>" : value,
    ]),
  );
}
