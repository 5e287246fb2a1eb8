// Shared set-up of the SDK tests: one real local backend per test file, and small helpers.
import { after, before } from "node:test";
import process from "node:process";
import { type Backend, startBackend } from "../server/_backend.ts";
import { Contree, type ContreeImage } from "../../src/sdk/mod.ts";
import type { OperationResponse } from "../../src/wire/mod.ts";

/** What a test file gets from {@linkcode useBackend}. */
export interface Fixture {
  backend: Backend;
  contree: Contree;
  /** `busybox:latest`, resolved to its UUID. */
  busybox: ContreeImage;
}

/**
 * Starts a backend before the tests of the calling `describe` and stops it after them. The
 * fields of the returned object are filled in by the `before` hook; `args` gives extra
 * `serve` arguments when it runs.
 */
export function useBackend(args: () => string[] = () => []): Fixture {
  const fixture = {} as Fixture;
  before(async () => {
    fixture.backend = await startBackend({ args: args() });
    fixture.contree = new Contree({ baseUrl: fixture.backend.url, token: fixture.backend.token });
    fixture.busybox = await fixture.contree.images.use("busybox:latest", { strict: true });
  });
  after(async () => {
    await fixture.contree?.close();
    await fixture.backend?.dispose();
  });
  return fixture;
}

/** Polls an operation until it is terminal (no timing assertion: it just waits). */
export async function terminal(contree: Contree, uuid: string): Promise<OperationResponse> {
  for (;;) {
    const op = await contree.api.getOperation(uuid);
    if (op.status === "SUCCESS" || op.status === "FAILED" || op.status === "CANCELLED") return op;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Polls an operation until the server reports it executing. */
export async function executing(contree: Contree, uuid: string): Promise<void> {
  for (;;) {
    const op = await contree.api.getOperation(uuid);
    if (op.status === "EXECUTING") return;
    if (op.status !== "PENDING" && op.status !== "ASSIGNED") {
      throw new Error(`operation ${uuid} is ${op.status}, not executing`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Resident set size of this process, in bytes. */
export function rss(): number {
  return process.memoryUsage().rss;
}

/** Bytes 0..255 repeated to `size` bytes. */
export function pattern(size: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 7 + (i >> 8)) & 0xff);
}

/** Decodes UTF-8. */
export function text(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}
