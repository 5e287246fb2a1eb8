/** The helper's path for sandboxes: a helper that cannot be built means no sandboxes here. */
import { HelperBuildError, helperPath as buildHelper } from "../helper/mod.ts";
import { SandboxUnsupportedError } from "./errors.ts";

/** {@linkcode buildHelper}, with a failed build as a {@linkcode SandboxUnsupportedError}. */
export async function helperPath(): Promise<string> {
  try {
    return await buildHelper();
  } catch (error) {
    if (error instanceof HelperBuildError) throw new SandboxUnsupportedError([error.missing]);
    throw error;
  }
}
