// Local text files that may be missing: `auth.ini`, `.dockerignore`.
import { readFile } from "node:fs/promises";

/** The text of the file at `path`, or "" when there is none (other errors are thrown). */
export async function readTextIfExists(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return "";
    throw error;
  }
}
