/*
 * The sandbox's seccomp filter, modelled on Docker's default profile: system calls that reach
 * kernel-wide state no sandbox may touch fail with EPERM. Installed by the helper just before
 * it execs a command (with no_new_privs set), so it holds for every process of a run and is
 * inherited by everything they start.
 *
 * Denied:
 *   keyrings           keyctl, add_key, request_key (keyrings are per host uid, not per
 *                      namespace: a covert channel between runs and a leak of host keys)
 *   kernel code        init_module, finit_module, delete_module (and the old module calls),
 *                      kexec_load, kexec_file_load, bpf, perf_event_open, uselib
 *   memory tricks      userfaultfd (stalls kernel code at will: a classic exploit primitive)
 *   host filesystems   open_by_handle_at (walks from a handle to any file of a mount)
 *   host state         swapon, swapoff, reboot, acct, clock_settime, settimeofday, stime,
 *                      _sysctl, nfsservctl, lookup_dcookie, vm86 (i386)
 *   io_uring           io_uring_setup, io_uring_enter, io_uring_register (Docker denies them
 *                      too: a large, young kernel surface whose work bypasses this filter)
 *   nested user namespaces: clone and unshare with CLONE_NEWUSER (clone3, whose flags a filter
 *                      cannot read, fails with ENOSYS so that libc falls back to clone)
 * adjtimex and clock_adjtime stay allowed: reading the clock's state is common, and setting it
 * needs CAP_SYS_TIME in the host's user namespace, which no sandbox has (the kernel answers
 * EPERM). System calls of any other ABI fail with EPERM: the x32 ABI on x86_64 (its own
 * numbering would slip past the list), and anything but i386 beside the native one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "_sandbox.h"

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#else
#error "contree-helper: no seccomp filter for this architecture"
#endif

/* The x32 ABI: x86_64's arch value with this bit set in the system call number. */
#define X32_SYSCALL_BIT 0x40000000u

/* The denied calls, in the native numbering (those an architecture lacks are left out). */
static const uint32_t NATIVE_DENIED[] = {
    __NR_keyctl, __NR_add_key, __NR_request_key, __NR_init_module, __NR_finit_module,
    __NR_delete_module, __NR_kexec_load, __NR_bpf, __NR_perf_event_open, __NR_userfaultfd,
    __NR_open_by_handle_at, __NR_swapon, __NR_swapoff, __NR_reboot, __NR_acct,
    __NR_clock_settime, __NR_settimeofday, __NR_io_uring_setup, __NR_io_uring_enter,
    __NR_io_uring_register,
#ifdef __NR_kexec_file_load
    __NR_kexec_file_load,
#endif
#ifdef __NR_lookup_dcookie
    __NR_lookup_dcookie,
#endif
#ifdef __NR_stime
    __NR_stime,
#endif
#ifdef __NR__sysctl
    __NR__sysctl,
#endif
#ifdef __NR_uselib
    __NR_uselib,
#endif
#ifdef __NR_nfsservctl
    __NR_nfsservctl,
#endif
#ifdef __NR_create_module
    __NR_create_module, __NR_get_kernel_syms, __NR_query_module,
#endif
};

#if defined(__x86_64__)
/*
 * i386 programs run on x86_64 kernels through the compat table, with their own numbers
 * (asm/unistd_32.h): the same list, plus the time-setting calls with 64-bit time and vm86.
 */
static const uint32_t I386_DENIED[] = {
    288 /* keyctl */,         286 /* add_key */,         287 /* request_key */,
    128 /* init_module */,    350 /* finit_module */,    129 /* delete_module */,
    283 /* kexec_load */,     357 /* bpf */,             336 /* perf_event_open */,
    374 /* userfaultfd */,    342 /* open_by_handle_at */, 87 /* swapon */,
    115 /* swapoff */,        88 /* reboot */,           51 /* acct */,
    264 /* clock_settime */,  404 /* clock_settime64 */, 79 /* settimeofday */,
    25 /* stime */,          425 /* io_uring_setup */,  426 /* io_uring_enter */,
    427 /* io_uring_register */, 253 /* lookup_dcookie */, 149 /* _sysctl */,
    86 /* uselib */,          169 /* nfsservctl */,      127 /* create_module */,
    130 /* get_kernel_syms */, 167 /* query_module */,   166 /* vm86 */,
    113 /* vm86old */,
};
#endif

