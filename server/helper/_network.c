/*
 * Networking of a run that asks for it: its own network namespace, wired to the outside world
 * by pasta (Debian's passt), a user-mode TCP/IP stack that opens ordinary sockets on the host
 * on behalf of the namespace. What pasta may forward is decided by the caller's arguments
 * (see server/sandbox/_network.ts); here the namespace is made and pasta started against it.
 *
 * pasta comes from a helper process the launcher forks before it joins the run's cgroups, so
 * that pasta is not in them: ending pasta tears its tap device down, which waits for RCU grace
 * periods (tens of milliseconds on a busy machine), and the run's end waits for its cgroups to
 * empty. pasta runs in the foreground as the launcher's child, with SIGKILL as its parent-death
 * signal: it ends with the launcher, however the launcher ends, and nobody waits for it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "_sandbox.h"

#define MAX_PASTA_ARGS 40
#define MAX_REQUEST 8192

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

/*
 * The helper process: waits for a request (pasta's path and options, NUL-terminated, until
 * EOF; nothing means no networking) and becomes pasta for the launcher's network namespace.
 * Never returns.
 */
static void serve_network(int request, int ready) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) _exit(126);
  static char data[MAX_REQUEST];
  size_t len = 0;
  ssize_t n;
  while (len < sizeof data && (n = read(request, data + len, sizeof data - len)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) _exit(126);
    len += (size_t)n;
  }
  if (len == 0 || len == sizeof data || data[len - 1] != '\0') _exit(0);
  close(request);
  const char *argv[MAX_PASTA_ARGS + 8];
  int argc = 0;
  for (size_t at = 0; at < len && argc < MAX_PASTA_ARGS; at += strlen(data + at) + 1) {
    argv[argc++] = data + at;
  }
  /* The launcher's namespace, as this process's own descriptor: pasta, once it has dropped
   * capabilities, could not open another process's /proc/PID/ns/net. */
  char path[64], netns[64], pidfile[64];
  snprintf(path, sizeof path, "/proc/%d/ns/net", (int)getppid());
  int ns = open(path, O_RDONLY);
  if (ns < 0) _exit(126);
  snprintf(netns, sizeof netns, "/proc/self/fd/%d", ns);
  /* pasta writes its pid there once the namespace is wired: the launcher's signal to go on. */
  snprintf(pidfile, sizeof pidfile, "/proc/self/fd/%d", ready);
  const char *extra[] = {"--foreground", "--netns", netns, "--pid", pidfile};
  for (size_t i = 0; i < sizeof extra / sizeof *extra; i++) argv[argc++] = extra[i];
  if (geteuid() == 0) {
    /* Left alone, pasta started as root turns into nobody, who cannot enter the namespace. */
    argv[argc++] = "--runas";
    argv[argc++] = "0";
  }
  argv[argc] = NULL;
  /* Only what pasta needs survives the exec (it gives up most of it itself once set up). */
  for (int cap = 0; cap < 64; cap++) {
    int keep = 0;
    for (size_t i = 0; i < sizeof PASTA_CAPS / sizeof *PASTA_CAPS; i++) keep |= PASTA_CAPS[i] == cap;
    if (!keep && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) _exit(126);
  }
  /*
   * None of the run's stdio: the host reads a header on its stdout, and ends the run once its
   * stdout and stderr close, which must not wait for pasta's teardown.
   */
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++) {
    if (devnull < 0 || dup2(devnull, fd) < 0) _exit(126);
  }
  char *no_env[] = {NULL};
  execve(argv[0], (char *const *)argv, no_env);
  _exit(127);
}

int network_prepare(struct network *net) {
  int request[2], ready[2];
  if (pipe2(request, O_CLOEXEC) != 0) return -1;
  if (pipe2(ready, O_CLOEXEC) != 0) {
    close(request[0]);
    close(request[1]);
    return -1;
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(request[1]);
    close(ready[0]);
    /* pasta opens the write end through /proc/self/fd: it must survive the exec. */
    if (fcntl(ready[1], F_SETFD, 0) != 0) _exit(126);
    serve_network(request[0], ready[1]);
  }
  int saved = errno;
  close(request[0]);
  close(ready[1]);
  if (pid < 0) {
    close(request[1]);
    close(ready[0]);
    errno = saved;
    return -1;
  }
  net->helper = pid;
  net->request = request[1];
  net->ready = ready[0];
  return 0;
}

void network_dismiss(struct network *net) {
  close(net->request);
  close(net->ready);
}

void network_end(struct network *net, int started) {
  /* A dismissed helper ended long ago: reaped, not left to whoever inherits it. pasta is
   * left to its parent-death signal: waiting for it would wait for its teardown. */
  if (!started) {
    while (waitpid(net->helper, NULL, 0) < 0 && errno == EINTR) continue;
  }
}

int network_start(struct network *net, const char *pasta, const char *const *args,
                  const char **what) {
  *what = "unshare CLONE_NEWNET";
  if (unshare(CLONE_NEWNET) != 0) return -1;
  /*
   * Per-namespace settings, as container runtimes make them: any user of the sandbox may bind
   * ports below 1024 and send pings (in the run's own namespace: nothing outside changes).
   */
  *what = "set the namespace's sysctls";
  const char *ping = "/proc/sys/net/ipv4/ping_group_range";
  /* A server without root: its user namespace maps only the sandbox ids (0-65535). */
  if (write_text("/proc/sys/net/ipv4/ip_unprivileged_port_start", "0\n") != 0 ||
      (write_text(ping, "0 2147483647\n") != 0 && write_text(ping, "0 65535\n") != 0)) {
    return -1;
  }
  *what = "send pasta's options";
  static char data[MAX_REQUEST];
  size_t len = 0;
  for (int i = -1; i < 0 || args[i]; i++) {
    const char *arg = i < 0 ? pasta : args[i];
    size_t size = strlen(arg) + 1;
    if (i >= MAX_PASTA_ARGS || len + size > sizeof data - 1) {
      errno = E2BIG;
      return -1;
    }
    memcpy(data + len, arg, size);
    len += size;
  }
  if (write(net->request, data, len) != (ssize_t)len) return -1;
  close(net->request);
  return 0;
}

int network_wait(struct network *net) {
  char pid[32];
  ssize_t n;
  while ((n = read(net->ready, pid, sizeof pid)) < 0 && errno == EINTR) continue;
  close(net->ready);
  if (n > 0) return 0;
  /* pasta ended without wiring the namespace: its exit status says a little. */
  int status = 0;
  while (waitpid(net->helper, &status, 0) < 0 && errno == EINTR) continue;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
