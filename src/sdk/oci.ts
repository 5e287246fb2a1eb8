/**
 * Parsing of OCI image references into the registry URL an import needs and
 * the tag the imported image gets.
 *
 * @module
 */

/**
 * A parsed OCI reference.
 *
 * @example
 * ```ts
 * import { parseOciReference } from "@contree/sdk";
 *
 * const ref = parseOciReference("ubuntu:22.04");
 * console.log(ref.url); // "docker://docker.io/library/ubuntu:22.04"
 * console.log(ref.tag); // "ubuntu:22.04"
 * ```
 */
export interface OciReference {
  /** The registry URL for an import: `docker://<registry>/<path>:<tag>` (or `@<digest>`). */
  url: string;
  /**
   * The ConTree tag for the image: `name:tag` for Docker Hub (without
   * `docker.io/` and `library/`), `registry/path:tag` elsewhere; `undefined`
   * for a reference pinned by digest.
   */
  tag: string | undefined;
}

const DOCKER_HUB = "docker.io";

/**
 * Parses an OCI reference such as `busybox`, `ubuntu:22.04`,
 * `ghcr.io/org/app:1` or `docker://localhost:5000/app:dev`.
 *
 * A missing scheme means `docker://`; other schemes are refused. The first
 * path segment is a registry when it contains a `.` or a `:` or is
 * `localhost` (Docker's own rule), otherwise the image is on Docker Hub, where
 * single-segment names live under `library/`. A missing tag means `latest`.
 *
 * @example
 * ```ts
 * import { parseOciReference } from "@contree/sdk";
 *
 * console.log(parseOciReference("localhost:5000/team/app").url);
 * // "docker://localhost:5000/team/app:latest"
 * console.log(parseOciReference("docker.io/user/app:1").tag); // "user/app:1"
 * ```
 */
export function parseOciReference(reference: string): OciReference {
  let rest = reference.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(rest);
  if (scheme) {
    if (scheme[1].toLowerCase() !== "docker") {
      throw new TypeError(`unsupported OCI reference scheme ${scheme[1]}:// in ${reference}`);
    }
    rest = rest.slice(scheme[0].length);
  }
  if (rest === "" || /\s/.test(rest)) throw new TypeError(`invalid OCI reference: ${reference}`);

  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let version: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    version = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const segments = rest.split("/");
  if (segments.some((segment) => segment === "")) {
    throw new TypeError(`invalid OCI reference: ${reference}`);
  }
  const first = segments[0];
  const hasRegistry = segments.length > 1 &&
    (first.includes(".") || first.includes(":") || first === "localhost");
  const registry = hasRegistry ? first.toLowerCase() : DOCKER_HUB;
  const path = hasRegistry ? segments.slice(1) : segments;
  if (registry === DOCKER_HUB && path.length === 1) path.unshift("library");
  const name = path.join("/");

  if (digest !== undefined) {
    return { url: `docker://${registry}/${name}@${digest}`, tag: undefined };
  }
  const tagged = `${name}:${version ?? "latest"}`;
  const short = registry === DOCKER_HUB ? tagged.replace(/^library\//, "") : tagged;
  return {
    url: `docker://${registry}/${tagged}`,
    tag: registry === DOCKER_HUB ? short : `${registry}/${tagged}`,
  };
}
