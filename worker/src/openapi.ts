/**
 * The OpenAPI 3.1 description of the gateway, served at `/openapi.json`, made from the same
 * valibot schemas that check requests (`_schemas.ts`) and type answers (`_responses.ts`).
 *
 * @module
 */
import { toJsonSchema } from "@valibot/to-json-schema";
import type * as v from "valibot";
import {
  DirectoryJsonSchema,
  HealthJsonSchema,
  ImageJsonSchema,
  ImageListJsonSchema,
  ProblemJsonSchema,
  RunResultJsonSchema,
} from "./_responses.ts";
import { ArchiveQuery, FileQuery, ListQuery, RunBody, TagBody } from "./_schemas.ts";

type Json = Record<string, unknown>;
type Schema = v.GenericSchema;

/** A JSON Schema (2020-12, as OpenAPI 3.1 uses) of what a schema accepts or gives. */
function jsonSchema(schema: Schema, mode: "input" | "output"): Json {
  // Checks JSON Schema cannot say (custom checks, transforms) are left out: the document
  // describes the shape, the gateway enforces the rest.
  const converted: Json = toJsonSchema(schema, {
    target: "draft-2020-12",
    typeMode: mode,
    errorMode: "ignore",
  }) as Json;
  delete converted.$schema;
  return converted;
}

const binary = { type: "string", format: "binary" };
const json = (schema: Schema) => ({ "application/json": { schema: jsonSchema(schema, "output") } });
const problems = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((status) => [String(status), {
    description: "An error (RFC 9457).",
    content: { "application/problem+json": { schema: jsonSchema(ProblemJsonSchema, "output") } },
  }]));

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
  schema: { type: "string" },
};

/** The query parameters of a valibot object schema. */
function query(schema: v.ObjectSchema<v.ObjectEntries, undefined>): Json[] {
  return Object.entries(schema.entries).map(([name, entry]) => ({
    name,
    in: "query",
    schema: jsonSchema(entry, "input"),
  }));
}

const downloadHeaders = {
  ETag: { schema: { type: "string" }, description: "Strong: derives from image UUID + path." },
  "Cache-Control": {
    schema: { type: "string" },
    description: "`public, max-age=31536000, immutable` by UUID; `no-cache` by tag.",
  },
  "Accept-Ranges": { schema: { type: "string", enum: ["bytes", "none"] } },
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
    security: [{ apiKey: [] }],
    components: {
      securitySchemes: {
        apiKey: {
          type: "http",
          scheme: "bearer",
          description: "A gateway API key; read-only keys may list, inspect and download only.",
        },
      },
    },
    paths: {
      "/healthz": {
        get: {
          summary: "Liveness of the gateway itself.",
          security: [],
          responses: { "200": { description: "Alive.", content: json(HealthJsonSchema) } },
        },
      },
      "/openapi.json": {
        get: {
          summary: "This document.",
          security: [],
          responses: {
            "200": {
              description: "OpenAPI 3.1.",
              content: { "application/json": { schema: { type: "object" } } },
            },
          },
        },
      },
      "/images": {
        get: {
          summary: "List images, newest first.",
          parameters: query(ListQuery),
          responses: {
            "200": { description: "One page.", content: json(ImageListJsonSchema) },
            ...problems(400, 401, 502, 503, 504),
          },
        },
      },
      "/images/{ref}": {
        get: {
          summary: "One image.",
          parameters: [ref],
          responses: {
            "200": { description: "The image.", content: json(ImageJsonSchema) },
            ...problems(400, 401, 404, 502, 503, 504),
          },
        },
      },
      "/images/{ref}/ls/{path}": {
        get: {
          summary: "List a directory of an image.",
          parameters: [ref, path],
          responses: {
            "200": { description: "The entries.", content: json(DirectoryJsonSchema) },
            ...problems(400, 401, 404, 422, 502, 503, 504),
          },
        },
      },
      "/images/{ref}/files/{path}": {
        get: {
          summary: "Download a file (streamed; single ranges; conditional).",
          parameters: [
            ref,
            path,
            ...query(FileQuery),
            { name: "Range", in: "header", schema: { type: "string", example: "bytes=0-1023" } },
            { name: "If-None-Match", in: "header", schema: { type: "string" } },
            { name: "If-Range", in: "header", schema: { type: "string" } },
          ],
          responses: {
            "200": {
              description: "The file.",
              headers: downloadHeaders,
              content: { "*/*": { schema: binary } },
            },
            "206": {
              description: "One range of the file.",
              headers: { ...downloadHeaders, "Content-Range": { schema: { type: "string" } } },
              content: { "*/*": { schema: binary } },
            },
            "304": { description: "Not modified (`If-None-Match`)." },
            ...problems(400, 401, 404, 416, 422, 502, 503, 504),
          },
        },
        head: {
          summary: "The headers of a download, without the body.",
          parameters: [ref, path],
          responses: {
            "200": { description: "As GET.", headers: downloadHeaders },
            "206": { description: "As GET." },
            "304": { description: "As GET." },
            ...problems(400, 401, 404, 416, 422, 502, 503, 504),
          },
        },
      },
      "/images/{ref}/archive/{path}": {
        get: {
          summary: "A tar archive of a directory or file (streamed).",
          parameters: [ref, path, ...query(ArchiveQuery)],
          responses: {
            "200": {
              description: "The archive.",
              content: {
                "application/x-tar": { schema: binary },
                "application/gzip": { schema: binary },
              },
            },
            ...problems(400, 401, 404, 502, 503, 504),
          },
        },
        head: {
          summary: "Whether the archive exists, with its headers.",
          parameters: [ref, path, ...query(ArchiveQuery)],
          responses: { "200": { description: "As GET." }, ...problems(400, 401, 404, 502, 504) },
        },
      },
      "/images/{ref}/run": {
        post: {
          summary: "Run a command in a new instance of the image (write scope).",
          description: "Runs are disposable unless `disposable: false` (as in the SDK); a `tag` " +
            "needs `disposable: false` and moves the tag to the result image. JSON result, or " +
            "with `Accept: text/event-stream` live `stdout` and `stderr` events " +
            '(`{"text": ...}`) then one `result` event (or `error`). A client that disconnects ' +
            "cancels the run.",
          parameters: [ref],
          requestBody: {
            required: true,
            content: { "application/json": { schema: jsonSchema(RunBody, "input") } },
          },
          responses: {
            "200": {
              description: "The run completed (any exit code).",
              content: {
                ...json(RunResultJsonSchema),
                "text/event-stream": { schema: { type: "string" } },
              },
            },
            ...problems(400, 401, 403, 404, 409, 413, 415, 502, 503, 504),
          },
        },
      },
      "/images/{ref}/tag": {
        put: {
          summary: "Tag the image (write scope). A tag names one image: putting it here moves " +
            "it from the image that had it.",
          parameters: [ref],
          requestBody: {
            required: true,
            content: { "application/json": { schema: jsonSchema(TagBody, "input") } },
          },
          responses: {
            "200": { description: "The tagged image.", content: json(ImageJsonSchema) },
            ...problems(400, 401, 403, 404, 409, 413, 415, 502, 503, 504),
          },
        },
        delete: {
          summary: "Remove the image's tag (the tag itself when `ref` is a tag; write scope).",
          parameters: [ref],
          responses: {
            "204": { description: "Untagged." },
            ...problems(400, 401, 403, 404, 502, 503, 504),
          },
        },
      },
    },
  };
}
