// Client options from the environment and from auth.ini profiles (local/).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_BASE_URL } from "../../mod.ts";
import {
  authIniPath,
  clientOptionsFromEnv,
  clientOptionsFromProfile,
  ConfigFileNotFoundError,
  ContreeConfigError,
  parseIni,
  ProfileNotFoundError,
} from "../../local/mod.ts";

describe("INI parser", () => {
  it("reads sections, both separators, comments and continuations", () => {
    const text = [
      "; leading comment",
      "top = level",
      "[DEFAULT]",
      "Profile = work",
      "",
      "[profile:work]",
      "# comment",
      "token=abc=def",
      "url : http://127.0.0.1:8080/x",
      "note = first",
      "  second",
      "empty =",
      "[ spaced ]",
      "k = v",
    ].join("\r\n");
    assert.deepEqual(parseIni(text), {
      DEFAULT: { top: "level", profile: "work" },
      "profile:work": {
        token: "abc=def",
        url: "http://127.0.0.1:8080/x",
        note: "first\nsecond",
        empty: "",
      },
      spaced: { k: "v" },
    });
  });

  it("rejects lines that are neither headers nor keys", () => {
    assert.throws(() => parseIni("[a]\njust words\n"), /line 2/);
    assert.throws(() => parseIni("= value\n"), SyntaxError);
  });
});

describe("clientOptionsFromEnv", () => {
  it("reads token, URL and project, with the Nebius fallbacks", () => {
    assert.deepEqual(
      clientOptionsFromEnv({ CONTREE_TOKEN: "t", CONTREE_URL: "http://h:1", CONTREE_PROJECT: "p" }),
      { baseUrl: "http://h:1", token: "t", project: "p" },
    );
    assert.deepEqual(clientOptionsFromEnv({ NEBIUS_API_KEY: "k", NEBIUS_AI_PROJECT: "np" }), {
      baseUrl: DEFAULT_BASE_URL,
      token: "k",
      project: "np",
    });
    assert.deepEqual(clientOptionsFromEnv({ CONTREE_TOKEN: "t", NEBIUS_API_KEY: "k" }), {
      baseUrl: DEFAULT_BASE_URL,
      token: "t",
    });
  });

  it("fails clearly without a token", () => {
    assert.throws(() => clientOptionsFromEnv({ CONTREE_URL: "http://h" }), (error) => {
      assert.ok(error instanceof ContreeConfigError);
      assert.match(error.message, /CONTREE_TOKEN/);
      return true;
    });
  });
});

describe("clientOptionsFromProfile", () => {
  let dir = "";
  let path = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "contree-config-"));
    path = join(dir, "auth.ini");
    await writeFile(
      path,
      [
        "[DEFAULT]",
        "profile = work",
        "",
        "[profile:work]",
        "type = iam",
        "token = iam-token",
        "project = proj-1",
        "",
        "[profile:local]",
        "type = jwt",
        "token = jwt-token",
        "url = http://127.0.0.1:9000",
        "project = ignored",
        "",
        "[profile:broken]",
        "type = jwt",
        "token = x",
        "",
        "[profile:odd]",
        "type = magic",
        "token = x",
      ].join("\n"),
    );
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("finds auth.ini from CONTREE_HOME, XDG_CONFIG_HOME or the home directory", () => {
    assert.equal(authIniPath({ CONTREE_HOME: "/c", XDG_CONFIG_HOME: "/x" }), "/c/auth.ini");
    assert.equal(authIniPath({ XDG_CONFIG_HOME: "/x" }), "/x/contree/auth.ini");
    assert.match(authIniPath({}), /\/\.config\/contree\/auth\.ini$/);
  });

  it("selects the profile by name, CONTREE_PROFILE or [DEFAULT] profile", async () => {
    const env = { CONTREE_HOME: dir };
    assert.deepEqual(await clientOptionsFromProfile(undefined, { env }), {
      baseUrl: DEFAULT_BASE_URL,
      token: "iam-token",
      project: "proj-1",
    });
    assert.deepEqual(
      await clientOptionsFromProfile(undefined, { env: { ...env, CONTREE_PROFILE: "local" } }),
      {
        baseUrl: "http://127.0.0.1:9000",
        token: "jwt-token",
      },
    );
    assert.equal((await clientOptionsFromProfile("local", { path })).token, "jwt-token");
  });

  it("fails clearly on a missing file, profile, URL or type", async () => {
    await assert.rejects(
      clientOptionsFromProfile(undefined, { env: { CONTREE_HOME: join(dir, "none") } }),
      (error) => {
        assert.ok(error instanceof ConfigFileNotFoundError);
        assert.equal(error.path, join(dir, "none", "auth.ini"));
        return true;
      },
    );
    await assert.rejects(clientOptionsFromProfile("nope", { path }), (error) => {
      assert.ok(error instanceof ProfileNotFoundError);
      assert.equal(error.profile, "nope");
      return true;
    });
    await assert.rejects(clientOptionsFromProfile("broken", { path }), /has no url/);
    await assert.rejects(clientOptionsFromProfile("odd", { path }), /unknown type/);
  });
});
