// The world the gateway tests run in: the real local backend with a fixture image, and the
// gateway under one runtime in front of it.
import { type Backend, startBackend } from "../server/_backend.ts";
import { ContreeClient } from "../../mod.ts";
import { type GatewayKind, type RunningGateway, startGateway } from "./_gateway.ts";

export const RW_KEY = "gk_test_rw_0123456789abcdefghij";
export const RO_KEY = "gk_test_ro_0123456789abcdefghij";
export const ORIGIN = "https://app.example";
export const BIG_BYTES = 200 * 1024 * 1024;

export interface World {
  backend: Backend;
  gateway: RunningGateway;
  /** A wire client straight to the backend (for checks that bypass the gateway). */
  direct: ContreeClient;
  /** The fixture image: /data/hello.txt, /data/rand.bin (1 MiB random), /data/big.bin (200 MiB). */
  image: string;
  /** The fixture's tag. */
  tag: string;
  /** The bytes of /data/rand.bin, read directly from the backend. */
  rand: Uint8Array;
  stop(): Promise<void>;
}

/** Runs a shell command on the backend, keeping the result image; returns its UUID. */
export async function makeImage(client: ContreeClient, shell: string): Promise<string> {
  const { uuid } = await client.spawnInstance({
    image: "tag:busybox:latest",
    command: shell,
    shell: true,
    disposable: false,
    timeout: 120,
  });
  for (;;) {
    const op = await client.getOperation(uuid);
    if (op.status === "SUCCESS") {
      const image = op.result_image_uuid ?? op.result?.image;
      if (!image) throw new Error("fixture run left no image");
      return image;
    }
    if (op.status === "FAILED" || op.status === "CANCELLED") {
      throw new Error(`fixture run ${op.status}: ${op.error}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function startWorld(kind: GatewayKind): Promise<World> {
  const backend = await startBackend();
  try {
    const direct = new ContreeClient({ baseUrl: backend.url, token: backend.token });
    const image = await makeImage(
      direct,
      "mkdir -p /data/sub && printf 'hello world' > /data/hello.txt && " +
        "head -c 1048576 /dev/urandom > /data/rand.bin && printf '{}' > /data/sub/x.json && " +
        `dd if=/dev/zero of=/data/big.bin bs=1048576 count=${BIG_BYTES / 1048576} 2>/dev/null`,
    );
    const tag = `gw-test/fixture:${kind}`;
    await direct.updateImageTag(image, tag);
    const rand = await direct.download(image, "/data/rand.bin");
    const gateway = await startGateway(kind, {
      CONTREE_URL: backend.url,
      CONTREE_TOKEN: backend.token,
      GATEWAY_KEYS: `${RW_KEY},ro:${RO_KEY}`,
      GATEWAY_CORS_ORIGINS: ORIGIN,
    });
    return {
      backend,
      gateway,
      direct,
      image,
      tag,
      rand,
      async stop() {
        await gateway.stop();
        await backend.dispose();
      },
    };
  } catch (error) {
    await backend.dispose();
    throw error;
  }
}
