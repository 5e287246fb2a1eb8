// A loopback npm registry for tests that install the package's npm imports the way a consumer
// does (Deno filling an empty cache through the package's `imports` map), with no traffic
// beyond 127.0.0.1.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/**
 * A loopback npm registry serving the packages the SDK imports, packed from node_modules, so
 * that Deno fills an empty cache the way a JSR consumer's Deno does from the npm registry.
 */
export async function npmRegistry(names: string[]): Promise<{ url: string; server: Server }> {
  const files = new Map<string, Uint8Array>();
  const packuments = new Map<string, unknown>();
  const server = createServer((request, response) => {
    const path = decodeURIComponent(request.url ?? "/").slice(1);
    const tarball = files.get(path);
    const packument = packuments.get(path);
    if (tarball) response.writeHead(200, { "content-type": "application/octet-stream" });
    else if (packument) response.writeHead(200, { "content-type": "application/json" });
    else response.writeHead(404);
    response.end(tarball ?? (packument ? JSON.stringify(packument) : undefined));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  for (const name of names) {
    const dir = join(ROOT, "node_modules", name);
    const manifest = JSON.parse(await readFile(join(dir, "package.json"), "utf8"));
    const tgz = await new Promise<Uint8Array>((resolve, reject) => {
      execFile(
        "tar",
        ["-czf", "-", "-C", dir, "--transform", "s,^\\.,package,", "."],
        { encoding: "buffer", maxBuffer: 64 << 20 },
        (error, stdout) => error ? reject(error) : resolve(new Uint8Array(stdout)),
      );
    });
    const file = `${name}/-/${name}-${manifest.version}.tgz`;
    files.set(file, tgz);
    packuments.set(name, {
      name,
      "dist-tags": { latest: manifest.version },
      versions: {
        [manifest.version]: {
          name,
          version: manifest.version,
          dependencies: manifest.dependencies ?? {},
          dist: {
            tarball: url + file,
            integrity: `sha512-${createHash("sha512").update(tgz).digest("base64")}`,
          },
        },
      },
    });
  }
  return { url, server };
}
