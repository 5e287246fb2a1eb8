/**
 * The high-level ConTree SDK: a {@linkcode Contree} client whose images run
 * commands as thenable {@linkcode ContreeRun}s, read files without a sandbox,
 * spawn {@linkcode ContreeProcess}es and keep {@linkcode ContreeSession}s
 * with history and branches. Web APIs only.
 *
 * @example
 * ```ts
 * import { Contree } from "@contree/sdk";
 *
 * await using contree = new Contree({ baseUrl: "http://127.0.0.1:8080", token: "t" });
 * const image = await contree.images.use("busybox:latest");
 * const built = await image.run({ shell: "echo hi > /greeting", disposable: false });
 * console.log(await built.readText("/greeting")); // "hi\n"
 * ```
 *
 * @module
 */
export { Contree, type ContreeOptions, type ContreeSettings } from "./contree.ts";
export { diffImages, type DiffOptions, type EntryType, type ImageDiffEntry } from "./diff.ts";
export {
  ContreeImageStateError,
  ContreeProcessError,
  ContreeSessionBusyError,
  ContreeSessionError,
  DisposableImageRunError,
  OperationCancelledError,
  OperationError,
  OperationFailedError,
  OperationTimedOutError,
  RunOptionsError,
} from "./errors.ts";
export {
  type FileContent,
  type FileEntry,
  FilesManager,
  type RunFiles,
  type UploadedFile,
} from "./files.ts";
export {
  ContreeImage,
  type ContreeImageInit,
  type OpenOptions,
  type ReadOptions,
} from "./image.ts";
export { ImageDirectory, ImageEntry, ImageFile } from "./image_fs.ts";
export { ImagesManager, type ImportOptions, type ListImagesOptions } from "./images.ts";
export { type OciReference, parseOciReference } from "./oci.ts";
export { ContreeProcess, type PopenOptions } from "./process.ts";
export {
  importProgressReader,
  type Progress,
  type ProgressCallback,
  withProgress,
} from "./progress.ts";
export type {
  CapturedOutput,
  ContreeResult,
  OutputChunk,
  OutputTarget,
  RunOutput,
  Truncation,
} from "./result.ts";
export { ContreeRun } from "./run.ts";
export type { RunOptions, RunSettings, StdinSource } from "./run_options.ts";
export { ContreeSession, type SessionOptions } from "./session.ts";
export {
  MemorySessionStore,
  type SessionBranch,
  type SessionSnapshot,
  type SessionStep,
  type SessionStore,
} from "./session_store.ts";
export { ImageState } from "./state.ts";
