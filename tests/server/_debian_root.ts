// A real Debian bookworm root for sandbox tests: `debootstrap --variant=minbase`, built once
// by scripts/debian_root.sh (run by scripts/setup.sh) into .cache/ and reused.
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("../../scripts/debian_root.sh", import.meta.url));

let built: Promise<string> | undefined;

/** The cached Debian root's directory (built first when missing: about 30 s, needs root). */
export function debianRoot(): Promise<string> {
  built ??= (async () => {
    const out = await new Deno.Command("bash", { args: [SCRIPT], stderr: "inherit" }).output();
    if (!out.success) throw new Error(`scripts/debian_root.sh failed (${out.code})`);
    return new TextDecoder().decode(out.stdout).trim();
  })();
  return built;
}
