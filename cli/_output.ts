// Output formats of commands that print records, as the official CLI has them:
// `default` (an aligned table), `json` (one object per line), `json-pretty` (an array),
// `csv` and `tsv` (with a header).
import { type Colors, writeOut } from "./_term.ts";

/** The names `-f/--format` takes. */
export const FORMATS = ["default", "json", "json-pretty", "csv", "tsv"] as const;
/** One of {@linkcode FORMATS}. */
export type Format = typeof FORMATS[number];

/** A record to print: field → value. */
export type Row = Record<string, unknown>;

const STATUS_COLORS: Record<string, keyof Colors> = {
  SUCCESS: "green",
  FAILED: "red",
  CANCELLED: "yellow",
  PENDING: "gray",
  ASSIGNED: "cyan",
  EXECUTING: "blue",
  true: "green",
  false: "red",
};

function cell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function csvCell(value: string, separator: string): string {
  return value.includes(separator) || /["\n\r]/.test(value)
    ? `"${value.replaceAll('"', '""')}"`
    : value;
}

/** Collects rows and prints them in a format. */
export class Printer {
  readonly format: Format;
  readonly #colors: Colors;
  #rows: Row[] = [];
  #printed = 0;

  constructor(format: Format, colors: Colors) {
    this.format = format;
    this.#colors = colors;
  }

  /** Whether the format is machine-readable (JSON, CSV, TSV). */
  get structured(): boolean {
    return this.format !== "default";
  }

  /** Adds a row; JSON lines are printed at once, the others at `flush()`. */
  async row(row: Row): Promise<void> {
    if (this.format === "json") {
      this.#printed++;
      await writeOut(`${JSON.stringify(row)}\n`);
      return;
    }
    this.#rows.push(row);
  }

  /** Prints the rows collected so far (`json-pretty`: the whole array). */
  async flush(): Promise<void> {
    const rows = this.#rows;
    this.#rows = [];
    if (this.format === "json") return;
    if (this.format === "json-pretty") {
      await writeOut(`${JSON.stringify(rows, null, 2)}\n`);
      return;
    }
    if (rows.length === 0) return;
    const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
    if (this.format === "csv" || this.format === "tsv") {
      const separator = this.format === "csv" ? "," : "\t";
      const line = (values: string[]) =>
        values.map((value) => csvCell(value, separator)).join(separator) + "\n";
      let text = this.#printed === 0 ? line(columns) : "";
      for (const row of rows) text += line(columns.map((column) => cell(row[column])));
      this.#printed += rows.length;
      await writeOut(text);
      return;
    }
    const widths = columns.map((column) =>
      Math.max(column.length, ...rows.map((row) => cell(row[column]).length))
    );
    const c = this.#colors;
    const pad = (text: string, i: number) =>
      i === columns.length - 1 ? text : text.padEnd(widths[i]);
    let text = this.#printed === 0
      ? columns.map((column, i) => c.bold(pad(column.toUpperCase(), i))).join("  ").trimEnd() +
        "\n"
      : "";
    for (const row of rows) {
      text += columns.map((column, i) => {
        const value = cell(row[column]);
        const color = STATUS_COLORS[value];
        const padded = pad(value, i);
        return color ? (c[color] as (s: string) => string)(padded) : padded;
      }).join("  ").trimEnd() + "\n";
    }
    this.#printed += rows.length;
    await writeOut(text);
  }
}
