/* What the helper's parts (_helper.c, _seccomp.c, _network.c) share. */
#ifndef CONTREE_SANDBOX_H
#define CONTREE_SANDBOX_H
#include <sys/types.h>

/*
 * Installs the sandbox's seccomp filter on the calling thread (no_new_privs must be set);
 * 0, or -1 with errno.
 */
int seccomp_install(void);

/* A launcher's network helper (see _network.c): a process that becomes pasta on request. */
struct network {
  pid_t helper;
  int request, ready;
};

/* Forks the network helper (before the launcher joins the run's cgroups); 0, or -1 with errno. */
int network_prepare(struct network *net);

/* The run has no networking: the helper ends. */
void network_dismiss(struct network *net);

/* At the launcher's end: reaps a dismissed helper (`started` 0); pasta ends with the launcher. */
void network_end(struct network *net, int started);

/*
 * Moves the calling process into a new network namespace and has the helper become `pasta`
 * (with `args`, a NULL-terminated list) wiring it from the host's network namespace. 0, or -1
 * with errno and the failed step in *what.
 */
int network_start(struct network *net, const char *pasta, const char *const *args,
                  const char **what);

/* Waits until pasta has wired the namespace: 0, or pasta's exit status when it failed. */
int network_wait(struct network *net);
#endif
