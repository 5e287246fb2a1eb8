/**
 * The child process behind `grepImage`: reads a `ChildJob` on stdin, runs `searchImage` and
 * writes `ChildMessage` lines on stdout. It runs with read access to the image's layers
 * only, and is killed when it overruns its time budget.
 */
import { LayeredView } from "../images/layered_view.ts";
import type { ChildJob, ChildMessage } from "./_protocol.ts";
import type { GrepMatch } from "../../src/wire/mod.ts";
import { searchImage } from "./search.ts";

const job: ChildJob = JSON.parse(await new Response(Deno.stdin.readable).text());
const writer = Deno.stdout.writable.getWriter();
const encoder = new TextEncoder();
let written = Promise.resolve();
const send = (message: ChildMessage) => {
  const line = encoder.encode(`${JSON.stringify(message)}\n`);
  written = written.then(() => writer.write(line));
};
let posted = 0;
const progress = (matches: readonly GrepMatch[]) => {
  if (matches.length === posted) return;
  send({ kind: "matches", matches: matches.slice(posted) });
  posted = matches.length;
};
const result = await searchImage(new LayeredView(job.layers), job.request, {
  limits: job.limits,
  onProgress: progress,
});
progress(result.matches);
send({ kind: "done", truncated: result.truncated });
await written;
await writer.close();
