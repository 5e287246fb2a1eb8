// The work an SDK client has in flight (runs and imports, cancellation included), so that
// `close()` can wait for it. Kept apart from `contree.ts` so that runs and imports can
// record work without importing the client.
const inFlight = new WeakMap<object, Set<Promise<unknown>>>();

/** Starts tracking the work of `owner` (a `Contree`). */
export function startTracking(owner: object): void {
  inFlight.set(owner, new Set());
}

/** Lets `close()` wait for `work` (a run or an import, cancellation included). */
export function trackWork(owner: object, work: Promise<unknown>): void {
  const set = inFlight.get(owner)!;
  const settled = work.then(() => {}, () => {}).finally(() => set.delete(settled));
  set.add(settled);
}

/** Resolves once every piece of `owner`'s work tracked so far has settled. */
export async function settledWork(owner: object): Promise<void> {
  await Promise.all(inFlight.get(owner)!);
}
