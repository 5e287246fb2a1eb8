// The in-page script of sdk.test.ts: bundled by esbuild for the browser, it puts `contreeSmoke`
// on the page's global object. The test calls it through Playwright with the backend URL and
// token; it drives the high-level SDK (`Contree`) and answers the outcome of each step as JSON.
import { Contree, type ContreeImage } from "../../mod.ts";
import { abortMidRun } from "../_sdk_smoke.ts";

/** What the test passes to `contreeSmoke`. */
export interface SmokeArgs {
  baseUrl: string;
  token: string;
}

/**
 * What the browser does with the headers the wire client sets and a page may not set
 * (`Accept-Encoding` is forbidden; Chromium also keeps its own `User-Agent`): whether a
 * `Request` keeps them and whether `fetch` throws on them.
 */
async function forbiddenHeaders(args: SmokeArgs) {
  const headers = {
    "accept-encoding": "gzip",
    "user-agent": "contree-sdk-ts/probe",
    authorization: `Bearer ${args.token}`,
  };
  const request = new Request(`${args.baseUrl}/v1/operations`, { headers });
  let fetchError: string | null = null;
  let status = 0;
  try {
    const res = await fetch(`${args.baseUrl}/v1/operations`, { headers });
    status = res.status;
    await res.body?.cancel();
  } catch (error) {
    fetchError = describeError(error);
  }
  return {
    requestKeepsAcceptEncoding: request.headers.has("accept-encoding"),
    requestKeepsUserAgent: request.headers.has("user-agent"),
    fetchError,
    status,
  };
}

/**
 * What a browser answers to `redirect: "manual"`, which `findImageByTag` (and so
 * `images.use(tag, { strict: true })`) relies on to read the 302's `Location`.
 */
async function manualRedirect(args: SmokeArgs) {
  const res = await fetch(`${args.baseUrl}/v1/inspect/?tag=busybox:latest`, {
    headers: { authorization: `Bearer ${args.token}` },
    redirect: "manual",
  });
  return { type: res.type, status: res.status, location: res.headers.get("location") };
}

/** The image's UUID: the last segment of the URL that the tag lookup redirects to. */
async function uuidByFollowing(args: SmokeArgs, tag: string): Promise<string> {
  const res = await fetch(`${args.baseUrl}/v1/inspect/?tag=${encodeURIComponent(tag)}`, {
    headers: { authorization: `Bearer ${args.token}` },
  });
  await res.body?.cancel();
  if (!res.ok || !res.redirected) throw new Error(`tag lookup: ${res.status} at ${res.url}`);
  return new URL(res.url).pathname.split("/").filter(Boolean).at(-1)!;
}

const describeError = (error: unknown) =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

async function contreeSmoke(args: SmokeArgs): Promise<string> {
  const headers = await forbiddenHeaders(args);
  const redirect = await manualRedirect(args);
  const contree = new Contree({ baseUrl: args.baseUrl, token: args.token });
  try {
    // The strict lookup first; when it fails the rest of the smoke goes on with the image
    // looked up by UUID (found by following the redirect, which a browser allows).
    let strict: { uuid: string | undefined; error: string | null };
    let busybox: ContreeImage;
    try {
      busybox = await contree.images.use("busybox:latest", { strict: true });
      strict = { uuid: busybox.uuid, error: null };
    } catch (error) {
      strict = { uuid: undefined, error: describeError(error) };
      busybox = await contree.images.use(await uuidByFollowing(args, "busybox:latest"), {
        strict: true,
      });
    }

    const ran = await busybox.run({ shell: "echo hi; echo err >&2; exit 3" });

    const written = await busybox.run({
      shell: "printf 'from the browser\\n' > /note.txt",
      disposable: false,
    });
    const note = await written.readText("/note.txt");

    const root = (await busybox.ls("/")).map((entry) => entry.name);

    const abort = await abortMidRun(contree, busybox);

    return JSON.stringify({
      headers,
      redirect,
      strict,
      run: { exitCode: ran.exitCode, stdout: ran.stdout, stderr: ran.stderr },
      written: { uuid: written.uuid, changed: written.uuid !== busybox.uuid, note },
      root,
      abort,
    });
  } finally {
    await contree.close();
  }
}

(globalThis as unknown as { contreeSmoke: typeof contreeSmoke }).contreeSmoke = contreeSmoke;
