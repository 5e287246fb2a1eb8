// Steps shared by the SDK smoke runs bundled for workerd (tests/workerd/_sdk_worker.ts) and for
// the browser (tests/browser/_page.ts): Web APIs only, so the same code runs in both.
import type { Contree, ContreeImage } from "../mod.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `done(status)` holds and gives the status (no timing assertion: it just waits). */
export async function pollStatus(
  contree: Contree,
  uuid: string,
  done: (status: string) => boolean,
): Promise<string> {
  for (;;) {
    const { status } = await contree.api.getOperation(uuid);
    if (done(status)) return status;
    await sleep(50);
  }
}

/** Aborts a `sleep 30` run once it executes; reports how the SDK answered. */
export async function abortMidRun(contree: Contree, busybox: ContreeImage): Promise<{
  uuid: string;
  before: string;
  rejection: string | null;
  state: string;
}> {
  const controller = new AbortController();
  const started = busybox.run({ shell: "sleep 30", signal: controller.signal }).start();
  const uuid = await started.whenSpawned();
  const before = await pollStatus(contree, uuid, (s) => s !== "PENDING" && s !== "ASSIGNED");
  controller.abort();
  let rejection: string | null = null;
  try {
    await started.wait();
  } catch (error) {
    rejection = error instanceof Error ? error.name : String(error);
  }
  return { uuid, before, rejection, state: started.state };
}
