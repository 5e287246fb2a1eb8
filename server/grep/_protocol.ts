/** What `grepImage` and its child process (`_child.ts`) exchange. */
import type { GrepRequest } from "./request.ts";
import type { GrepMatch } from "../../src/wire/mod.ts";
import type { GrepLimits } from "./search.ts";

/** The job, sent as JSON on the child's stdin. */
export interface ChildJob {
  /** Host directories of the image's layers, lowest first. */
  layers: string[];
  /** The validated request. */
  request: GrepRequest;
  /** Budgets. */
  limits: GrepLimits;
}

/** One line of JSON on the child's stdout: entries as files are done, then `done`. */
export type ChildMessage =
  | { kind: "matches"; matches: GrepMatch[] }
  | { kind: "done"; truncated: boolean };
