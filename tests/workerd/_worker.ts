// A Worker that drives the core client against the wire double; bundled by esbuild in the test.
import { ContreeClient, type OperationEvent } from "../../mod.ts";

async function ids(events: AsyncIterable<OperationEvent>): Promise<(number | undefined)[]> {
  const out: (number | undefined)[] = [];
  for await (const event of events) out.push(event.id);
  return out;
}

export default {
  async fetch(_request: Request, env: { BASE_URL: string }): Promise<Response> {
    const client = new ContreeClient({
      baseUrl: env.BASE_URL,
      token: "tok",
      retry: { delays: [1] },
    });
    const me = await client.whoami();
    const hosts = new TextDecoder().decode(await client.download("img", "/etc/hosts"));
    const archive = new Uint8Array(
      await new Response(await client.archive("img", "/etc", { compressed: true })).arrayBuffer(),
    );
    return Response.json({
      token: me.token_uuid,
      hosts,
      gzipMagic: [archive[0], archive[1]],
      replay: await ids(client.operationEvents("op-ok")),
      followed: await ids(client.followOperationEvents("op-dies")),
      types: (await Array.fromAsync(client.operationEvents("op-ok"))).map((e) => e.type),
    });
  },
};