struct abi {
  uint32_t arch;
  const uint32_t *denied;
  size_t ndenied;
  uint32_t clone, clone3, unshare;
  int x32_check;
};

static const struct abi ABIS[] = {
    {NATIVE_ARCH, NATIVE_DENIED, sizeof NATIVE_DENIED / sizeof *NATIVE_DENIED, __NR_clone,
     __NR_clone3, __NR_unshare,
#if defined(__x86_64__)
     1},
    {AUDIT_ARCH_I386, I386_DENIED, sizeof I386_DENIED / sizeof *I386_DENIED, 120, 435, 310, 0},
#else
     0},
#endif
};
#define NABIS (sizeof ABIS / sizeof *ABIS)

#define MAX_FILTER 256
#define DATA_NR offsetof(struct seccomp_data, nr)
#define DATA_ARCH offsetof(struct seccomp_data, arch)
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define DATA_ARG0_LOW offsetof(struct seccomp_data, args[0])
#else
#define DATA_ARG0_LOW (offsetof(struct seccomp_data, args[0]) + 4)
#endif

struct program {
  struct sock_filter code[MAX_FILTER];
  unsigned short len;
};

static unsigned short emit(struct program *p, struct sock_filter insn) {
  p->code[p->len] = insn;
  return p->len++;
}

/* Points the true branch of the conditional jump at `from` to `to` (a later instruction). */
static void patch_true(struct program *p, unsigned short from, unsigned short to) {
  p->code[from].jt = (unsigned char)(to - from - 1);
}

/* One ABI's block: its denied numbers, then the clone and unshare flags. */
static void emit_abi(struct program *p, const struct abi *abi) {
  unsigned short to_deny[64], to_flags[2], to_enosys, ndeny = 0;
  emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, DATA_NR));
  if (abi->x32_check) {
    to_deny[ndeny++] = emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K,
                                                           X32_SYSCALL_BIT, 0, 0));
  }
  for (size_t i = 0; i < abi->ndenied; i++) {
    to_deny[ndeny++] =
        emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, abi->denied[i], 0, 0));
  }
  to_enosys = emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, abi->clone3, 0, 0));
  to_flags[0] = emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, abi->clone, 0, 0));
  to_flags[1] =
      emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, abi->unshare, 0, 0));
  emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  unsigned short flags = emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                                              DATA_ARG0_LOW));
  to_deny[ndeny++] =
      emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NEWUSER, 0, 0));
  emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  unsigned short deny =
      emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM));
  unsigned short enosys =
      emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS));
  for (unsigned short i = 0; i < ndeny; i++) patch_true(p, to_deny[i], deny);
  patch_true(p, to_flags[0], flags);
  patch_true(p, to_flags[1], flags);
  patch_true(p, to_enosys, enosys);
}

int seccomp_install(void) {
  static struct program p;
  p.len = 0;
  /* Dispatch on the ABI: each known one jumps (unconditionally, any distance) to its block. */
  unsigned short to_block[NABIS];
  emit(&p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, DATA_ARCH));
  for (size_t i = 0; i < NABIS; i++) {
    emit(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ABIS[i].arch, 0, 1));
    to_block[i] = emit(&p, (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, 0));
  }
  emit(&p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM));
  for (size_t i = 0; i < NABIS; i++) {
    p.code[to_block[i]].k = p.len - to_block[i] - 1u;
    emit_abi(&p, &ABIS[i]);
  }
  struct sock_fprog prog = {p.len, p.code};
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}
