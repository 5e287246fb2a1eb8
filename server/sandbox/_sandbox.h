/* What the helper's parts (_helper.c, _seccomp.c, _network.c) share. */
#ifndef CONTREE_SANDBOX_H
#define CONTREE_SANDBOX_H
#include <sys/types.h>

/*
 * Installs the sandbox's seccomp filter on the calling thread (no_new_privs must be set);
 * 0, or -1 with errno.
 */
int seccomp_install(void);

/*
 * Moves the calling process into a new network namespace and starts `pasta` (with `args`, a
 * NULL-terminated list, and the namespace to wire) from the host's network namespace. Returns
 * pasta's pid (it exits 0 once the namespace is wired, leaving its daemon behind), or -1 with
 * errno and the failed step in *what.
 */
pid_t network_start(const char *pasta, const char *const *args, const char **what);

/* Waits for the pasta started by network_start; 0 once the namespace is wired, else -1. */
int network_wait(pid_t pasta);
#endif
