/** Errors of image grep requests. */

/**
 * A grep query parameter is missing or invalid: a bad integer, an unknown `case`, a pattern
 * that is not a regular expression, a glob that does not parse (HTTP 400).
 *
 * @example
 * ```ts
 * try {
 *   compileMatcher(["a("], "sensitive");
 * } catch (error) {
 *   if (error instanceof GrepQueryError) console.log(error.param); // "pattern"
 * }
 * ```
 */
export class GrepQueryError extends Error {
  /** The query parameter at fault, e.g. `pattern`. */
  readonly param: string;

  /** Builds the error; `message` should name the parameter. */
  constructor(param: string, message: string) {
    super(message);
    this.name = "GrepQueryError";
    this.param = param;
  }
}
