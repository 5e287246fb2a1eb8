/**
 * Image references as the ConTree CLI writes them (wire-protocol 2.2): `ubuntu:latest` is
 * `docker://docker.io/library/ubuntu:latest` tagged `ubuntu:latest`, `ghcr.io/o/i:t` is tagged
 * `o/i:t`, a missing tag means `:latest`, `REF?tag=X` sets the tag, `{a,b}` expands to
 * several references.
 */
import { InvalidReferenceError } from "./errors.ts";

/** Docker Hub, as references name it. */
export const DOCKER_HUB = "docker.io";

/** A parsed reference to an image in a registry. */
export interface ImageReference {
  /** Registry host, lower case, with its port if any: `docker.io`, `127.0.0.1:5000`. */
  registry: string;
  /** Repository path: `library/ubuntu`, `o/i`. */
  repository: string;
  /** Tag; `latest` when the reference names neither a tag nor a digest. */
  tag?: string;
  /** Content digest (`sha256:<hex>` or `sha512:<hex>`); it wins over the tag. */
  digest?: string;
}

/** What {@linkcode normalizeReference} makes of what a user typed. */
export interface NormalizedReference {
  /** `docker://<registry>/<repository>[:<tag>][@<digest>]`. */
  url: string;
  /** The ConTree tag for the image; `undefined` for a reference pinned only by digest. */
  tag: string | undefined;
}

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
const HOST =
  /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:]+\])(?::[0-9]{1,5})?$/;
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^(?:sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;

/**
 * Parses a reference such as `busybox`, `ubuntu:22.04`, `ghcr.io/o/i:t`,
 * `docker://127.0.0.1:5000/team/app@sha256:...`. A missing scheme means `docker://`; the
 * first path segment is a registry when it holds a `.` or a `:` or is `localhost`, otherwise
 * the image is on Docker Hub, where one-segment names live under `library/`. Throws
 * {@linkcode InvalidReferenceError}.
 *
 * @example
 * ```ts
 * parseImageReference("ubuntu");
 * // { registry: "docker.io", repository: "library/ubuntu", tag: "latest" }
 * parseImageReference("docker://127.0.0.1:5000/team/app:1");
 * // { registry: "127.0.0.1:5000", repository: "team/app", tag: "1" }
 * ```
 */
export function parseImageReference(reference: string): ImageReference {
  const fail = (reason: string): never => {
    throw new InvalidReferenceError(reference, reason);
  };
  let rest = reference.trim();
  const scheme = SCHEME.exec(rest);
  if (scheme) {
    if (scheme[1].toLowerCase() !== "docker") fail(`unsupported scheme ${scheme[1]}://`);
    rest = rest.slice(scheme[0].length);
  }
  if (rest === "") fail("empty");
  if (/[\s?#]/.test(rest)) fail("spaces, '?' and '#' are not allowed");
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) fail("the digest must be sha256:<64 hex> or sha512:<128 hex>");
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) fail(`malformed tag ${JSON.stringify(tag)}`);
  }
  const segments = rest.split("/");
  const first = segments[0];
  const hasRegistry = segments.length > 1 &&
    (first.includes(".") || first.includes(":") || first === "localhost");
  let registry = DOCKER_HUB;
  if (hasRegistry) {
    registry = first.toLowerCase();
    if (!HOST.test(registry)) fail(`malformed registry host ${JSON.stringify(first)}`);
    if (registry === "index.docker.io" || registry === "registry-1.docker.io") {
      registry = DOCKER_HUB;
    }
    segments.shift();
  }
  for (const segment of segments) {
    if (!COMPONENT.test(segment)) {
      fail(
        /[A-Z]/.test(segment)
          ? "repository names must be lower case"
          : `malformed repository path component ${JSON.stringify(segment)}`,
      );
    }
  }
  if (registry === DOCKER_HUB && segments.length === 1) segments.unshift("library");
  const parsed: ImageReference = { registry, repository: segments.join("/") };
  if (tag !== undefined || digest === undefined) parsed.tag = tag ?? "latest";
  if (digest !== undefined) parsed.digest = digest;
  return parsed;
}

