// Progress bars on stderr (bytes, rate, ETA) with cli-progress, shown only when the
// user watches a terminal: stdout and stderr are TTYs and the output format is the default.
import process from "node:process";
import cliProgress from "cli-progress";
import type { Progress, ProgressCallback } from "../mod.ts";

/** `1.5 MiB`-style sizes. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

/** A bar for one transfer, or nothing when progress is off. */
export interface ProgressBar {
  /** Feed it to an SDK `onProgress`. */
  update: ProgressCallback;
  /** Clears the bar's line so other output can be written to the terminal. */
  clear(): void;
  /** Finishes the bar (leaves the final line). */
  stop(): void;
}

const NO_BAR: ProgressBar = { update: () => {}, clear: () => {}, stop: () => {} };

/**
 * A progress bar labelled `label` when `enabled`, else a no-op. Draws on stderr at most
 * ten times a second: `label [====----] 42% | 10.0 MiB/24.0 MiB | 3.1 MiB/s | ETA 0:04`.
 */
export function progressBar(label: string, enabled: boolean): ProgressBar {
  if (!enabled) return NO_BAR;
  const started = performance.now();
  let bar: cliProgress.SingleBar | undefined;
  let last: Progress = { bytes: 0, total: undefined };
  const payload = (p: Progress) => {
    const elapsed = Math.max((performance.now() - started) / 1000, 0.001);
    const rate = p.bytes / elapsed;
    const eta = p.total !== undefined && rate > 0 ? (p.total - p.bytes) / rate : NaN;
    return {
      label,
      done: formatBytes(p.bytes),
      size: p.total === undefined ? "?" : formatBytes(p.total),
      rate: `${formatBytes(Math.round(rate))}/s`,
      etaText: formatEta(eta),
    };
  };
  const create = () => {
    bar = new cliProgress.SingleBar({
      stream: process.stderr,
      format: "{label} [{bar}] {percentage}% | {done}/{size} | {rate} | ETA {etaText}",
      barCompleteChar: "=",
      barIncompleteChar: "-",
      barsize: 24,
      hideCursor: false,
      fps: 10,
      etaBuffer: 50,
      clearOnComplete: false,
      linewrap: false,
    });
    bar.start(last.total ?? 0, last.bytes, payload(last));
  };
  return {
    update(progress) {
      last = progress;
      if (!bar) create();
      bar!.setTotal(Math.max(progress.total ?? progress.bytes, 1));
      bar!.update(progress.bytes, payload(progress));
    },
    clear() {
      if (bar) process.stderr.write("\r\x1b[K");
    },
    stop() {
      if (!bar) return;
      bar.update(last.bytes, payload(last));
      bar.stop();
    },
  };
}
