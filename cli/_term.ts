// The terminal: whether stdout/stderr are TTYs, colour (NO_COLOR / FORCE_COLOR), and writes
// to stdout that wait for the pipe to drain.
import process from "node:process";
import picocolors from "picocolors";
import type { Env } from "../local/mod.ts";

/** What the colour functions take and give. */
export type Colors = ReturnType<typeof picocolors.createColors>;

/**
 * Colour is on when `FORCE_COLOR` is set to anything but `0`/`false`, off when `NO_COLOR`
 * is set and not empty, else on when stdout is a terminal (and `TERM` is not `dumb`).
 */
export function colorEnabled(env: Env, stdoutTty: boolean): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== "0" && force !== "false") return true;
  if (env.NO_COLOR) return false;
  if (force !== undefined) return false;
  return stdoutTty && env.TERM !== "dumb";
}

/** Colour functions, on or off. */
export function colors(enabled: boolean): Colors {
  return picocolors.createColors(enabled);
}

/** Whether stdout / stderr are terminals. */
export function ttys(): { stdout: boolean; stderr: boolean } {
  return { stdout: process.stdout.isTTY === true, stderr: process.stderr.isTTY === true };
}

/** Writes to stdout, waiting when the pipe is full. */
export function writeOut(chunk: Uint8Array | string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = process.stdout.write(chunk, (error) => (error ? reject(error) : undefined));
    if (ok) resolve();
    else process.stdout.once("drain", () => resolve());
  });
}

/** Writes to stderr. */
export function writeErr(text: string): void {
  process.stderr.write(text);
}

/** Resolves once everything written to stdout and stderr is handed to the OS. */
export async function flushOutput(): Promise<void> {
  await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
  await new Promise<void>((resolve) => process.stderr.write("", () => resolve()));
}
