/**
 * The OpenAPI 3.1 description of the gateway, served at `/openapi.json`.
 *
 * @module
 */

const problem = { $ref: "#/components/responses/Problem" };
const ref = {
  name: "ref",
  in: "path",
  required: true,
  description: "An image UUID, or a tag with `/` written as `%2F` (e.g. `busybox:latest`).",
  schema: { type: "string", maxLength: 256 },
};
const path = {
  name: "path",
  in: "path",
  required: true,
  description: "A path inside the image: percent-encoded UTF-8, normalised; `..` is rejected.",
  schema: { type: "string", maxLength: 4096 },
};
const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((status) => [String(status), problem]));
const json = (schema: unknown) => ({ content: { "application/json": { schema } } });
const secured = [{ apiKey: [] }];

const runBody = {
  type: "object",
  additionalProperties: false,
  description: "Exactly one of `command` (with optional `args`) and `shell`.",
  properties: {
    command: { type: "string", minLength: 1, maxLength: 4096, description: "An executable." },
    args: {
      type: "array",
      maxItems: 1024,
      items: { type: "string", maxLength: 65536 },
      description: "Arguments of `command`.",
    },
    shell: {
      type: "string",
      minLength: 1,
      maxLength: 65536,
      description: "A shell expression, run with `/bin/sh -c`.",
    },
    env: {
      type: "object",
      maxProperties: 256,
      propertyNames: { pattern: "^[A-Za-z_][A-Za-z0-9_]*$", maxLength: 256 },
      additionalProperties: { type: "string", maxLength: 65536 },
    },
    cwd: { type: "string", maxLength: 4096, description: "An absolute directory." },
    stdin: { type: "string", maxLength: 262144, description: "UTF-8 text fed to stdin." },
    timeout: { type: "integer", minimum: 1, maximum: 3600, description: "Seconds." },
    disposable: {
      type: "boolean",
      description: "Drop the filesystem changes: no result image (default false).",
    },
    tag: { type: "string", maxLength: 256, description: "Tag the result image." },
    network: {
      type: "boolean",
      description: "Let the instance reach the network (default false: its own loopback only).",
    },
  },
};

const image = {
  type: "object",
  required: ["uuid", "tag", "createdAt"],
  properties: {
    uuid: { type: "string", format: "uuid" },
    tag: { type: ["string", "null"] },
    createdAt: { type: ["string", "null"], format: "date-time" },
  },
};

const runResult = {
  type: "object",
  required: ["operation", "exitCode", "signal", "timedOut", "elapsedMs", "truncated", "image"],
  properties: {
    operation: { type: "string", format: "uuid" },
    exitCode: { type: ["integer", "null"], description: "`null` when the run timed out." },
    signal: { type: ["integer", "null"] },
    timedOut: { type: "boolean", description: "The run's `timeout` cut it short." },
    elapsedMs: { type: ["number", "null"] },
    stdout: {
      type: "string",
      description: "UTF-8, invalid bytes replaced. Absent from the event-stream `result`.",
    },
    stderr: { type: "string" },
    truncated: {
      type: "object",
      description: "Streams cut at the server's output cap.",
      properties: { stdout: { type: "boolean" }, stderr: { type: "boolean" } },
    },
    image: {
      oneOf: [image, { type: "null" }],
      description: "The result image; null for disposable or timed-out runs.",
    },
  },
};

const downloadHeaders = {
  ETag: { schema: { type: "string" }, description: "Strong: derives from image UUID + path." },
  "Cache-Control": {
    schema: { type: "string" },
    description: "`public, max-age=31536000, immutable` by UUID; `no-cache` by tag.",
  },
  "Accept-Ranges": { schema: { type: "string", const: "bytes" } },
  "Content-Length": { schema: { type: "integer" } },
};

/**
 * The OpenAPI 3.1 document of the gateway's routes.
 *
 * @example
 * ```ts
 * import { openApiDocument } from "./openapi.ts";
 *
 * console.log(Object.keys(openApiDocument().paths));
 * ```
 */
