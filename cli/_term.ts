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

/** Writes to stdout, waiting when the pipe is full; rejects once stdout is closed (EPIPE). */
export function writeOut(chunk: Uint8Array | string): Promise<void> {
  const stdout = process.stdout;
  return new Promise((resolve, reject) => {
    if (stdout.destroyed) {
      reject(Object.assign(new Error("stdout is closed"), { code: "EPIPE" }));
      return;
    }
    let settled = false;
    const done = (error?: Error | null) => {
      if (settled) return;
      settled = true;
      stdout.off("drain", onDrain);
      stdout.off("error", done);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => done();
    if (stdout.write(chunk, (error) => error && done(error))) done();
    else {
      stdout.once("drain", onDrain);
      stdout.once("error", done);
    }
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