/**
 * The canonical `docker://` URL of a parsed reference.
 *
 * @example
 * ```ts
 * formatImageReference({ registry: "docker.io", repository: "library/ubuntu", tag: "latest" });
 * // "docker://docker.io/library/ubuntu:latest"
 * ```
 */
export function formatImageReference(reference: ImageReference): string {
  const tag = reference.tag === undefined ? "" : `:${reference.tag}`;
  const digest = reference.digest === undefined ? "" : `@${reference.digest}`;
  return `docker://${reference.registry}/${reference.repository}${tag}${digest}`;
}

/**
 * The ConTree tag the CLI derives from a reference: `<repository>:<tag>` without the registry
 * (and without `library/` on Docker Hub); `undefined` when the reference has no tag (pinned by
 * digest only).
 *
 * @example
 * ```ts
 * deriveTag(parseImageReference("ubuntu")); // "ubuntu:latest"
 * deriveTag(parseImageReference("ghcr.io/o/i:t")); // "o/i:t"
 * ```
 */
export function deriveTag(reference: ImageReference): string | undefined {
  if (reference.tag === undefined) return undefined;
  const name = reference.registry === DOCKER_HUB
    ? reference.repository.replace(/^library\//, "")
    : reference.repository;
  return `${name}:${reference.tag}`;
}

/**
 * Normalises what a user typed into the import URL and the tag, as the CLI does:
 * `REF?tag=NAME` sets the tag explicitly, otherwise it is derived ({@linkcode deriveTag}).
 * Throws {@linkcode InvalidReferenceError}.
 *
 * @example
 * ```ts
 * normalizeReference("ubuntu:latest");
 * // { url: "docker://docker.io/library/ubuntu:latest", tag: "ubuntu:latest" }
 * normalizeReference("ghcr.io/o/i?tag=mine");
 * // { url: "docker://ghcr.io/o/i:latest", tag: "mine" }
 * ```
 */
export function normalizeReference(input: string): NormalizedReference {
  const trimmed = input.trim();
  const question = trimmed.indexOf("?");
  let explicitTag: string | undefined;
  let reference = trimmed;
  if (question >= 0) {
    reference = trimmed.slice(0, question);
    const query = new URLSearchParams(trimmed.slice(question + 1));
    const keys = [...query.keys()];
    if (keys.some((key) => key !== "tag") || query.getAll("tag").length !== 1) {
      throw new InvalidReferenceError(input, "the only query parameter allowed is one tag=NAME");
    }
    explicitTag = query.get("tag")!;
    if (explicitTag === "") throw new InvalidReferenceError(input, "tag= is empty");
  }
  const parsed = parseImageReference(reference);
  return { url: formatImageReference(parsed), tag: explicitTag ?? deriveTag(parsed) };
}

/**
 * Expands `{a,b}` groups (several allowed, not nested) into one reference each, in order.
 *
 * @example
 * ```ts
 * expandReferences("docker.io/library/{alpine,busybox}:latest");
 * // ["docker.io/library/alpine:latest", "docker.io/library/busybox:latest"]
 * ```
 */
export function expandReferences(input: string): string[] {
  const open = input.indexOf("{");
  if (open < 0) {
    if (input.includes("}")) throw new InvalidReferenceError(input, "unbalanced '}'");
    return [input];
  }
  const close = input.indexOf("}", open);
  const inner = close < 0 ? "" : input.slice(open + 1, close);
  if (close < 0 || inner.includes("{")) {
    throw new InvalidReferenceError(input, "unbalanced or nested '{'");
  }
  const head = input.slice(0, open);
  if (head.includes("}")) throw new InvalidReferenceError(input, "unbalanced '}'");
  const tails = expandReferences(input.slice(close + 1));
  return inner.split(",").flatMap((choice) => tails.map((tail) => `${head}${choice}${tail}`));
}
