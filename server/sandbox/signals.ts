/** Signal names and numbers (Linux numbering) for signalling sandboxed processes. */

/** Signal names without `SIG`, in number order from 1 (Linux on x86 and arm). */
const NAMES = [
  "HUP",
  "INT",
  "QUIT",
  "ILL",
  "TRAP",
  "ABRT",
  "BUS",
  "FPE",
  "KILL",
  "USR1",
  "SEGV",
  "USR2",
  "PIPE",
  "ALRM",
  "TERM",
  "STKFLT",
  "CHLD",
  "CONT",
  "STOP",
  "TSTP",
  "TTIN",
  "TTOU",
  "URG",
  "XCPU",
  "XFSZ",
  "VTALRM",
  "PROF",
  "WINCH",
  "IO",
  "PWR",
  "SYS",
] as const;

/**
 * The number of a signal given as a name (`TERM`, `SIGTERM`, any case) or a number (`15`);
 * `undefined` for anything else (real-time signals included).
 *
 * @example
 * ```ts
 * parseSignal("TERM"); // 15
 * parseSignal("sigkill"); // 9
 * parseSignal("2"); // 2
 * parseSignal("NOPE"); // undefined
 * ```
 */
export function parseSignal(text: string): number | undefined {
  if (/^\d+$/.test(text)) {
    const signo = Number(text);
    return signo >= 1 && signo <= NAMES.length ? signo : undefined;
  }
  const name = text.toUpperCase().replace(/^SIG/, "");
  const index = NAMES.indexOf(name as typeof NAMES[number]);
  return index < 0 ? undefined : index + 1;
}

/**
 * Deno's name of signal number `signo` (1 to 31).
 *
 * @example
 * ```ts
 * Deno.kill(pid, signalName(15)); // "SIGTERM"
 * ```
 */
export function signalName(signo: number): Deno.Signal {
  const name = NAMES[signo - 1];
  if (name === undefined) throw new RangeError(`no signal ${signo}`);
  return `SIG${name}`;
}

/**
 * The number of the signal Deno names `name`.
 *
 * @example
 * ```ts
 * const status = await child.status;
 * if (status.signal) console.log(signalNumber(status.signal)); // e.g. 9
 * ```
 */
export function signalNumber(name: Deno.Signal): number {
  const signo = parseSignal(name);
  if (signo === undefined) throw new RangeError(`no Linux number for ${name}`);
  return signo;
}
