/**
 * The body of `POST /v1/images/import` (wire `ImageImportRequest`) and its masked form, the
 * `ImageImportMetadata` an operation stores and shows.
 */
import * as v from "valibot";

/** What replaces a password in anything stored or shown. */
export const MASK = "<MASKED>";

/** `POST /v1/images/import` body. */
export interface ImageImportRequest {
  /** Where the image is. */
  registry: {
    /** `docker://<registry>/<path>:<tag>` (shorter forms are normalised by the importer). */
    url: string;
    /** MCP sends empty strings when anonymous. */
    credentials?: { username?: string; password?: string };
  };
  /** Tag for the imported image. */
  tag?: string;
  /** Seconds the import may take. */
  timeout?: number;
}

/**
 * Validates an {@linkcode ImageImportRequest} (unknown fields are dropped; `null` optional
 * fields count as absent).
 *
 * @example
 * ```ts
 * const parsed = v.safeParse(ImageImportRequestSchema, await c.req.json());
 * if (!parsed.success) throw new HttpError(400, parsed.issues[0].message);
 * ```
 */
export const ImageImportRequestSchema: v.GenericSchema<unknown, ImageImportRequest> = v.pipe(
  v.object({
    registry: v.object({
      url: v.pipe(v.string(), v.nonEmpty("registry.url must not be empty")),
      credentials: v.nullish(v.object({
        username: v.nullish(v.string()),
        password: v.nullish(v.string()),
      })),
    }),
    tag: v.nullish(v.string()),
    timeout: v.nullish(v.pipe(v.number(), v.integer(), v.minValue(1))),
  }),
  v.transform((body) => {
    const request: ImageImportRequest = { registry: { url: body.registry.url } };
    const credentials = body.registry.credentials;
    if (credentials) {
      request.registry.credentials = {};
      if (typeof credentials.username === "string") {
        request.registry.credentials.username = credentials.username;
      }
      if (typeof credentials.password === "string") {
        request.registry.credentials.password = credentials.password;
      }
    }
    if (typeof body.tag === "string") request.tag = body.tag;
    if (typeof body.timeout === "number") request.timeout = body.timeout;
    return request;
  }),
);

/**
 * The request as an operation's `metadata` may keep it: a non-empty password replaced by
 * {@linkcode MASK}.
 *
 * @example
 * ```ts
 * maskImportRequest({ registry: { url, credentials: { username: "u", password: "p" } } });
 * // { registry: { url, credentials: { username: "u", password: "<MASKED>" } } }
 * ```
 */
export function maskImportRequest(request: ImageImportRequest): ImageImportRequest {
  const credentials = request.registry.credentials;
  if (!credentials?.password) return request;
  return {
    ...request,
    registry: { ...request.registry, credentials: { ...credentials, password: MASK } },
  };
}
