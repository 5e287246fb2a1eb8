// The `files` option of a run: every distinct content uploaded once, all in parallel.
import type { RequestOptions } from "../wire/types.ts";
import { parseFileMode } from "../wire/file_mode.ts";
import { readContent, sha256Hex } from "../wire/hash.ts";
import type { FileSpec } from "../wire/types.ts";
import type { FileContent, FileEntry, FilesManager, RunFiles, UploadedFile } from "./files.ts";

function isUploaded(value: FileContent): value is UploadedFile {
  return typeof (value as UploadedFile).uuid === "string" &&
    typeof (value as UploadedFile).sha256 === "string";
}

function isEntry(value: FileContent | FileEntry): value is FileEntry {
  return typeof value === "object" && value !== null && "content" in value;
}

/**
 * Uploads the files of a run (deduplicated by SHA-256) and returns the wire
 * `files` map. When an upload fails the others still finish; then the first
 * error is thrown.
 */
export async function uploadRunFiles(
  manager: FilesManager,
  files: RunFiles,
  options: RequestOptions,
): Promise<Record<string, FileSpec>> {
  const entries = Object.entries(files).map(([path, value]) => {
    const entry = isEntry(value) ? value : { content: value };
    return { path, entry, mode: parseFileMode(entry.mode ?? 0o644) };
  });
  const byHash = new Map<string, Promise<UploadedFile>>();
  const located = await Promise.allSettled(entries.map(async ({ entry }) => {
    if (isUploaded(entry.content)) return entry.content;
    const bytes = await readContent(entry.content);
    const sha256 = await sha256Hex(bytes);
    let upload = byHash.get(sha256);
    if (!upload) {
      upload = manager.upload(bytes, options);
      byHash.set(sha256, upload);
    }
    return await upload;
  }));
  const failed = located.find((outcome) => outcome.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return Object.fromEntries(entries.map(({ path, entry, mode }, i) => {
    const file = (located[i] as PromiseFulfilledResult<UploadedFile>).value;
    return [path, { uuid: file.uuid, mode, uid: entry.uid ?? 0, gid: entry.gid ?? 0 }];
  }));
}
