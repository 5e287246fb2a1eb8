// valibot schemas of the REST responses, typed against the interfaces of types.ts.
import * as v from "valibot";
import type {
  ClosableStreamRepr,
  ContreeFile,
  DirectoryList,
  FileItem,
  FileResponse,
  FilesListResponse,
  FileSpec,
  GrepResult,
  Image,
  ImageImportMetadata,
  ImageListResponse,
  InstanceResult,
  InstanceSpawnResponse,
  OperationInstanceMetadata,
  OperationResponse,
  OperationStatus,
  OperationSummary,
  StreamRepr,
  WhoAmI,
} from "./types.ts";
import { OPERATION_STATUSES } from "./operation_status.ts";
import { number, optional, record, validate } from "./_validate.ts";

const string = v.string();
const boolean = v.boolean();

export const WhoAmISchema: v.GenericSchema<unknown, WhoAmI> = v.object({
  token_uuid: string,
  token_expiration: v.nullable(number),
  permissions: record(boolean),
  limits: optional(record(number)),
  operations_stat: record(number),
});

export const ImageSchema: v.GenericSchema<unknown, Image> = v.object({
  uuid: string,
  tag: v.nullish(string),
  created_at: optional(string),
  operation_uuid: v.nullish(string),
});

export const ImageListResponseSchema: v.GenericSchema<unknown, ImageListResponse> = v.object({
  images: v.optional(v.array(ImageSchema), () => []),
});

const fileResponseEntries = { uuid: string, sha256: string, size: number };

export const FileResponseSchema: v.GenericSchema<unknown, FileResponse> = v.object(
  fileResponseEntries,
);

export const ContreeFileSchema: v.GenericSchema<unknown, ContreeFile> = v.object({
  ...fileResponseEntries,
  created_at: string,
  updated_at: string,
});

export const FilesListResponseSchema: v.GenericSchema<unknown, FilesListResponse> = v.object({
  files: v.array(ContreeFileSchema),
});

export const StreamReprSchema: v.GenericSchema<unknown, StreamRepr> = v.object({
  value: string,
  encoding: string,
  truncated: optional(boolean),
});

const ClosableStreamReprSchema: v.GenericSchema<unknown, ClosableStreamRepr> = v.object({
  value: string,
  encoding: optional(v.picklist(["ascii", "base64"])),
  close: optional(boolean),
});

const FileSpecSchema: v.GenericSchema<unknown, FileSpec> = v.object({
  uuid: optional(string),
  uid: optional(number),
  gid: optional(number),
  mode: optional(v.union([string, number])),
});

const instanceSettingsEntries = {
  args: optional(v.array(string)),
  shell: optional(boolean),
  env: optional(record(string)),
  preserve_env: optional(boolean),
  cwd: optional(string),
  uid: optional(number),
  gid: optional(number),
  hostname: optional(string),
  disposable: optional(boolean),
  stdin: optional(ClosableStreamReprSchema),
  timeout: optional(number),
  truncate_output_at: optional(number),
  resources_limits: optional(v.object({ max_layer_bytes: optional(number) })),
  networking: optional(v.object({ enabled: optional(boolean) })),
  files: optional(record(FileSpecSchema)),
} satisfies v.ObjectEntries;

/** Fields that are all optional numbers (or booleans), listed by name. */
function optionalFields<T>(
  names: readonly string[],
  schema: v.GenericSchema<unknown, T>,
): Record<string, ReturnType<typeof optional<T>>> {
  return Object.fromEntries(names.map((name) => [name, optional(schema)]));
}

export const InstanceResultSchema: v.GenericSchema<unknown, InstanceResult> = v.object({
  resources: optional(v.object(optionalFields([
    "elapsed_time",
    "monotonic_time",
    "user_cpu_time",
    "system_cpu_time",
    "cost",
    "max_rss",
    "block_input",
    "block_output",
    "page_faults",
    "page_faults_io",
    "shared_memory",
    "unshared_memory",
    "swaps",
    "signals",
    "voluntary_switches",
    "involuntary_switches",
  ], number))),
  state: optional(v.object({
    ...optionalFields(["exit_code", "pid", "signal"], number),
    ...optionalFields(["timed_out", "core_dump", "stopped", "continued"], boolean),
  })),
  stdout: optional(StreamReprSchema),
  stderr: optional(StreamReprSchema),
});

