/**
 * A client of one repository of an OCI distribution registry, with fetch: manifests and
 * blobs, checked against their digests, anonymous, basic or bearer-token access (the token
 * service named by the registry's `WWW-Authenticate: Bearer realm=...` challenge, asked with
 * the credentials). HTTPS unless the host is listed as insecure.
 */
import * as v from "valibot";
import { mapErrors } from "./_decompress.ts";
import { checkDigest, digestOf, verifyBytes, verifyingStream } from "./_digest.ts";
import {
  ImageNotFoundError,
  ImportError,
  InvalidImageError,
  RegistryAuthError,
  RegistryResponseError,
  RegistryUnreachableError,
} from "./errors.ts";
import { type Descriptor, MANIFEST_MEDIA_TYPES, MAX_MANIFEST_BYTES } from "./_manifest.ts";
import { DOCKER_HUB, type ImageReference } from "./reference.ts";
import type { RegistryCredentials } from "./types.ts";

/** Where Docker Hub's registry API lives. */
const DOCKER_HUB_API = "registry-1.docker.io";
/** Largest token response and error body read. */
const MAX_SMALL_BODY = 1 << 20;

const TokenSchema = v.object({
  token: v.optional(v.string()),
  access_token: v.optional(v.string()),
});

const ErrorsSchema = v.object({
  errors: v.array(v.object({ code: v.optional(v.string()), message: v.optional(v.string()) })),
});

/** A fetched manifest or index. */
export interface FetchedManifest {
  bytes: Uint8Array;
  /** `Content-Type` of the response. */
  contentType: string;
  /** Digest of `bytes` (checked against what was asked or announced). */
  digest: string;
}

