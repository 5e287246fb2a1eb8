/** Wire shapes of stored records. */
import type {
  FileRecord,
  ImageRecord,
  ImageRepo,
  OperationRecord,
  OperationSummaryRecord,
} from "../store/mod.ts";

/**
 * The wire's `Image`.
 *
 * @example
 * ```ts
 * c.json(imageJson(image));
 * ```
 */
export function imageJson(image: ImageRecord): Record<string, unknown> {
  return {
    uuid: image.uuid,
    tag: image.tag,
    created_at: image.created_at,
    operation_uuid: image.operation_uuid,
  };
}

/**
 * The wire's `File`.
 *
 * @example
 * ```ts
 * c.json(fileJson(file));
 * ```
 */
export function fileJson(file: FileRecord): Record<string, unknown> {
  return {
    uuid: file.uuid,
    sha256: file.sha256,
    size: file.size,
    created_at: file.created_at,
    updated_at: file.updated_at,
  };
}

/**
 * The wire's `OperationSummary`; `duration` of an active operation is the time so far.
 *
 * @example
 * ```ts
 * c.json(ops.map(operationSummaryJson));
 * ```
 */
export function operationSummaryJson(op: OperationSummaryRecord): Record<string, unknown> {
  return {
    uuid: op.uuid,
    kind: op.kind,
    status: op.status,
    error: op.error,
    created_at: op.created_at,
    duration: op.duration ?? (Date.now() - Date.parse(op.created_at)) / 1000,
    image_size: op.image_size ?? 0,
    consumed_cpu: op.consumed_cpu ?? 0,
    consumed_memory: op.consumed_memory ?? 0,
    image_uuid: op.image_uuid,
    result_image_uuid: op.result_image_uuid,
  };
}

/**
 * The wire's `OperationResponse`: the summary plus `metadata` (the accepted request and,
 * once finished, `result`) and `result {image, tag}` (the tag the image carries now).
 *
 * @example
 * ```ts
 * c.json(operationJson(op, store.images));
 * ```
 */
export function operationJson(op: OperationRecord, images: ImageRepo): Record<string, unknown> {
  const image = op.result_image_uuid ? images.get(op.result_image_uuid) : undefined;
  return {
    ...operationSummaryJson(op),
    metadata: { ...op.metadata, result: op.result },
    result: { image: op.result_image_uuid, tag: image?.tag ?? null },
  };
}
