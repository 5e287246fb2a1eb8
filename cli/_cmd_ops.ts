// Operations: ps, show, op show|wait|cancel, kill.
import {
  decodeStreamText,
  type OperationResponse,
  type OperationStatus,
  type OperationSummary,
} from "../mod.ts";
import type { Context } from "./_context.ts";
import { parseInterval } from "./_time.ts";
import { UsageError } from "./_session.ts";
import { writeErr, writeOut } from "./_term.ts";

const STATUS_LETTERS: Record<string, OperationStatus> = {
  P: "PENDING",
  A: "ASSIGNED",
  E: "EXECUTING",
  S: "SUCCESS",
  F: "FAILED",
  C: "CANCELLED",
};
const ACTIVE: OperationStatus[] = ["PENDING", "ASSIGNED", "EXECUTING"];
const TERMINAL = new Set(["SUCCESS", "FAILED", "CANCELLED"]);

/** Options of `ps`. */
export interface PsOptions {
  quiet?: boolean;
  all?: boolean;
  status?: string;
  kind?: string;
  since?: string;
  until?: string;
  showMax: number;
}

function summaryRow(op: OperationSummary): Record<string, unknown> {
  const { error, ...rest } = op;
  return { ...rest, error: error ?? "" };
}

/** `contree ps`: executing operations (all with `-a`). */
export async function ps(ctx: Context, options: PsOptions): Promise<number> {
  const contree = await ctx.contree();
  let status: OperationStatus | undefined;
  if (options.status) {
    status = STATUS_LETTERS[options.status] ?? options.status.toUpperCase() as OperationStatus;
    if (!Object.values(STATUS_LETTERS).includes(status)) {
      throw new UsageError(`bad --status '${options.status}'`);
    }
  } else if (!options.all) status = "EXECUTING";
  const iterator = contree.api.iterOperations({
    status,
    kind: options.kind as "instance" | "image_import" | undefined,
    since: options.since ? parseInterval(options.since) : undefined,
    until: options.until ? parseInterval(options.until) : undefined,
    limit: options.showMax,
  });
  for await (const op of iterator) {
    if (options.quiet) await writeOut(`${op.uuid}\n`);
    else await ctx.printer.row(summaryRow(op));
  }
  await ctx.printer.flush();
  return 0;
}

function exitCodeOf(op: OperationResponse): number | null {
  const metadata = op.metadata as { result?: { state?: { exit_code?: number } } } | undefined;
  return metadata?.result?.state?.exit_code ?? null;
}

function outputOf(op: OperationResponse, stream: "stdout" | "stderr"): string {
  const metadata = op.metadata as
    | { result?: Record<string, { value: string; encoding?: string } | undefined> }
    | undefined;
  const repr = metadata?.result?.[stream];
  return repr ? decodeStreamText(repr as Parameters<typeof decodeStreamText>[0]) : "";
}

/** The printed form of an operation. */
function operationRow(op: OperationResponse, withOutput: boolean): Record<string, unknown> {
  const { metadata: _metadata, result, error, ...rest } = op;
  const row: Record<string, unknown> = {
    ...rest,
    exit_code: exitCodeOf(op),
    image: result?.image ?? "",
    tag: result?.tag ?? "",
  };
  if (withOutput) {
    row.stdout = outputOf(op, "stdout");
    row.stderr = outputOf(op, "stderr");
  }
  row.error = error ?? "";
  return row;
}

/** `contree show UUID...` / `op show`. */
export async function show(ctx: Context, uuids: string[], raw: boolean): Promise<number> {
  const contree = await ctx.contree();
  let code = 0;
  for (const uuid of uuids) {
    let op: OperationResponse;
    try {
      op = await contree.api.getOperation(uuid);
    } catch (error) {
      ctx.warn(`Failed to fetch ${uuid}: ${(error as Error).message}`);
      code = 1;
      continue;
    }
    if (raw) {
      await writeOut(`${JSON.stringify(op)}\n`);
      continue;
    }
    await ctx.printer.row(operationRow(op, ctx.structured));
    await ctx.printer.flush();
    if (!ctx.structured) {
      const stdout = outputOf(op, "stdout");
      const stderr = outputOf(op, "stderr");
      if (stdout) await writeOut(stdout.endsWith("\n") ? stdout : `${stdout}\n`);
      if (stderr) writeErr(stderr.endsWith("\n") ? stderr : `${stderr}\n`);
    }
  }
  return code;
}

async function activeOperations(ctx: Context): Promise<string[]> {
  const contree = await ctx.contree();
  const uuids: string[] = [];
  for (const status of ACTIVE) {
    for await (const op of contree.api.iterOperations({ status })) uuids.push(op.uuid);
  }
  return uuids;
}

/** `contree kill` / `op cancel`. */
export async function cancel(ctx: Context, uuids: string[], all: boolean): Promise<number> {
  const contree = await ctx.contree();
  if (all) uuids = await activeOperations(ctx);
  else if (uuids.length === 0) throw new UsageError("Provide at least one UUID, or use --all");
  let code = 0;
  for (const uuid of uuids) {
    try {
      await contree.api.cancelOperation(uuid);
      ctx.info(`Cancelled operation ${uuid}`);
      if (ctx.structured) await ctx.printer.row({ uuid, cancelled: true });
    } catch (error) {
      ctx.warn(`Failed to cancel ${uuid}: ${(error as Error).message}`);
      if (ctx.structured) {
        await ctx.printer.row({ uuid, cancelled: false, error: (error as Error).message });
      }
      code = 1;
    }
  }
  await ctx.printer.flush();
  return code;
}

/** `contree op wait`: one row per operation as it ends; 1 on timeout or any failure. */
export async function wait(
  ctx: Context,
  uuids: string[],
  all: boolean,
  timeout: number,
): Promise<number> {
  const contree = await ctx.contree();
  if (all) uuids = await activeOperations(ctx);
  else if (uuids.length === 0) throw new UsageError("Provide at least one UUID, or use --all");
  const deadline = Date.now() + timeout * 1000;
  const pending = new Set(uuids);
  let failed = false;
  while (pending.size > 0) {
    for (const uuid of [...pending]) {
      const op = await contree.api.getOperation(uuid);
      if (!TERMINAL.has(op.status)) continue;
      pending.delete(uuid);
      if (op.status !== "SUCCESS") failed = true;
      await ctx.printer.row(operationRow(op, false));
      if (ctx.printer.format !== "json-pretty") await ctx.printer.flush();
    }
    if (pending.size === 0) break;
    if (Date.now() >= deadline) {
      ctx.warn(`timed out after ${timeout}s waiting for ${[...pending].join(", ")}`);
      await ctx.printer.flush();
      return 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await ctx.printer.flush();
  return failed ? 1 : 0;
}
