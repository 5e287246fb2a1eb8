// Local text files: read when they may be missing (`auth.ini`, `.dockerignore`), written
// atomically (`auth.ini`, sessions, the build cache).
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "pathe";

/** The text of the file at `path`, or "" when there is none (other errors are thrown). */
export async function readTextIfExists(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return "";
    throw error;
  }
}

/**
 * Writes `text` to `path` through a temporary file renamed over it, so that a reader sees the
 * old file or the new one, whole; missing directories are made. With `mode`, the file has that
 * mode from its creation on (the umask aside, which `chmod` then undoes).
 */
export async function writeTextAtomically(path: string, text: string, mode?: number) {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${crypto.randomUUID()}.tmp`;
  await writeFile(temporary, text, mode === undefined ? {} : { mode });
  if (mode !== undefined) await chmod(temporary, mode);
  await rename(temporary, path);
}
