// Checks real gateway answers against the OpenAPI document the gateway serves (made from its
// valibot schemas): the status must be documented for the route, and a JSON body must match the
// documented schema (a JSON Schema validator, @cfworker/json-schema, draft 2020-12).
import { Validator } from "@cfworker/json-schema";

interface Operation {
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
}

/** `/images/{ref}/files/{path}` as a pattern: `{path}` is the rest of the URL path. */
function pattern(template: string): RegExp {
  const source = template.replace(/[.*+?^$()|[\]\\]/g, "\\$&")
    .replace("{ref}", "[^/]+").replace("{path}", ".*");
  return new RegExp(`^${source}$`);
}

export class ResponseChecker {
  #routes: { template: string; regex: RegExp; methods: Record<string, Operation> }[];
  #validators = new Map<unknown, Validator>();
  /** `METHOD template` of every checked answer. */
  readonly seen: Set<string> = new Set();

  constructor(document: Document) {
    this.#routes = Object.entries(document.paths).map(([template, methods]) => ({
      template,
      regex: pattern(template),
      methods,
    }));
  }

  /** Every documented `METHOD template`. */
  documented(): string[] {
    return this.#routes.flatMap(({ template, methods }) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${template}`)
    );
  }

  /**
   * Throws when `response` (to `method url`) breaks the document. Answers to undocumented
   * routes or methods (404s and 405s for what does not exist) are not checked.
   */
  async check(method: string, url: string, response: Response): Promise<void> {
    const path = new URL(url).pathname;
    const route = this.#routes.find((route) => route.regex.test(path));
    const operation = route?.methods[method.toLowerCase()];
    if (!route || !operation) return;
    const where = `${method} ${path} -> ${response.status}`;
    this.seen.add(`${method} ${route.template}`);
    const documented = operation.responses[String(response.status)];
    if (!documented) throw new Error(`${where}: status not in the OpenAPI document`);
    const type = (response.headers.get("content-type") ?? "").split(";")[0].trim();
    if (method === "HEAD" || !/^application\/(problem\+)?json$/.test(type)) return;
    // A file download is any type (`*/*`): a JSON file is content, not an answer to check.
    if (documented.content?.["*/*"]) return;
    const schema = documented.content?.[type]?.schema;
    if (!schema) throw new Error(`${where}: ${type} not in the OpenAPI document`);
    let validator = this.#validators.get(schema);
    if (!validator) {
      validator = new Validator(schema as object, "2020-12", false);
      this.#validators.set(schema, validator);
    }
    const body = await response.clone().json();
    const result = validator.validate(body);
    if (!result.valid) {
      const errors = result.errors.map((e) => `${e.instanceLocation}: ${e.error}`).join("; ");
      throw new Error(`${where}: the body breaks the OpenAPI document: ${errors}`);
    }
  }
}