export const InstanceSpawnResponseSchema: v.GenericSchema<unknown, InstanceSpawnResponse> = v
  .object({
    ...instanceSettingsEntries,
    uuid: string,
    command: optional(string),
    image: optional(string),
  });

const OperationInstanceMetadataSchema: v.GenericSchema<unknown, OperationInstanceMetadata> = v
  .object({
    ...instanceSettingsEntries,
    command: string,
    image: string,
    result: optional(InstanceResultSchema),
  });

const ImageImportMetadataSchema: v.GenericSchema<unknown, ImageImportMetadata> = v.object({
  registry: optional(v.object({
    url: optional(string),
    credentials: optional(v.object({ username: optional(string), password: optional(string) })),
  })),
  tag: optional(string),
  timeout: optional(number),
});

const OperationStatusSchema: v.GenericSchema<unknown, OperationStatus> = v.picklist(
  OPERATION_STATUSES,
);

const operationSummaryEntries = {
  uuid: string,
  kind: optional(string),
  status: OperationStatusSchema,
  error: v.nullish(string),
  created_at: optional(string),
  duration: optional(number),
  image_size: optional(number),
  consumed_cpu: optional(number),
  consumed_memory: optional(number),
  image_uuid: v.nullish(string),
  result_image_uuid: v.nullish(string),
};

export const OperationSummaryListSchema: v.GenericSchema<unknown, OperationSummary[]> = v.array(
  v.object(operationSummaryEntries),
);

const OperationEnvelopeSchema: v.GenericSchema<
  unknown,
  Omit<OperationResponse, "metadata"> & { metadata?: unknown }
> = v.object({
  ...operationSummaryEntries,
  metadata: v.optional(v.unknown()),
  result: optional(v.object({ image: v.nullish(string), tag: v.nullish(string) })),
});

/** Validates an operation, reading `metadata` by `kind`. */
export function parseOperation(data: unknown, where: string): OperationResponse {
  const { metadata, ...rest } = validate(OperationEnvelopeSchema, data, where);
  if (metadata === undefined || metadata === null) return rest;
  return {
    ...rest,
    metadata: rest.kind === "instance"
      ? validate(OperationInstanceMetadataSchema, metadata, where, "metadata")
      : validate(ImageImportMetadataSchema, metadata, where, "metadata"),
  };
}

const FileItemSchema: v.GenericSchema<unknown, FileItem> = v.object({
  path: string,
  size: number,
  owner: v.union([string, number]),
  group: v.union([string, number]),
  uid: number,
  gid: number,
  mode: number,
  mtime: number,
  nlink: number,
  is_dir: boolean,
  is_regular: boolean,
  is_symlink: boolean,
  is_socket: boolean,
  is_fifo: boolean,
  symlink_to: string,
});

export const DirectoryListSchema: v.GenericSchema<unknown, DirectoryList> = v.object({
  path: string,
  files: v.array(FileItemSchema),
});

export const GrepResultSchema: v.GenericSchema<unknown, GrepResult> = v.object({
  path: string,
  patterns: v.array(string),
  matches: v.array(v.object({
    path: string,
    line_number: number,
    absolute_offset: number,
    line_text: string,
    line_bytes: v.unknown(),
    submatches: v.array(v.object({ text: string, start: number, end: number })),
    type: string,
  })),
  truncated: boolean,
});

export const UuidSchema: v.GenericSchema<unknown, { uuid: string }> = v.object({ uuid: string });

export const SpidSchema: v.GenericSchema<unknown, { spid: number }> = v.object({ spid: number });
