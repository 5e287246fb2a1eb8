/** Looking up host executables in the server's PATH, once per name. */

const found = new Map<string, Promise<string | null>>();

/** The host path of the executable `name` in PATH, or null when there is none. */
export function which(name: string): Promise<string | null> {
  let path = found.get(name);
  if (path === undefined) {
    path = (async () => {
      for (const dir of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
        try {
          if ((await Deno.stat(`${dir}/${name}`)).isFile) return `${dir}/${name}`;
        } catch {
          // Not in this directory.
        }
      }
      return null;
    })();
    found.set(name, path);
  }
  return path;
}