/** Settings of a {@linkcode RegistryClient}. */
export interface ClientOptions {
  reference: ImageReference;
  credentials?: RegistryCredentials;
  /** Hosts (`host` or `host:port`) reached over plain HTTP. */
  insecureRegistries: readonly string[];
  signal?: AbortSignal;
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses a `WWW-Authenticate` header: `Bearer realm="...",service="...",scope="..."`. */
function parseChallenge(header: string | null): Challenge | null {
  const match = header && /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header);
  if (!match) return null;
  const params: Record<string, string> = {};
  for (const param of match[2].matchAll(/([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
    params[param[1].toLowerCase()] = param[2]?.replace(/\\(.)/g, "$1") ?? param[3];
  }
  return { scheme: match[1].toLowerCase(), params };
}

function base64(text: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

function hostName(host: string): string {
  return host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0];
}

/** Reads a body of at most `limit` bytes. */
async function readBody(response: Response, limit: number, what: string): Promise<Uint8Array> {
  if (Number(response.headers.get("content-length") ?? 0) > limit) {
    await response.body?.cancel();
    throw new InvalidImageError(`${what}: larger than ${limit} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body ?? []) {
    size += chunk.length;
    if (size > limit) throw new InvalidImageError(`${what}: larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(size);
  chunks.reduce((offset, chunk) => (bytes.set(chunk, offset), offset + chunk.length), 0);
  return bytes;
}

/** `code: message` of a registry's JSON error body, or `HTTP <status>`. */
async function describeFailure(response: Response): Promise<string> {
  let detail = "";
  try {
    const text = new TextDecoder().decode(await readBody(response, MAX_SMALL_BODY, "error"));
    const parsed = v.safeParse(ErrorsSchema, JSON.parse(text));
    if (parsed.success) {
      detail = parsed.output.errors.map((e) => [e.code, e.message].filter(Boolean).join(": "))
        .join("; ").slice(0, 300);
    }
  } catch {
    // Not a registry error document.
  }
  return `HTTP ${response.status}${detail ? ` (${detail})` : ""}`;
}

/**
 * The registry API of one repository.
 *
 * @example
 * ```ts
 * const client = new RegistryClient({ reference, insecureRegistries: ["127.0.0.1"] });
 * const { bytes, digest } = await client.manifest("latest", "127.0.0.1:5000/app:latest");
 * ```
 */
export class RegistryClient {
  readonly #host: string;
  readonly #base: string;
  readonly #repository: string;
  readonly #credentials?: { username: string; password: string };
  readonly #insecure: readonly string[];
  readonly #signal?: AbortSignal;
  #authorization?: string;

  /** A client for `options.reference`'s registry and repository. */
  constructor(options: ClientOptions) {
    const { registry, repository } = options.reference;
    this.#host = registry;
    this.#insecure = options.insecureRegistries;
    const api = registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
    this.#base = `${this.#isInsecure(api) ? "http" : "https"}://${api}`;
    this.#repository = repository;
    const { username = "", password = "" } = options.credentials ?? {};
    if (username !== "" || password !== "") this.#credentials = { username, password };
    this.#signal = options.signal;
  }

  /**
   * The manifest or index `reference` (a tag or a digest) names, checked against that digest
   * or the registry's `Docker-Content-Digest`.
   */
  async manifest(reference: string, what: string): Promise<FetchedManifest> {
    const response = await this.#request(`manifests/${reference}`, this.#signal, {
      Accept: MANIFEST_MEDIA_TYPES.join(", "),
    });
    if (response.status === 404) {
      const detail = await describeFailure(response);
      throw new ImageNotFoundError(`${what}: not found in the registry: ${detail}`);
    }
    await this.#expectOk(response, what);
    const bytes = await this.#guard(readBody(response, MAX_MANIFEST_BYTES, what), what);
    const expected = reference.includes(":")
      ? reference
      : response.headers.get("docker-content-digest") ?? undefined;
    if (expected !== undefined) verifyBytes(bytes, checkDigest(expected, what), `${what} manifest`);
    return {
      bytes,
      contentType: response.headers.get("content-type") ?? "",
      digest: expected ?? digestOf(bytes),
    };
  }

  /** The blob `descriptor` points at, whole (for configs), checked against its digest. */
  async blobBytes(descriptor: Descriptor, limit: number, what: string): Promise<Uint8Array> {
    if (descriptor.size > limit) throw new InvalidImageError(`${what}: larger than ${limit} bytes`);
    const stream = await this.blob(descriptor, what, this.#signal, () => {});
    const bytes = await this.#guard(new Response(stream).bytes(), what);
    return bytes;
  }

  /**
   * The blob `descriptor` points at, as a stream that errors with `DigestMismatchError` when
   * the content does not match the descriptor's digest and size.
   */
  async blob(
    descriptor: Descriptor,
    what: string,
    signal: AbortSignal | undefined,
    onBytes: (n: number) => void,
  ): Promise<ReadableStream<Uint8Array>> {
    const response = await this.#request(`blobs/${descriptor.digest}`, signal);
    if (response.status === 404) {
      const detail = await describeFailure(response);
      throw new ImageNotFoundError(`${what}: blob ${descriptor.digest} not found: ${detail}`);
    }
    await this.#expectOk(response, what);
    if (!response.body) throw new RegistryResponseError(response.status, `${what}: empty body`);
    const body = mapErrors(response.body, (error) => this.#networkError(error, what));
    return body.pipeThrough(verifyingStream(descriptor.digest, what, descriptor.size, onBytes));
  }

  #isInsecure(host: string): boolean {
    const name = hostName(host);
    return this.#insecure.some((entry) => entry === host || entry === name);
  }

  async #expectOk(response: Response, what: string): Promise<void> {
    if (response.ok) return;
    const detail = await describeFailure(response);
    if (response.status === 403) throw new RegistryAuthError(`${what}: access denied: ${detail}`);
    throw new RegistryResponseError(response.status, `${what}: the registry answered ${detail}`);
  }

  /** `promise`, with network failures turned into {@linkcode RegistryUnreachableError}. */
  async #guard<T>(promise: Promise<T>, what: string): Promise<T> {
    try {
      return await promise;
    } catch (error) {
      throw this.#networkError(error, what);
    }
  }

  #networkError(error: unknown, what: string): unknown {
    if (error instanceof ImportError || (error as Error)?.name === "AbortError") return error;
    if (this.#signal?.aborted) return this.#signal.reason;
    return new RegistryUnreachableError(
      `${what}: the connection to ${this.#host} failed: ${(error as Error).message}`,
      { cause: error },
    );
  }

  async #fetch(url: string, headers: Headers, signal?: AbortSignal): Promise<Response> {
    try {
      return await fetch(url, { headers, signal, redirect: "follow" });
    } catch (error) {
      signal?.throwIfAborted();
      throw new RegistryUnreachableError(
        `cannot reach the registry ${this.#host} (${new URL(url).origin}): ${
          (error as Error).message
        }`,
        { cause: error },
      );
    }
  }

  /** GET `/v2/<repository>/<path>`, authorising once when the registry answers 401. */
  async #request(
    path: string,
    signal: AbortSignal | undefined,
    extra: Record<string, string> = {},
  ): Promise<Response> {
    const url = `${this.#base}/v2/${this.#repository}/${path}`;
    for (let attempt = 0;; attempt++) {
      const headers = new Headers(extra);
      if (this.#authorization) headers.set("Authorization", this.#authorization);
      const response = await this.#fetch(url, headers, signal);
      if (response.status !== 401) return response;
      const challenge = parseChallenge(response.headers.get("www-authenticate"));
      await response.body?.cancel();
      if (attempt > 0) {
        throw new RegistryAuthError(
          this.#credentials
            ? `${this.#host}: the registry refused the credentials for ${this.#repository}`
            : `${this.#host}: ${this.#repository} needs credentials (or does not exist)`,
        );
      }
      this.#authorization = await this.#authorize(challenge, signal);
    }
  }

  async #authorize(challenge: Challenge | null, signal?: AbortSignal): Promise<string> {
    const basic = this.#credentials &&
      `Basic ${base64(`${this.#credentials.username}:${this.#credentials.password}`)}`;
    if (challenge?.scheme === "basic") {
      if (!basic) throw new RegistryAuthError(`${this.#host}: the registry needs credentials`);
      return basic;
    }
    if (challenge?.scheme !== "bearer" || !challenge.params.realm) {
      throw new RegistryAuthError(
        `${this.#host}: unsupported authentication challenge ${
          challenge ? challenge.scheme : "(none)"
        }`,
      );
    }
    let realm: URL;
    try {
      realm = new URL(challenge.params.realm);
    } catch {
      throw new RegistryAuthError(`${this.#host}: malformed token realm`);
    }
    if (
      realm.protocol !== "https:" && !(realm.protocol === "http:" && this.#isInsecure(realm.host))
    ) {
      throw new RegistryAuthError(
        `${this.#host}: refusing the token service ${realm.origin}: it is not HTTPS and its ` +
          "host is not an insecure registry",
      );
    }
    if (challenge.params.service) realm.searchParams.set("service", challenge.params.service);
    realm.searchParams.set(
      "scope",
      challenge.params.scope ?? `repository:${this.#repository}:pull`,
    );
    const headers = new Headers();
    if (basic) headers.set("Authorization", basic);
    const response = await this.#fetch(realm.href, headers, signal);
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      throw new RegistryAuthError(
        this.#credentials
          ? `${this.#host}: the token service refused the credentials`
          : `${this.#host}: the token service refused anonymous access`,
      );
    }
    if (!response.ok) {
      throw new RegistryResponseError(
        response.status,
        `${this.#host}: the token service answered ${await describeFailure(response)}`,
      );
    }
    const body = await this.#guard(readBody(response, MAX_SMALL_BODY, "token"), "token");
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(body));
    } catch {
      json = undefined;
    }
    const parsed = v.safeParse(TokenSchema, json);
    const token = parsed.success ? parsed.output.token ?? parsed.output.access_token : undefined;
    if (!token) throw new RegistryAuthError(`${this.#host}: the token service gave no token`);
    return `Bearer ${token}`;
  }
}
