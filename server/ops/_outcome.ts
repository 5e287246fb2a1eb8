/** What a run or an import ends with, before it is recorded; shared by the ops runners. */
import type { SandboxResult } from "../sandbox/run.ts";
import type { TerminalStatus } from "../../src/wire/mod.ts";
import type { ImageRecord } from "../store/mod.ts";
import { OutputCapture } from "./output_capture.ts";

/** The failure of operations a stopping server ends. */
export const STOPPED = "server stopped while the operation was running";

/** The terminal state of one operation, as the recorder writes it. */
export interface Outcome {
  status: TerminalStatus;
  error: string | null;
  /** A new image to store with the terminal state. */
  image?: ImageRecord;
  resultImage: string | null;
  /** Tag to move onto the result image. */
  tag?: string;
  imageSize: number;
  result: SandboxResult | null;
  stdout: OutputCapture;
  stderr: OutputCapture;
}

/** An outcome with no result, no image and no output. */
export function emptyOutcome(status: TerminalStatus, error: string | null): Outcome {
  return {
    status,
    error,
    resultImage: null,
    imageSize: 0,
    result: null,
    stdout: new OutputCapture(0),
    stderr: new OutputCapture(0),
  };
}

/** The message recorded for a failure; a full disk (file or SQLite) reads the same either way. */
export function errorMessage(error: unknown): string {
  const code = (error as { code?: string })?.code;
  if (code === "ENOSPC" || code === "ERR_SQLITE_ERROR" && /full/i.test(String(error))) {
    return "no space left on device";
  }
  return error instanceof Error ? error.message : String(error);
}
