// The local backend opened in this process (`openBackend`), reached through `app.request()`:
// no port, no child process; the same app, engine and sandboxes as `serve`.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BackendConfig, openBackend } from "../../server/backend.ts";
import type { ApiTarget } from "./_api.ts";

/** An open in-process backend; `dispose` stops it and removes its data directory. */
export interface InProcessBackend extends ApiTarget {
  /** The data directory. */
  dataDir: string;
  /** Stops the backend and removes the data directory. */
  dispose(): Promise<void>;
}

/** Opens a backend on a fresh temporary data directory with a random token. */
export async function openInProcess(
  config: Partial<BackendConfig> = {},
): Promise<InProcessBackend> {
  const dataDir = mkdtempSync(join(tmpdir(), "contree-inproc-"));
  const token = `test-${Math.random().toString(36).slice(2)}`;
  const backend = await openBackend({ ...config, dataDir, token });
  return {
    url: "http://backend.test",
    token,
    dataDir,
    fetch: async (path, init) => await backend.app.request(path, init),
    async dispose() {
      await backend.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
