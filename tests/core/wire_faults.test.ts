// Event streams under injected faults: a TCP proxy in front of the real local backend cuts
// every event connection at a random byte offset while a real sandboxed run prints
// `seq 1 200000`, live and in the replay of the finished run, with and without gzip. Each
// follow must deliver the output byte-exact with every event id once, in order, or throw an
// SSEStreamError whose lastEventId matches what it delivered.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ContreeClient,
  decodeStreamText,
  type OperationEvent,
  type OperationStatus,
  SSEStreamError,
} from "../../mod.ts";
import { type Backend, startBackend } from "../server/_backend.ts";
import { type FaultProxy, randomEventCuts, startFaultProxy } from "./_fault_proxy.ts";

const EXPECTED = Array.from({ length: 200_000 }, (_, i) => i + 1).join("\n") + "\n";
// `seq 1 200000` in 250 paced steps, so that the run stays live for seconds and its output
// comes as some 250 events of about 5.6 KB.
const PACED = "i=0; while [ $i -lt 250 ]; do seq $((i*800+1)) $((i*800+800)); " +
  "i=$((i+1)); sleep 0.01; done";
const CUTS = 200;
// About three paced events' worth on the wire (gzip shrinks them about threefold): most cuts
// let some events through, some none. Events can be larger (up to a 64 KiB pipe read when the
// backend reads late): the proxy's occasional longer cuts, and a patient policy, let those
// through.
const MAX_CUT = { gzip: 8 * 1024, identity: 16 * 1024 };

interface Pass {
  exact: boolean;
  events: number;
}

/** Follows `uuid` once through the proxy and checks what came out. */
async function followOnce(client: ContreeClient, uuid: string): Promise<Pass> {
  const ids: number[] = [];
  let text = "";
  let completion: OperationEvent | undefined;
  let failure: unknown;
  try {
    for await (const event of client.followOperationEvents(uuid)) {
      ids.push(event.id!);
      if (event.type === "stdout") text += decodeStreamText(event.data);
      if (event.type === "completion") completion = event;
    }
  } catch (error) {
    failure = error;
  }
  // Every id once, in order, none skipped (the backend numbers its events from 0).
  ids.forEach((id, i) => assert.equal(id, i, `event ${i} has id ${id}`));
  if (failure !== undefined) {
    assert.ok(failure instanceof SSEStreamError, `unexpected failure: ${failure}`);
    assert.equal(failure.lastEventId, ids.at(-1));
    assert.ok(EXPECTED.startsWith(text), "the output delivered before the failure is exact");
    return { exact: false, events: ids.length };
  }
  assert.ok(completion?.type === "completion" && completion.data.status === "SUCCESS");
  assert.equal(text.length, EXPECTED.length);
  assert.ok(text === EXPECTED, "the output is byte-exact");
  return { exact: true, events: ids.length };
}

describe("event streams under a proxy cutting connections", () => {
  let backend: Backend;
  let direct: ContreeClient;
  let busybox: string;
  const seed = Math.floor(Math.random() * 2 ** 32);

  before(async () => {
    backend = await startBackend();
    direct = new ContreeClient({ baseUrl: backend.url, token: backend.token });
    busybox = await direct.resolveImage("busybox:latest");
  });
  after(async () => {
    await backend?.dispose();
  });

  const spawn = async () =>
    (await direct.spawnInstance({
      image: busybox,
      command: PACED,
      shell: true,
      disposable: true,
      truncate_output_at: 4 * 1024 * 1024,
    })).uuid;

  const terminal = async (uuid: string) => {
    for (;;) {
      const { status } = await direct.getOperation(uuid);
      if ((["SUCCESS", "FAILED", "CANCELLED"] as OperationStatus[]).includes(status)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  for (const gzip of [true, false]) {
    const encoding = gzip ? "gzip" : "identity";
    /** A client through `proxy`, asking for gzip or not. */
    const through = (proxy: FaultProxy) =>
      new ContreeClient({
        baseUrl: proxy.url,
        token: backend.token,
        retry: { delays: [1, 2, 5], maxAttempts: 1_000 },
        fetch: (input, init) =>
          fetch(input, {
            ...init,
            headers: { ...init?.headers as Record<string, string>, "accept-encoding": encoding },
          }),
      });

    for (const mode of ["live", "replay"] as const) {
      it(`${mode} run, ${encoding}: exact output or a loud failure, over ${CUTS}+ cuts`, async () => {
        const proxy = await startFaultProxy(backend.url, {
          fault: randomEventCuts({ maxCut: MAX_CUT[encoding], seed }),
        });
        const passes: Pass[] = [];
        try {
          const client = through(proxy);
          let finished: string | undefined;
          while (proxy.cuts < CUTS) {
            let uuid: string;
            if (mode === "live") {
              uuid = await spawn();
            } else {
              finished ??= await spawn();
              await terminal(finished);
              uuid = finished;
            }
            passes.push(await followOnce(client, uuid));
          }
        } catch (error) {
          throw new Error(`seed ${seed}, ${proxy.cuts} cuts: ${error}`, { cause: error });
        } finally {
          await proxy.close();
        }
        const exact = passes.filter((p) => p.exact).length;
        console.log(
          `${mode} ${encoding}: ${proxy.cuts} cuts, ${passes.length} follows, ${exact} exact ` +
            `(seed ${seed})`,
        );
        assert.ok(exact >= 1, "at least one follow got through");
        assert.deepEqual(Object.keys(proxy.encodings), [encoding]);
      });
    }
  }
});
