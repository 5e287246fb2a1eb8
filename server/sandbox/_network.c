/*
 * Networking of a run that asks for it: its own network namespace, wired to the outside world
 * by pasta (Debian's passt), a user-mode TCP/IP stack that opens ordinary sockets on the host
 * on behalf of the namespace. What pasta may forward is decided by the caller's arguments
 * (see server/sandbox/_network.ts); here the namespace is made and pasta started against it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "_sandbox.h"

#define MAX_PASTA_ARGS 40

/* Capabilities pasta needs to join the namespace, make its tap device and isolate itself. */
static const int PASTA_CAPS[] = {CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_NET_BIND_SERVICE, CAP_SETUID,
                                 CAP_SETGID};

static int write_text(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t len = (ssize_t)strlen(text);
  int ok = write(fd, text, (size_t)len) == len;
  close(fd);
  return ok ? 0 : -1;
}

/* In pasta's process: back to the host's network namespace, then exec pasta. Never returns. */
static void exec_pasta(int host, int ns, const char *pasta, const char *const *args) {
  if (setns(host, CLONE_NEWNET) != 0) _exit(126);
  /* Only what pasta needs survives the exec (it gives up most of it itself once set up). */
  for (int cap = 0; cap < 64; cap++) {
    int keep = 0;
    for (size_t i = 0; i < sizeof PASTA_CAPS / sizeof *PASTA_CAPS; i++) keep |= PASTA_CAPS[i] == cap;
    if (!keep && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) _exit(126);
  }
  /* Nothing of the run's stdin, nothing on its stdout (the host reads a header there). */
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0 || dup2(devnull, STDIN_FILENO) < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
    _exit(126);
  }
  const char *argv[MAX_PASTA_ARGS + 8];
  int n = 0;
  argv[n++] = pasta;
  for (int i = 0; args[i] && i < MAX_PASTA_ARGS; i++) argv[n++] = args[i];
  /* The namespace as this process's own descriptor: pasta, once it has dropped capabilities,
   * could not open another process's /proc/PID/ns/net. */
  char netns[64];
  snprintf(netns, sizeof netns, "/proc/self/fd/%d", ns);
  argv[n++] = "--netns";
  argv[n++] = netns;
  if (geteuid() == 0) {
    /* Left alone, pasta started as root turns into nobody, who cannot enter the namespace. */
    argv[n++] = "--runas";
    argv[n++] = "0";
  }
  argv[n] = NULL;
  char *no_env[] = {NULL};
  execve(pasta, (char *const *)argv, no_env);
  fprintf(stderr, "contree-helper: exec %s: %s\n", pasta, strerror(errno));
  _exit(127);
}

pid_t network_start(const char *pasta, const char *const *args, const char **what) {
  int host = -1, ns = -1;
  pid_t pid = -1;
  *what = "open the host's network namespace";
  host = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (host < 0) goto out;
  *what = "unshare CLONE_NEWNET";
  if (unshare(CLONE_NEWNET) != 0) goto out;
  /* Without O_CLOEXEC: pasta opens it through /proc/self/fd. */
  *what = "open the run's network namespace";
  ns = open("/proc/self/ns/net", O_RDONLY);
  if (ns < 0) goto out;
  /*
   * Per-namespace settings, as container runtimes make them: any user of the sandbox may bind
   * ports below 1024 and send pings (in the run's own namespace: nothing outside changes).
   */
  *what = "set the namespace's sysctls";
  if (write_text("/proc/sys/net/ipv4/ip_unprivileged_port_start", "0\n") != 0 ||
      write_text("/proc/sys/net/ipv4/ping_group_range", "0 2147483647\n") != 0) {
    goto out;
  }
  *what = "fork pasta";
  pid = fork();
  if (pid == 0) exec_pasta(host, ns, pasta, args);
out:;
  int saved = errno;
  if (host >= 0) close(host);
  if (ns >= 0) close(ns);
  errno = saved;
  return pid;
}

int network_wait(pid_t pasta) {
  int status;
  while (waitpid(pasta, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}
