// Reference normalisation as the ConTree CLI does it (wire-protocol 2.2), and the import
// request's validation and masking.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import {
  deriveTag,
  expandReferences,
  formatImageReference,
  ImageImportRequestSchema,
  InvalidReferenceError,
  MASK,
  maskImportRequest,
  normalizeReference,
  parseImageReference,
} from "../../server/registry/mod.ts";

const DIGEST = `sha256:${"ab".repeat(32)}`;

describe("reference normalisation", () => {
  it("normalises references and derives tags like the CLI", () => {
    const cases: [string, string, string | undefined][] = [
      ["ubuntu:latest", "docker://docker.io/library/ubuntu:latest", "ubuntu:latest"],
      ["ubuntu", "docker://docker.io/library/ubuntu:latest", "ubuntu:latest"],
      ["docker.io/library/busybox", "docker://docker.io/library/busybox:latest", "busybox:latest"],
      [
        "docker://docker.io/library/busybox:1.36",
        "docker://docker.io/library/busybox:1.36",
        "busybox:1.36",
      ],
      ["index.docker.io/user/app:2", "docker://docker.io/user/app:2", "user/app:2"],
      ["user/app", "docker://docker.io/user/app:latest", "user/app:latest"],
      ["ghcr.io/o/i:t", "docker://ghcr.io/o/i:t", "o/i:t"],
      ["GHCR.io/o/i", "docker://ghcr.io/o/i:latest", "o/i:latest"],
      ["localhost/app", "docker://localhost/app:latest", "app:latest"],
      ["127.0.0.1:5000/team/app:dev", "docker://127.0.0.1:5000/team/app:dev", "team/app:dev"],
      ["[::1]:5000/app:1", "docker://[::1]:5000/app:1", "app:1"],
      [`alpine@${DIGEST}`, `docker://docker.io/library/alpine@${DIGEST}`, undefined],
      [`alpine:3@${DIGEST}`, `docker://docker.io/library/alpine:3@${DIGEST}`, "alpine:3"],
      ["ghcr.io/o/i:t?tag=mine/x:1", "docker://ghcr.io/o/i:t", "mine/x:1"],
    ];
    for (const [input, url, tag] of cases) {
      assert.deepEqual(normalizeReference(input), { url, tag }, input);
    }
  });

  it("parses references into registry, repository, tag and digest", () => {
    assert.deepEqual(parseImageReference("ubuntu"), {
      registry: "docker.io",
      repository: "library/ubuntu",
      tag: "latest",
    });
    const pinned = parseImageReference(`docker://127.0.0.1:5000/a/b@${DIGEST}`);
    assert.deepEqual(pinned, { registry: "127.0.0.1:5000", repository: "a/b", digest: DIGEST });
    assert.equal(formatImageReference(pinned), `docker://127.0.0.1:5000/a/b@${DIGEST}`);
    assert.equal(deriveTag(pinned), undefined);
  });

  it("refuses malformed references with InvalidReferenceError", () => {
    for (
      const bad of [
        "",
        "docker://",
        "http://example.com/app",
        "oci://x/y",
        "a b",
        "Upper/app",
        "app:bad!tag",
        "app@sha256:short",
        "app@md5:0123456789abcdef0123456789abcdef",
        "ghcr.io//double",
        "ghcr.io/o/i?tag=",
        "ghcr.io/o/i?other=1",
        "under_score.host:x/app",
      ]
    ) {
      assert.throws(() => normalizeReference(bad), InvalidReferenceError, bad);
    }
  });

  it("expands brace groups into several references", () => {
    assert.deepEqual(expandReferences("docker.io/library/{alpine,busybox}:latest"), [
      "docker.io/library/alpine:latest",
      "docker.io/library/busybox:latest",
    ]);
    assert.deepEqual(expandReferences("{a,b}:{1,2}"), ["a:1", "a:2", "b:1", "b:2"]);
    assert.deepEqual(expandReferences("plain:1"), ["plain:1"]);
    for (const bad of ["a{b", "a}b", "{a,{b}}"]) {
      assert.throws(() => expandReferences(bad), InvalidReferenceError, bad);
    }
  });
});

describe("import request", () => {
  it("validates the body, treating null optionals as absent", () => {
    const ok = v.parse(ImageImportRequestSchema, {
      registry: { url: "docker://docker.io/library/busybox:latest", credentials: null },
      tag: null,
      timeout: 300,
      extra: true,
    });
    assert.deepEqual(ok, {
      registry: { url: "docker://docker.io/library/busybox:latest" },
      timeout: 300,
    });
    for (
      const bad of [{}, { registry: {} }, { registry: { url: "" } }, {
        registry: { url: "x" },
        timeout: 0,
      }]
    ) {
      assert.equal(v.safeParse(ImageImportRequestSchema, bad).success, false, JSON.stringify(bad));
    }
  });

  it("masks a password, keeping the rest", () => {
    const request = {
      registry: { url: "docker://x/y:z", credentials: { username: "u", password: "p4ss" } },
      tag: "y:z",
    };
    assert.deepEqual(maskImportRequest(request), {
      registry: { url: "docker://x/y:z", credentials: { username: "u", password: MASK } },
      tag: "y:z",
    });
    assert.equal(request.registry.credentials.password, "p4ss");
    const anonymous = {
      registry: { url: "docker://x/y:z", credentials: { username: "", password: "" } },
    };
    assert.deepEqual(maskImportRequest(anonymous), anonymous);
    assert.equal(MASK, "<MASKED>");
  });
});
