/*
 * Calls each system call the sandbox's seccomp filter denies, with arguments the kernel itself
 * would reject with something other than EPERM (a bad pointer, flag or descriptor), and prints
 * one line per call: `NAME ERRNO-NAME` (or `NAME ok`). Inside a sandbox every line must read
 * EPERM; on the host (root, no filter) none may, which shows that the EPERM comes from the
 * filter. Nothing here changes the host: every call fails before it could act. Built for
 * x86_64 or aarch64, and with -m32 for i386 (its own numbers, checked by the filter too).
 *
 *   probe denied     the denied calls (safe to run on the host)
 *   probe allowed    calls that must keep working in a sandbox (sandbox only)
 *   probe keys NAME  looks for the user key NAME in the user keyring, adds run-NAME to it
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <unistd.h>

#define BAD ((long)1) /* an address no call can read */

static void report(const char *name, long rc) {
  if (rc >= 0) printf("%s ok\n", name);
  else printf("%s %s\n", name, strerrorname_np(errno));
}

#define PROBE(name, ...) report(#name, syscall(__NR_##name, __VA_ARGS__))

static void denied(void) {
  PROBE(keyctl, 0x7fffL, 0L, 0L, 0L, 0L);
  PROBE(add_key, BAD, BAD, 0L, 0L, 0L);
  PROBE(request_key, BAD, BAD, 0L, 0L);
  PROBE(init_module, 0L, 0L, BAD);
  PROBE(finit_module, -1L, BAD, 0L);
  PROBE(delete_module, BAD, 0L);
  PROBE(kexec_load, 0L, 0L, 0L, 0xffff0000L);
#ifdef __NR_kexec_file_load
  PROBE(kexec_file_load, -1L, -1L, 0L, 0L, 0xffffL);
#endif
  PROBE(bpf, 0x7fffL, 0L, 0L);
  PROBE(perf_event_open, BAD, 0L, -1L, -1L, 0L);
  PROBE(userfaultfd, 0x7fffffffL);
  PROBE(open_by_handle_at, -1L, BAD, 0L);
  PROBE(swapon, BAD, 0L);
  PROBE(swapoff, BAD);
  PROBE(reboot, 0L, 0L, 0L, 0L);
  PROBE(acct, BAD);
  PROBE(clock_settime, -1L, BAD);
#ifdef __NR_clock_settime64
  PROBE(clock_settime64, -1L, BAD);
#endif
  PROBE(settimeofday, BAD, 0L);
#ifdef __NR_stime
  PROBE(stime, BAD);
#endif
  PROBE(io_uring_setup, 0L, BAD);
#ifdef __x86_64__
  /* The x32 ABI (bit 30 of the number): getpid through it. */
  report("x32_getpid", syscall(0x40000000 | __NR_getpid));
#endif
}

static void allowed(void) {
  /* Nested user namespaces are denied; clone3 answers ENOSYS so libc falls back to clone. */
  report("unshare_newuser", syscall(__NR_unshare, CLONE_NEWUSER));
  report("clone3", syscall(__NR_clone3, 0L, 0L));
  /* Reading the clock's state works; setting it fails (no CAP_SYS_TIME on the host). */
  struct timex read_only = {0};
  report("adjtimex_read", adjtimex(&read_only));
  struct timex set = {.modes = ADJ_OFFSET, .offset = 0};
  report("adjtimex_set", adjtimex(&set));
  report("clock_adjtime_set", syscall(__NR_clock_adjtime, 0L, &set));
  /* Processes and threads still start (fork through clone, without new namespaces). */
  pid_t child = fork();
  if (child == 0) _exit(7);
  int status = 0;
  waitpid(child, &status, 0);
  printf("fork %s\n", WIFEXITED(status) && WEXITSTATUS(status) == 7 ? "ok" : "broken");
}

static void keys(const char *name) {
  report("keyctl_search", syscall(__NR_keyctl, KEYCTL_SEARCH, KEY_SPEC_USER_KEYRING, "user", name,
                                  0L));
  char added[256];
  snprintf(added, sizeof added, "run-%s", name);
  report("add_key", syscall(__NR_add_key, "user", added, "from a run", 10L,
                            (long)KEY_SPEC_USER_KEYRING));
  report("request_key", syscall(__NR_request_key, "user", name, 0L, 0L));
}

int main(int argc, char **argv) {
  if (argc == 2 && !strcmp(argv[1], "denied")) denied();
  else if (argc == 2 && !strcmp(argv[1], "allowed")) allowed();
  else if (argc == 3 && !strcmp(argv[1], "keys")) keys(argv[2]);
  else return fprintf(stderr, "usage: probe denied|allowed|keys NAME\n"), 2;
  return 0;
}
