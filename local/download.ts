/**
 * Downloading files of images to the local filesystem, streamed.
 *
 * @module
 */
import { open, rename, rm } from "node:fs/promises";
import { basename } from "pathe";

/**
 * Anything with an image's `open()`: a `ContreeImage` or a `ContreeSession`
 * (which reads at HEAD).
 *
 * @example
 * ```ts
 * import type { ImageReader } from "@contree/sdk/local";
 * import type { ContreeImage } from "@contree/sdk";
 *
 * const reader = (image: ContreeImage): ImageReader => image;
 * ```
 */
export interface ImageReader {
  /** Opens a file of the image as a stream. */
  open(path: string, options?: { signal?: AbortSignal }): Promise<ReadableStream<Uint8Array>>;
}

/**
 * Downloads a file of an image to `localPath` (default: its base name in the
 * current directory), streamed in constant memory. The file appears only
 * once complete (written beside it as `<localPath>.part`, then renamed).
 * Returns the local path.
 *
 * @example
 * ```ts
 * import { Contree } from "@contree/sdk";
 * import { download } from "@contree/sdk/local";
 *
 * const contree = new Contree({ baseUrl: "http://127.0.0.1:8080", token: "t" });
 * const busybox = await contree.images.use("busybox:latest");
 * console.log(await download(busybox, "/etc/passwd", "/tmp/passwd")); // "/tmp/passwd"
 * ```
 */
export async function download(
  image: ImageReader,
  imagePath: string,
  localPath: string = basename(imagePath),
  options: { signal?: AbortSignal } = {},
): Promise<string> {
  const stream = await image.open(imagePath, options);
  const partial = `${localPath}.part`;
  const file = await open(partial, "w");
  try {
    for await (const chunk of stream) await file.write(chunk);
    await file.close();
    await rename(partial, localPath);
  } catch (error) {
    await file.close().catch(() => {});
    await rm(partial, { force: true });
    throw error;
  }
  return localPath;
}
