// A Worker that drives the high-level SDK (`Contree`) against the real local backend; bundled
// by esbuild in sdk.test.ts. Each step's outcome goes into the JSON answer for the test to check.
import { Contree } from "../../mod.ts";
import { abortMidRun, pollStatus } from "../_sdk_smoke.ts";

interface Env {
  BASE_URL: string;
  TOKEN: string;
}

async function streamed(stream: ReadableStream<Uint8Array>): Promise<[string, number]> {
  let text = "";
  let chunks = 0;
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    chunks++;
    text += decoder.decode(chunk, { stream: true });
  }
  return [text + decoder.decode(), chunks];
}

export default {
  async fetch(_request: Request, env: Env): Promise<Response> {
    const contree = new Contree({ baseUrl: env.BASE_URL, token: env.TOKEN });
    try {
      const busybox = await contree.images.use("busybox:latest", { strict: true });

      const ran = await busybox.run({ shell: "echo hi; echo err >&2; exit 3" });

      const written = await busybox.run({
        shell: "printf 'from workerd\\n' > /note.txt",
        disposable: false,
      });
      const note = await written.readText("/note.txt");

      const root = (await busybox.ls("/")).map((entry) => entry.name);

      const [passwd, chunks] = await streamed(await busybox.open("/etc/passwd"));

      const session = busybox.session();
      await session.run({ shell: "echo 1 > /v" });
      await session.run({ shell: "echo 2 >> /v" });
      const beforeRollback = await session.readText("/v");
      await session.rollback(1);
      const afterRollback = await session.readText("/v");

      const aborted = await abortMidRun(contree, busybox);
      const terminal = ["SUCCESS", "FAILED", "CANCELLED"];
      const status = await pollStatus(contree, aborted.uuid, (s) => terminal.includes(s));
      const abort = { ...aborted, status };

      return Response.json({
        busybox: { uuid: busybox.uuid },
        run: { exitCode: ran.exitCode, stdout: ran.stdout, stderr: ran.stderr },
        written: { uuid: written.uuid, changed: written.uuid !== busybox.uuid, note },
        root,
        open: { firstLine: passwd.split("\n")[0], chunks },
        session: { step: session.step, beforeRollback, afterRollback },
        abort,
      });
    } catch (error) {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      return new Response(`${message}\n${(error as Error)?.stack ?? ""}`, { status: 500 });
    } finally {
      await contree.close();
    }
  },
};
