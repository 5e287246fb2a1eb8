// What a sandbox's processes hold, shared by the sandbox and exec tests.

/** Every capability (0 to 40) but CAP_SYS_PTRACE (19): root's, in its own user namespace. */
export const ROOT_CAPS = (2n ** 41n - 1n - (1n << 19n)).toString(16).padStart(16, "0");
/** No capability: any uid but 0. */
export const NO_CAPS = "0000000000000000";

/** The `Cap*` lines of /proc/self/status for a process with `permitted` (and effective). */
export function capLines(permitted: string): string {
  return [
    `CapInh:\t${NO_CAPS}`,
    `CapPrm:\t${permitted}`,
    `CapEff:\t${permitted}`,
    `CapBnd:\t${ROOT_CAPS}`,
    `CapAmb:\t${NO_CAPS}`,
  ].join("\n");
}

/**
 * A shell script trying what needs the host's privileges (devices, kernel settings even with
 * /proc/sys unmounted, the clock, a host-owned file, the sandbox's init; with `network`, the
 * host's network): prints `allowed: ...` for each that worked, then `checked`.
 */
export function hostPrivilegeProbe(network: boolean): string {
  return "for c in 'mknod /tmp/n c 1 3' 'umount /proc/sys; echo 3 > /proc/sys/vm/drop_caches' " +
    "'date -s 2001-01-01; [ $(date +%Y) = 2001 ]' 'chown 0 /dev/null' 'cat /proc/1/environ'" +
    (network ? " 'ip link set lo down'" : "") +
    '; do sh -c "$c" >/dev/null 2>&1 && echo "allowed: $c"; done; echo checked';
}
