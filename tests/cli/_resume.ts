// Runs `contree cp`'s download in this runtime with a stall limit the command line does not
// offer, so that a test can stall a connection for less than the default five minutes.
//   <runtime> tests/cli/_resume.ts URL TOKEN IMAGE PATH DEST STALL_MS
// Prints the size downloaded; the debug log goes to stderr.
import process from "node:process";
import { dirname } from "node:path";
import { Context } from "../../cli/_context.ts";
import { downloadResumable } from "../../cli/_download.ts";

const [url, token, image, path, dest, stallMs] = process.argv.slice(2);
const ctx = new Context({ url, token, logLevel: "debug" }, {
  CONTREE_HOME: dirname(dest),
  NO_COLOR: "1",
});
try {
  console.log(await downloadResumable(ctx, image, path, dest, { stallMs: Number(stallMs) }));
} finally {
  await ctx.close();
}