export function openApiDocument(): Record<string, unknown> & { paths: Record<string, unknown> } {
  return {
    openapi: "3.1.0",
    info: {
      title: "ConTree gateway",
      version: "0.1.0",
      description: "ConTree sandboxes over HTTP: browse and download images, run commands. " +
        "Errors are `application/problem+json` (RFC 9457); every response has `X-Request-Id`.",
    },
    security: secured,
    components: {
      securitySchemes: {
        apiKey: {
          type: "http",
          scheme: "bearer",
          description: "A gateway API key; read-only keys may list, inspect and download only.",
        },
      },
      responses: {
        Problem: {
          description: "An error.",
          content: {
            "application/problem+json": {
              schema: {
                type: "object",
                required: ["type", "title", "status", "detail"],
                properties: {
                  type: { type: "string" },
                  title: { type: "string" },
                  status: { type: "integer" },
                  detail: { type: "string" },
                  field: { type: "string", description: "The first invalid field." },
                  issues: {
                    type: "array",
                    items: {
                      type: "object",
                      properties: { field: { type: "string" }, message: { type: "string" } },
                    },
                  },
                  requestId: { type: "string" },
                },
              },
            },
          },
        },
      },
      schemas: { Image: image, RunRequest: runBody, RunResult: runResult },
    },
    paths: {
      "/healthz": {
        get: {
          summary: "Liveness of the gateway itself.",
          security: [],
          responses: { "200": { description: "Alive.", ...json({ type: "object" }) } },
        },
      },
      "/openapi.json": {
        get: {
          summary: "This document.",
          security: [],
          responses: { "200": { description: "OpenAPI 3.1.", ...json({ type: "object" }) } },
        },
      },
      "/images": {
        get: {
          summary: "List images, newest first.",
          parameters: [
            { name: "tagged", in: "query", schema: { enum: ["", "0", "1", "true", "false"] } },
            {
              name: "prefix",
              in: "query",
              description: "Tag prefix.",
              schema: { type: "string", maxLength: 256 },
            },
            {
              name: "limit",
              in: "query",
              schema: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
            },
            {
              name: "cursor",
              in: "query",
              description: "`nextCursor` of the previous page.",
              schema: { type: "string" },
            },
          ],
          responses: {
            "200": {
              description: "One page.",
              ...json({
                type: "object",
                required: ["images", "nextCursor"],
                properties: {
                  images: { type: "array", items: { $ref: "#/components/schemas/Image" } },
                  nextCursor: { type: ["string", "null"] },
                },
              }),
            },
            ...errors(400, 401, 502, 504),
          },
        },
      },
      "/images/{ref}": {
        get: {
          summary: "One image.",
          parameters: [ref],
          responses: {
            "200": { description: "The image.", ...json({ $ref: "#/components/schemas/Image" }) },
            ...errors(400, 401, 404, 502, 504),
          },
        },
      },
      "/images/{ref}/ls/{path}": {
        get: {
          summary: "List a directory of an image.",
          parameters: [ref, path],
          responses: {
            "200": {
              description: "The entries.",
              ...json({
                type: "object",
                properties: {
                  image: { type: "string", format: "uuid" },
                  path: { type: "string" },
                  entries: {
                    type: "array",
                    items: {
                      type: "object",
                      properties: {
                        name: { type: "string" },
                        type: { enum: ["file", "directory", "symlink", "socket", "fifo", "other"] },
                        size: { type: "integer" },
                        mode: { type: "string", description: "Permission bits, octal." },
                        uid: { type: "integer" },
                        gid: { type: "integer" },
                        mtime: { type: "string", format: "date-time" },
                        target: { type: "string", description: "Symlink target." },
                      },
                    },
                  },
                },
              }),
            },
            ...errors(400, 401, 404, 422, 502, 504),
          },
        },
      },
      "/images/{ref}/files/{path}": {
        get: {
          summary: "Download a file (streamed; single ranges; conditional).",
          parameters: [
            ref,
            path,
            {
              name: "download",
              in: "query",
              description: "`1`: `Content-Disposition: attachment`.",
              schema: { enum: ["", "0", "1", "true", "false"] },
            },
            { name: "Range", in: "header", schema: { type: "string", example: "bytes=0-1023" } },
            { name: "If-None-Match", in: "header", schema: { type: "string" } },
            { name: "If-Range", in: "header", schema: { type: "string" } },
          ],
          responses: {
            "200": {
              description: "The file.",
              headers: downloadHeaders,
              content: { "*/*": { schema: { type: "string", format: "binary" } } },
            },
            "206": {
              description: "One range of the file.",
              headers: { ...downloadHeaders, "Content-Range": { schema: { type: "string" } } },
              content: { "*/*": { schema: { type: "string", format: "binary" } } },
            },
            "304": { description: "Not modified (`If-None-Match`)." },
            ...errors(400, 401, 404, 416, 422, 502, 504),
          },
        },
        head: {
          summary: "The headers of a download, without the body.",
          parameters: [ref, path],
          responses: { "200": { description: "As GET.", headers: downloadHeaders } },
        },
      },
      "/images/{ref}/archive/{path}": {
        get: {
          summary: "A tar archive of a directory or file (streamed).",
          parameters: [
            ref,
            path,
            {
              name: "gzip",
              in: "query",
              description: "`1`: `.tar.gz`.",
              schema: { enum: ["", "0", "1", "true", "false"] },
            },
          ],
          responses: {
            "200": {
              description: "The archive.",
              content: {
                "application/x-tar": { schema: { type: "string", format: "binary" } },
                "application/gzip": { schema: { type: "string", format: "binary" } },
              },
            },
            ...errors(400, 401, 404, 502, 504),
          },
        },
      },
      "/images/{ref}/run": {
        post: {
          summary: "Run a command in a new instance of the image (write scope).",
          description: "JSON result, or with `Accept: text/event-stream` live `stdout` and " +
            '`stderr` events (`{"text": ...}`) then one `result` event (or `error`). A client ' +
            "that disconnects cancels the run.",
          parameters: [ref],
          requestBody: {
            required: true,
            ...json({ $ref: "#/components/schemas/RunRequest" }),
          },
          responses: {
            "200": {
              description: "The run completed (any exit code).",
              content: {
                "application/json": { schema: { $ref: "#/components/schemas/RunResult" } },
                "text/event-stream": { schema: { type: "string" } },
              },
            },
            ...errors(400, 401, 403, 404, 413, 415, 502, 504),
          },
        },
      },
      "/images/{ref}/tag": {
        put: {
          summary: "Tag the image (moves the tag from any other image; write scope).",
          parameters: [ref],
          requestBody: {
            required: true,
            ...json({
              type: "object",
              required: ["tag"],
              additionalProperties: false,
              properties: { tag: { type: "string", maxLength: 256 } },
            }),
          },
          responses: {
            "200": {
              description: "The tagged image.",
              ...json({ $ref: "#/components/schemas/Image" }),
            },
            ...errors(400, 401, 403, 404, 409, 413, 415, 502, 504),
          },
        },
        delete: {
          summary: "Remove the image's tag (the tag itself when `ref` is a tag; write scope).",
          parameters: [ref],
          responses: { "204": { description: "Untagged." }, ...errors(400, 401, 403, 404, 502) },
        },
      },
    },
  };
}
