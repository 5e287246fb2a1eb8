/*
 * contree-helper: the small static program behind the local ConTree sandbox.
 *
 *   launch  (host side, as root)   join the run's cgroups, make the run's user namespace,
 *                                  enter a private mount namespace, mount the overlay over
 *                                  idmapped layers, keep the report file on fd 3, start
 *                                  bwrap as pid 1 of a pid namespace and wait for it
 *   init    (pid 1 in the sandbox) tell the host the sandbox is ready, start the command
 *                                  as its uid in the run's user namespace, reap orphans,
 *                                  enforce the timeout, report exit status and rusage on fd 3
 *   exec    (host side, as root)   start one more process in a running sandbox (its
 *                                  namespaces, root and cgroups) as init starts the command,
 *                                  report its exit status and rusage
 *   scan    (host side)            bytes of a layer and its overlay opaque directories
 *   rootless (host side, a user)   run the server in a user namespace over the user's
 *                                  subordinate ids (a server without root)
 *
 * Built with `gcc -static -O2` by helper.ts from this file, _seccomp.c (the sandbox's seccomp
 * filter) and _network.c (a run's network namespace); bwrap binds it read-only under /dev, so
 * it never touches the image.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "_sandbox.h"

#define REPORT_FD 3
/* Most --idmap directories of a launch (overlayfs takes at most 500 lower layers). */
#define MAX_IDMAPS 512
#define EXIT_SETUP 125
/* exec: the sandbox is not running (not started yet, or already ended). */
#define EXIT_GONE 3
/* init's first line on stdout: the sandbox is set up, processes may join it. */
#define READY_LINE "contree-ready\n"

static void fail(const char *what, const char *arg) {
  fprintf(stderr, "contree-helper: %s%s%s: %s\n", what, arg ? " " : "", arg ? arg : "",
          strerror(errno));
  exit(EXIT_SETUP);
}

static void usage(const char *msg) {
  fprintf(stderr, "contree-helper: %s\n", msg);
  exit(2);
}

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail("open", path);
  size_t len = strlen(text);
  if (write(fd, text, len) != (ssize_t)len) fail("write", path);
  close(fd);
}

/* Moves `fd` to a number above REPORT_FD. */
static int above_fixed_fds(int fd, int cloexec) {
  int moved = fcntl(fd, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, 10);
  if (moved < 0) fail("fcntl", "F_DUPFD");
  close(fd);
  return moved;
}

/* Returns the value following option `name` at argv[*i], advancing *i. */
static const char *option_value(int argc, char **argv, int *i) {
  if (*i + 1 >= argc) usage("option without a value");
  *i += 1;
  return argv[*i];
}

/* ---------------------------------------------------------------- userns */

/*
 * The sandbox's user namespace: sandbox uids and gids 0..COUNT-1 are host ids START.. (an
 * unprivileged range). Its uid 0 holds every capability of this namespace only: over files
 * and processes whose ids are in the range, never over the host's.
 */

/* Parses "START:COUNT" (decimal) into *start and *count. */
static void parse_id_range(const char *text, unsigned long *start, unsigned long *count) {
  char *end;
  errno = 0;
  *start = strtoul(text, &end, 10);
  if (errno || end == text || *end != ':') usage("bad id range (START:COUNT)");
  const char *rest = end + 1;
  *count = strtoul(rest, &end, 10);
  if (errno || end == rest || *end || *count == 0 ||
      *start + *count > 4294967295UL) {
    usage("bad id range (START:COUNT)");
  }
}

/* The host id a range maps 0 to. */
static unsigned long range_start(const char *range) {
  unsigned long start, count;
  parse_id_range(range, &start, &count);
  return start;
}

static int hold_namespace(void *unused) {
  (void)unused;
  for (;;) pause();
  return 0;
}

/* Writes the id map file `name` ("uid_map", "gid_map") of `pid`: 0..COUNT-1 to START... */
static void write_id_map(pid_t pid, const char *name, const char *range) {
  unsigned long start, count;
  parse_id_range(range, &start, &count);
  char path[64], map[64];
  snprintf(map, sizeof map, "0 %lu %lu\n", start, count);
  snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
  write_file(path, map);
}

/*
 * Makes a user namespace mapping uids and gids 0..COUNT-1 to their ranges' STARTs and
 * returns an fd of it (close-on-exec). A child born in it holds it while the maps are
 * written. setgroups stays allowed: the sandbox's root may drop groups (apt's `_apt`, su).
 */
static int make_sandbox_userns(const char *uid_range, const char *gid_range) {
  static char stack[16384] __attribute__((aligned(16)));
  pid_t holder = clone(hold_namespace, stack + sizeof stack, CLONE_NEWUSER | SIGCHLD, NULL);
  if (holder < 0) fail("clone", "CLONE_NEWUSER");
  write_id_map(holder, "uid_map", uid_range);
  write_id_map(holder, "gid_map", gid_range);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/user", (int)holder);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("open", path);
  kill(holder, SIGKILL);
  while (waitpid(holder, NULL, 0) < 0 && errno == EINTR) continue;
  return fd;
}

/*
 * Stacks on `dir` (in this process's private mount namespace) a view of it through the
 * namespace's id map: a file owned by uid N on disk shows as START+N, so sandbox uid N sees
 * it as its own, and what START+N creates through it lands on disk as N. Layers stay stored
 * with their in-image owners.
 */
static void idmap_in_place(const char *dir, int userns) {
  int tree = open_tree(AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree < 0) fail("open_tree", dir);
  struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns};
  if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) fail("idmap", dir);
  if (move_mount(tree, "", AT_FDCWD, dir, MOVE_MOUNT_F_EMPTY_PATH) != 0) fail("move_mount", dir);
  close(tree);
}

/*
 * Mounts overlayfs with this process's filesystem ids set to the namespace's root (its
 * ranges' STARTs): overlayfs does its own work (the work directory, copy-up) as its mounter, and on
 * an idmapped upper layer that must be an id the map knows. The capabilities over files
 * that changing fsuid clears are raised again from the permitted set.
 */
static void mount_overlay_as(uid_t fsuid, gid_t fsgid, const char *merged, const char *options) {
  setfsgid(fsgid);
  setfsuid(fsuid);
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  if (syscall(SYS_capget, &header, data) != 0) fail("capget", NULL);
  data[0].effective = data[0].permitted;
  data[1].effective = data[1].permitted;
  if (syscall(SYS_capset, &header, data) != 0) fail("capset", NULL);
  if (mount("overlay", merged, "overlay", MS_NOSUID | MS_NODEV, options) != 0) {
    fail("mount overlay on", merged);
  }
  setfsuid(0);
  setfsgid(0);
}

/*
 * Mounts a tmpfs on `dir` (in this process's private mount namespace) holding the overlay
 * (moved from `merged` to DIR/root) and this helper (DIR/init), for bwrap to bind. bwrap
 * resolves the paths it binds as the sandbox's root, which has no right to search the
 * host's directories on the way to the data directory (e.g. a 0700 /root).
 */
static void stage(const char *dir, const char *merged) {
  int overlay = open_tree(AT_FDCWD, merged, OPEN_TREE_CLOEXEC);
  if (overlay < 0) fail("open_tree", merged);
  /* By path: /proc/self/exe names the binary's mount in the namespace it was started in. */
  char exe[4096];
  ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (len < 0) fail("readlink", "/proc/self/exe");
  exe[len] = '\0';
  int self = open_tree(AT_FDCWD, exe, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (self < 0) fail("open_tree", exe);
  if (mount("contree-stage", dir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k") != 0) {
    fail("mount tmpfs on", dir);
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/root", dir);
  if (mkdir(path, 0755) != 0) fail("mkdir", path);
  if (move_mount(overlay, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) != 0) fail("move", path);
  snprintf(path, sizeof path, "%s/init", dir);
  int file = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
  if (file < 0) fail("create", path);
  close(file);
  if (move_mount(self, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) != 0) fail("bind", path);
  close(overlay);
  close(self);
}

/*
 * Joins the user namespace `userns` as its root, with no supplementary group: from here on
 * this process holds every capability of that namespace and none of the host's.
 */
static void enter_userns_as_root(int userns) {
  if (setns(userns, CLONE_NEWUSER) != 0) fail("setns", "user namespace");
  if (setgroups(0, NULL) != 0) fail("setgroups", NULL);
  if (setresgid(0, 0, 0) != 0) fail("setresgid", "0");
  if (setresuid(0, 0, 0) != 0) fail("setresuid", "0");
  /*
   * Changing ids made this process non-dumpable, which gives its /proc files to host root,
   * an owner it has no rights over: bwrap could not open /proc/self/fd/N (--bind-fd).
   */
  if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0) fail("prctl", "dumpable");
}

/* ---------------------------------------------------------------- launch */

/*
 * Splits `len` bytes of NUL-terminated strings (the last byte a NUL) into a NULL-terminated
 * array pointing into `data`; the count goes to *count when asked.
 */
static char **split_nul(char *data, size_t len, int *count) {
  size_t n = 0;
  for (size_t k = 0; k < len; k++) n += data[k] == '\0';
  char **items = calloc(n + 1, sizeof *items);
  if (!items) fail("calloc", NULL);
  for (size_t k = 0, at = 0; k < n; k++) {
    items[k] = data + at;
    at += strlen(data + at) + 1;
  }
  if (count) *count = (int)n;
  return items;
}

/* Reads exactly `len` bytes from fd 0; false at EOF or on error. */
static int read_exactly(char *buf, size_t len) {
  for (size_t got = 0; got < len;) {
    ssize_t n = read(STDIN_FILENO, buf + got, len - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;
    got += (size_t)n;
  }
  return 1;
}

/*
 * The run's arguments, sent on stdin once the run is known: 8 hex digits giving the length,
 * then NUL-terminated strings. Returns them as an argv (NULL-terminated, count in *count);
 * exits quietly at EOF (the launcher was never used).
 */
static char **read_run_args(int *count) {
  char header[9] = {0};
  if (!read_exactly(header, 8)) exit(EXIT_SETUP);
  char *end;
  unsigned long len = strtoul(header, &end, 16);
  if (end != header + 8 || len == 0 || len > (1u << 20)) usage("launch: bad run arguments");
  char *data = malloc(len);
  if (!data) fail("malloc", NULL);
  if (!read_exactly(data, len)) exit(EXIT_SETUP);
  if (data[len - 1] != '\0') usage("launch: bad run arguments");
  return split_nul(data, len, count);
}

/*
 * launch [--cgroup DIR]...
 * then, on stdin: --report FILE --root DIR --lower L --upper DIR --work DIR --merged DIR
 *                 --bwrap-args FILE --uid-range START:COUNT --gid-range START:COUNT
 *                 --stage DIR [--idmap DIR]... [--userxattr] [--null-stdin]
 *                 [--pasta PASTA [--pasta-arg ARG]...] -- BWRAP [ARGS...]
 * Joins the cgroups first and only then waits for the run, so that a launcher can be started
 * ahead of time: moving a process into a cgroup v1 waits for an RCU grace period (several
 * milliseconds), which a warm launcher has already paid. Lower layer names are relative to
 * --root (overlay's option string is one page long). With --null-stdin the rest of stdin is
 * replaced by /dev/null. With --pasta the run gets its own network namespace wired by pasta
 * (see _network.c), set up while bwrap sets up the sandbox: bwrap holds the command back
 * (--block-fd) until pasta is done. The overlay's layers (each --idmap DIR: the directories
 * holding them) are seen through the sandbox's id map. bwrap runs as root of the sandbox's
 * user namespace and finds the overlay at DIR/root and this helper at DIR/init (see stage()).
 * --userxattr: overlayfs keeps its markers in user.overlay.* xattrs (a server without root,
 * which may not write trusted.* ones).
 */
static int cmd_launch(int argc, char **argv) {
  const char *report = NULL, *root = NULL, *lower = NULL, *upper = NULL, *work = NULL;
  const char *merged = NULL, *args_file = NULL, *pasta = NULL;
  const char *pasta_args[41] = {NULL};
  int npasta_args = 0;
  const char *uid_range = NULL, *gid_range = NULL, *stage_dir = NULL;
  int userxattr = 0;
  const char *cgroups[8];
  static const char *idmaps[MAX_IDMAPS];
  int nidmaps = 0;
  int ncgroups = 0, null_stdin = 0, i;
  for (i = 2; i < argc; i++) {
    const char *name = argv[i];
    const char *value = option_value(argc, argv, &i);
    if (!strcmp(name, "--cgroup") && ncgroups < 8) cgroups[ncgroups++] = value;
    else usage("launch: unknown option");
  }

  /* This launcher dies with the server, whenever the server dies. */
  pid_t parent = getppid();
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) fail("prctl", "pdeathsig");
  if (getppid() != parent) exit(EXIT_SETUP);

  /* Before the cgroups: pasta, if the run wants it, is not part of the run (see _network.c). */
  struct network net;
  if (network_prepare(&net) != 0) fail("fork", "network helper");

  /* Join the limits first: everything started from here on is accounted and limited. */
  char pid[32];
  snprintf(pid, sizeof pid, "%d\n", (int)getpid());
  for (int c = 0; c < ncgroups; c++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/cgroup.procs", cgroups[c]);
    write_file(path, pid);
  }

  int run_argc;
  char **run_argv = read_run_args(&run_argc);
  for (i = 0; i < run_argc && strcmp(run_argv[i], "--") != 0; i++) {
    const char *name = run_argv[i];
    if (!strcmp(name, "--null-stdin")) {
      null_stdin = 1;
      continue;
    }
    if (!strcmp(name, "--userxattr")) {
      userxattr = 1;
      continue;
    }
    const char *value = option_value(run_argc, run_argv, &i);
    if (!strcmp(name, "--report")) report = value;
    else if (!strcmp(name, "--root")) root = value;
    else if (!strcmp(name, "--lower")) lower = value;
    else if (!strcmp(name, "--upper")) upper = value;
    else if (!strcmp(name, "--work")) work = value;
    else if (!strcmp(name, "--merged")) merged = value;
    else if (!strcmp(name, "--bwrap-args")) args_file = value;
    else if (!strcmp(name, "--pasta")) pasta = value;
    else if (!strcmp(name, "--pasta-arg") && npasta_args < 40) pasta_args[npasta_args++] = value;
    else if (!strcmp(name, "--uid-range")) uid_range = value;
    else if (!strcmp(name, "--stage")) stage_dir = value;
    else if (!strcmp(name, "--gid-range")) gid_range = value;
    else if (!strcmp(name, "--idmap") && nidmaps < MAX_IDMAPS) idmaps[nidmaps++] = value;
    else usage("launch: unknown option");
  }
  if (!report || !root || !lower || !upper || !work || !merged || !args_file || !uid_range ||
      !gid_range || !stage_dir ||
      i + 1 >= run_argc) {
    usage("launch: missing option or command");
  }
  argc = run_argc;
  argv = run_argv;
  if (null_stdin) {
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0 || dup2(devnull, STDIN_FILENO) < 0) fail("open", "/dev/null");
    close(devnull);
  }
  /* Made before the pid namespace: its short-lived holder must not be that namespace's init. */
  int userns = above_fixed_fds(make_sandbox_userns(uid_range, gid_range), 1);
  int network = pasta != NULL;
  if (network) {
    const char *what;
    if (network_start(&net, pasta, pasta_args, &what) != 0) fail("network:", what);
  } else {
    network_dismiss(&net);
  }
  /*
   * A private mount namespace: the overlay vanishes with the last process of the run. A pid
   * namespace for bwrap (see below).
   */
  if (unshare(CLONE_NEWNS | CLONE_NEWPID) != 0) fail("unshare", "CLONE_NEWNS|CLONE_NEWPID");
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) fail("mount", "--make-rprivate /");

  /* Opened before the idmapped views cover their directories (host root has no id there). */
  int fd = open(report, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) fail("open", report);
  if (fd == REPORT_FD) {
    if (fcntl(fd, F_SETFD, 0) != 0) fail("fcntl", report);
  } else {
    if (dup2(fd, REPORT_FD) < 0) fail("dup2", report);
    close(fd);
  }
  /*
   * More bwrap options (the command's environment as --setenv pairs) come in a file that
   * bwrap reads through --args: the environment never passes through this root process's
   * own environment or argv, bwrap (a dynamic executable) runs with an empty environment
   * (no LD_* of the run can reach it), and no value shows in the host's process list.
   */
  int args = open(args_file, O_RDONLY);
  if (args < 0) fail("open", args_file);
  if (unlink(args_file) != 0) fail("unlink", args_file);
  args = above_fixed_fds(args, 0);

  for (int k = 0; k < nidmaps; k++) idmap_in_place(idmaps[k], userns);
  if (chdir(root) != 0) fail("chdir", root);
  char options[4096];
  int n = snprintf(options, sizeof options,
                   "lowerdir=%s,upperdir=%s,workdir=%s,redirect_dir=%s,metacopy=off,index=off,"
                   "xino=off%s",
                   lower, upper, work, userxattr ? "nofollow" : "off", userxattr ? ",userxattr" : "");
  if (n < 0 || (size_t)n >= sizeof options) {
    errno = E2BIG;
    fail("mount overlay", "options");
  }
  mount_overlay_as((uid_t)range_start(uid_range), (gid_t)range_start(gid_range), merged, options);
  /* Changing the filesystem ids cleared the parent-death signal: arm it again. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) fail("prctl", "pdeathsig");
  if (getppid() != parent) exit(EXIT_SETUP);
  stage(stage_dir, merged);

  int nargs = argc - (i + 2);
  char **bwrap_argv = calloc((size_t)nargs + 6, sizeof *bwrap_argv);
  if (!bwrap_argv) fail("calloc", NULL);
  char args_fd[16], block_fd[16];
  int block[2] = {-1, -1}, first = 1;
  snprintf(args_fd, sizeof args_fd, "%d", args);
  bwrap_argv[0] = argv[i + 1];
  if (network) {
    /* bwrap reads one byte from it before it starts init; the write end stays here. */
    if (pipe2(block, O_CLOEXEC) != 0) fail("pipe", NULL);
    snprintf(block_fd, sizeof block_fd, "%d", block[0]);
    bwrap_argv[first++] = "--block-fd";
    bwrap_argv[first++] = block_fd;
  }
  bwrap_argv[first++] = "--args";
  bwrap_argv[first++] = args_fd;
  memcpy(bwrap_argv + first, argv + i + 2, (size_t)nargs * sizeof *bwrap_argv);
  char *no_env[] = {NULL};

  /*
   * bwrap runs as pid 1 of the pid namespace made above, dying with this launcher. Its
   * --die-with-parent only covers its sandbox once set up: a bwrap child caught earlier
   * (waiting for a parent that was killed) would block forever. As pid 1, bwrap takes every
   * process it started with it, in whatever state.
   */
  int alive[2];
  if (pipe2(alive, O_CLOEXEC) != 0) fail("pipe", NULL);
  pid_t child = fork();
  if (child < 0) fail("fork", NULL);
  if (child == 0) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) fail("prctl", "pdeathsig");
    close(alive[1]);
    /* The launcher holds the write end until it dies: a hang-up means it is already gone. */
    struct pollfd launcher = {alive[0], POLLIN, 0};
    if (poll(&launcher, 1, 0) != 0) exit(EXIT_SETUP);
    if (network && fcntl(block[0], F_SETFD, 0) != 0) fail("fcntl", "block fd");
    enter_userns_as_root(userns);
    execve(argv[i + 1], bwrap_argv, no_env);
    fail("exec", argv[i + 1]);
  }
  close(alive[0]);
  if (network) {
    close(block[0]);
    int failed = network_wait(&net);
    if (failed) {
      kill(child, SIGKILL);
      fprintf(stderr,
              "contree-helper: network: pasta could not wire the run's namespace (exit status "
              "%d; 127: not found)\n",
              failed);
      exit(EXIT_SETUP);
    }
    if (write(block[1], "g", 1) != 1) fail("write", "block fd");
    close(block[1]);
  }
  int status;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) fail("waitpid", NULL);
  }
  network_end(&net, network);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ------------------------------------------------------------------ init */

struct caps {
  struct __user_cap_header_struct header;
  struct __user_cap_data_struct data[2];
};

/* Sets the effective and permitted sets to `keep` (a capability number, or -1 for none). */
static void set_caps(int keep) {
  struct caps c;
  memset(&c, 0, sizeof c);
  c.header.version = _LINUX_CAPABILITY_VERSION_3;
  if (keep >= 0) {
    c.data[keep / 32].effective = 1u << (keep % 32);
    c.data[keep / 32].permitted = 1u << (keep % 32);
  }
  if (syscall(SYS_capset, &c.header, c.data) != 0) fail("capset", NULL);
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) fail("prctl", "ambient");
}

/* Empties the bounding set: no later exec (even of a set-uid root file) can gain anything. */
static void drop_bounding_set(void) {
  for (int cap = 0; cap < 64; cap++) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) fail("prctl", "capbset");
  }
}

/*
 * The command's process: becomes uid/gid of the sandbox's user namespace (with exactly that
 * one group) and execs. Root keeps every capability of that namespace but CAP_SYS_PTRACE, as
 * root in a rootless container does; any other uid has none (the kernel clears them on the switch). With
 * no_new_privs, no set-uid file or file capability raises a process above that.
 */
static void exec_command(uid_t uid, gid_t gid, const char *cwd, char **argv) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  /* The command, not init or bwrap, is what an out-of-memory killer should pick. */
  write_file("/proc/self/oom_score_adj", "1000\n");
  struct rlimit no_core = {0, 0};
  if (setrlimit(RLIMIT_CORE, &no_core) != 0) fail("setrlimit", "core");
  /*
   * Not even root may ptrace: the sandbox's init (non-dumpable) holds the report channel,
   * and CAP_SYS_PTRACE is what would let root read and steer it.
   */
  if (prctl(PR_CAPBSET_DROP, CAP_SYS_PTRACE, 0, 0, 0) != 0) fail("prctl", "capbset");
  if (setgroups(1, &gid) != 0) fail("setgroups", NULL);
  if (setresgid(gid, gid, gid) != 0) fail("setresgid", NULL);
  if (setresuid(uid, uid, uid) != 0) fail("setresuid", NULL);
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) fail("prctl", "ambient");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail("prctl", "no_new_privs");
  if (seccomp_install() != 0) fail("seccomp", NULL);
  if (chdir(cwd) != 0) fail("chdir", cwd);
  execvp(argv[0], argv);
  int code = errno == ENOENT ? 127 : 126;
  fprintf(stderr, "contree: %s: %s\n", argv[0], strerror(errno));
  exit(code);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Reaps every child (orphans included) until `child` ends; on timeout kills everything in the
 * pid namespace at once. SIGCHLD is blocked, so none is lost between a wait and the next sleep.
 */
static int supervise(pid_t child, int64_t timeout_ms, int *status, struct rusage *usage) {
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
  int timed_out = 0;
  for (;;) {
    struct rusage ru;
    int st;
    pid_t pid;
    while ((pid = wait4(-1, &st, WNOHANG, &ru)) > 0) {
      if (pid == child) {
        *status = st;
        *usage = ru;
        return timed_out;
      }
    }
    if (pid < 0 && errno != EINTR) fail("wait4", NULL);
    if (deadline == 0 || timed_out) {
      sigwaitinfo(&chld, NULL);
      continue;
    }
    int64_t left = deadline - now_ms();
    if (left <= 0) {
      timed_out = 1;
      kill(-1, SIGKILL);
      continue;
    }
    struct timespec wait = {left / 1000, (left % 1000) * 1000000};
    sigtimedwait(&chld, NULL, &wait);
  }
}

static long long tv_us(struct timeval tv) { return (long long)tv.tv_sec * 1000000 + tv.tv_usec; }

/* The report: one line of JSON with how the process ended and its rusage. */
static void write_report(int fd, int status, int timed_out, const struct rusage *ru) {
  int signalled = WIFSIGNALED(status);
  dprintf(fd,
          "{\"exit_code\":%d,\"signal\":%d,\"core_dump\":%s,\"timed_out\":%s,"
          "\"user_time_us\":%lld,\"sys_time_us\":%lld,\"max_rss_kb\":%ld,"
          "\"shared_memory\":%ld,\"unshared_memory\":%ld,\"swaps\":%ld,"
          "\"minor_faults\":%ld,\"major_faults\":%ld,\"voluntary_ctx_switches\":%ld,"
          "\"involuntary_ctx_switches\":%ld,\"block_input_ops\":%ld,\"block_output_ops\":%ld,"
          "\"ipc_msgs_sent\":%ld,\"ipc_msgs_received\":%ld,\"signals_received\":%ld}\n",
          signalled ? -1 : WEXITSTATUS(status), signalled ? WTERMSIG(status) : -1,
          signalled && WCOREDUMP(status) ? "true" : "false", timed_out ? "true" : "false",
          tv_us(ru->ru_utime), tv_us(ru->ru_stime), ru->ru_maxrss, ru->ru_ixrss,
          ru->ru_idrss + ru->ru_isrss, ru->ru_nswap, ru->ru_minflt, ru->ru_majflt, ru->ru_nvcsw,
          ru->ru_nivcsw, ru->ru_inblock, ru->ru_oublock, ru->ru_msgsnd, ru->ru_msgrcv,
          ru->ru_nsignals);
}

/*
 * bwrap's /proc is the sandbox's own, but kernel-wide knobs live in it too. The kernel keeps
 * them from the sandbox's root (host root owns them, an id its user namespace does not map);
 * as container runtimes do, they are also read-only and the host-wide tables hidden.
 */
static void protect_proc(void) {
  static const char *const read_only[] = {"/proc/sys", "/proc/sysrq-trigger", "/proc/irq",
                                          "/proc/bus", "/proc/fs"};
  static const char *const masked[] = {"/proc/kcore", "/proc/keys", "/proc/timer_list",
                                       "/proc/sched_debug"};
  for (size_t i = 0; i < sizeof read_only / sizeof *read_only; i++) {
    const char *path = read_only[i];
    if (access(path, F_OK) != 0) continue;
    if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) != 0) fail("bind", path);
    if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              NULL) != 0) {
      fail("remount read-only", path);
    }
  }
  for (size_t i = 0; i < sizeof masked / sizeof *masked; i++) {
    if (access(masked[i], F_OK) != 0) continue;
    if (mount("/dev/null", masked[i], NULL, MS_BIND, NULL) != 0) fail("mask", masked[i]);
  }
}

/* init --uid N --gid N --cwd DIR --timeout-ms N -- COMMAND [ARGS...] */
static int cmd_init(int argc, char **argv) {
  uid_t uid = 0;
  gid_t gid = 0;
  const char *cwd = "/";
  int64_t timeout_ms = 0;
  int i;
  for (i = 2; i < argc && strcmp(argv[i], "--") != 0; i++) {
    const char *name = argv[i];
    const char *value = option_value(argc, argv, &i);
    if (!strcmp(name, "--uid")) uid = (uid_t)strtoul(value, NULL, 10);
    else if (!strcmp(name, "--gid")) gid = (gid_t)strtoul(value, NULL, 10);
    else if (!strcmp(name, "--cwd")) cwd = value;
    else if (!strcmp(name, "--timeout-ms")) timeout_ms = strtoll(value, NULL, 10);
    else usage("init: unknown option");
  }
  if (i + 1 >= argc) usage("init: missing command");
  if (getpid() != 1) usage("init: must run as pid 1 of a new pid namespace");

  /* Keep the report channel from the command; close anything else bwrap passed on. */
  if (fcntl(REPORT_FD, F_SETFD, FD_CLOEXEC) != 0) fail("fcntl", "report fd");
  syscall(SYS_close_range, REPORT_FD + 1, ~0U, 0);
  protect_proc();
  /* Nobody in the sandbox may ptrace init or read its /proc entries. */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) fail("prctl", "dumpable");

  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  /*
   * Set up: from here on, exec may start processes in the sandbox. Written before the command
   * exists, so it is the first line of the run's stdout (a host that is gone is no error).
   */
  if (write(STDOUT_FILENO, READY_LINE, sizeof READY_LINE - 1) < 0) {
    /* The host is gone: the launcher's death takes the sandbox down. */
  }
  pid_t child = fork();
  if (child < 0) fail("fork", NULL);
  if (child == 0) exec_command(uid, gid, cwd, argv + i + 1);

  /* init itself keeps only CAP_KILL: enough to end processes of any uid on timeout. */
  drop_bounding_set();
  set_caps(CAP_KILL);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail("prctl", "no_new_privs");

  int status = 0;
  struct rusage ru;
  int timed_out = supervise(child, timeout_ms, &status, &ru);
  /* The run ends with its command: background processes go too. */
  kill(-1, SIGKILL);
  while (wait(NULL) > 0 || errno == EINTR) continue;

  write_report(REPORT_FD, status, timed_out, &ru);
  return 0;
}

/* ------------------------------------------------------------------ exec */

static void gone(const char *why) {
  fprintf(stderr, "contree-helper: the sandbox is not running (%s)\n", why);
  exit(EXIT_GONE);
}

/* Reads the small file `name` under the directory `dir` into `buf`, NUL-terminated. */
static int read_at(int dir, const char *name, char *buf, size_t size) {
  int fd = openat(dir, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t len = 0;
  ssize_t n;
  while (len + 1 < size && (n = read(fd, buf + len, size - 1 - len)) > 0) len += (size_t)n;
  close(fd);
  buf[len] = '\0';
  return 0;
}

/*
 * The pid of the process behind the /proc directory `dir` in each pid namespace it is in,
 * outermost first (its NSpid line); returns how many there are, -1 when unreadable.
 */
static int ns_pids(int dir, long *pids, int max) {
  char status[8192];
  if (read_at(dir, "status", status, sizeof status) != 0) return -1;
  char *line = strstr(status, "\nNSpid:");
  if (!line) return -1;
  char *end = strchr(line + 1, '\n');
  if (end) *end = '\0';
  int n = 0;
  for (char *p = line + 7;;) {
    long pid = strtol(p, &end, 10);
    if (end == p) break;
    if (n < max) pids[n] = pid;
    n++;
    p = end;
  }
  return n;
}

/*
 * Opens /proc/PID of the sandbox's init: the member of the run's cgroup that is pid 1 of the
 * third nested pid namespace (launch, then bwrap, then init). The directory pins the process:
 * once it is gone, lookups through it fail rather than reach a process that took its pid, so
 * its pid namespaces and cgroup are checked through it.
 */
static int open_init(const char *cgroup) {
  char path[4096];
  snprintf(path, sizeof path, "%s/cgroup.procs", cgroup);
  FILE *procs = fopen(path, "re");
  if (!procs) fail("open", path);
  const char *name = strrchr(cgroup, '/');
  char member[512];
  snprintf(member, sizeof member, "/%s\n", name ? name + 1 : cgroup);
  int init = -1;
  long pid;
  while (init < 0 && fscanf(procs, "%ld", &pid) == 1) {
    char dir_path[64];
    snprintf(dir_path, sizeof dir_path, "/proc/%ld", pid);
    int dir = open(dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) continue;
    long pids[4];
    char groups[4096];
    if (ns_pids(dir, pids, 4) == 3 && pids[2] == 1 &&
        read_at(dir, "cgroup", groups, sizeof groups) == 0 && strstr(groups, member)) {
      init = dir;
    } else {
      close(dir);
    }
  }
  fclose(procs);
  if (init < 0) gone("no init in its cgroup");
  return init;
}

/* Reads the children of host process `pid` into `kids` (at most `max`); returns how many. */
static int children_of(pid_t pid, pid_t *kids, int max) {
  char path[64], list[512];
  snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
  if (read_at(AT_FDCWD, path, list, sizeof list) != 0) return 0;
  int n = 0;
  for (char *p = list, *end; n < max; p = end) {
    long kid = strtol(p, &end, 10);
    if (end == p) break;
    kids[n++] = (pid_t)kid;
  }
  return n;
}

/*
 * Where a run has no cgroups (a server without root): opens /proc/PID of the sandbox's init,
 * a grandchild of the launcher (launcher, bwrap, init) that is pid 1 of the third nested pid
 * namespace, as open_init() checks it. The launcher is the server's own child, so its pid
 * names no other process while the run lasts.
 */
static int open_init_below(pid_t launcher) {
  pid_t kids[8], grandkids[8];
  int nkids = children_of(launcher, kids, 8);
  for (int k = 0; k < nkids; k++) {
    int ngrandkids = children_of(kids[k], grandkids, 8);
    for (int g = 0; g < ngrandkids; g++) {
      char dir_path[64];
      snprintf(dir_path, sizeof dir_path, "/proc/%d", (int)grandkids[g]);
      int dir = open(dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      long pids[4];
      if (dir >= 0 && ns_pids(dir, pids, 4) == 3 && pids[2] == 1) return dir;
      if (dir >= 0) close(dir);
    }
  }
  gone("no init below its launcher");
  return -1;
}

/* Opens `name` under init's /proc directory; init being gone is not a setup failure. */
static int open_of_init(int init, const char *name, int flags) {
  int fd = openat(init, name, flags | O_CLOEXEC);
  if (fd < 0 && (errno == ESRCH || errno == ENOENT)) gone("its init has ended");
  if (fd < 0) fail("open init's", name);
  return fd;
}

/* Reads the NUL-terminated KEY=VALUE entries of `path`, removes it, returns them as environ. */
static char **read_env(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("open", path);
  if (unlink(path) != 0) fail("unlink", path);
  struct stat st;
  if (fstat(fd, &st) != 0) fail("stat", path);
  char *data = malloc((size_t)st.st_size + 1);
  if (!data) fail("malloc", NULL);
  size_t len = 0;
  ssize_t n;
  while (len < (size_t)st.st_size && (n = read(fd, data + len, (size_t)st.st_size - len)) > 0) {
    len += (size_t)n;
  }
  close(fd);
  data[len] = '\0';
  return split_nul(data, len, NULL);
}

static const struct {
  const char *path;
  int type;
} JOINED[] = {
    {"ns/cgroup", CLONE_NEWCGROUP}, {"ns/ipc", CLONE_NEWIPC}, {"ns/uts", CLONE_NEWUTS},
    {"ns/net", CLONE_NEWNET},       {"ns/mnt", CLONE_NEWNS},
};
#define NJOINED (sizeof JOINED / sizeof *JOINED)

/*
 * exec --report FILE --env FILE --uid N --gid N --cwd DIR [--cgroup DIR]... [--launcher PID]
 *      -- COMMAND [ARGS...]
 * Joins the run's cgroups, then the pid namespace of the sandbox's init (for its child) and
 * forks the process, which joins init's other namespaces and root and execs COMMAND the way
 * init starts the command, in a process group of its own (in this helper's session, which
 * has no terminal). The first line on stdout is `contree-exec HOST_PID SANDBOX_PID`, written
 * before the process may write anything. When the process ends, what is left of its process
 * group is killed, and the report (init's format) is written to FILE. The environment comes
 * in the env FILE (NUL-terminated KEY=VALUE entries), removed once read.
 */
static int cmd_exec(int argc, char **argv) {
  const char *report = NULL, *env_file = NULL, *cwd = NULL;
  const char *cgroups[8];
  int ncgroups = 0, has_uid = 0, has_gid = 0, i;
  pid_t launcher = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  for (i = 2; i < argc && strcmp(argv[i], "--") != 0; i++) {
    const char *name = argv[i];
    const char *value = option_value(argc, argv, &i);
    if (!strcmp(name, "--report")) report = value;
    else if (!strcmp(name, "--env")) env_file = value;
    else if (!strcmp(name, "--uid")) uid = (uid_t)strtoul(value, NULL, 10), has_uid = 1;
    else if (!strcmp(name, "--gid")) gid = (gid_t)strtoul(value, NULL, 10), has_gid = 1;
    else if (!strcmp(name, "--cwd")) cwd = value;
    else if (!strcmp(name, "--cgroup") && ncgroups < 8) cgroups[ncgroups++] = value;
    else if (!strcmp(name, "--launcher")) launcher = (pid_t)strtol(value, NULL, 10);
    else usage("exec: unknown option");
  }
  if (!report || !env_file || !cwd || !has_uid || !has_gid || (ncgroups == 0 && launcher <= 0) ||
      i + 1 >= argc) {
    usage("exec: missing option or command");
  }

  pid_t parent = getppid();
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) fail("prctl", "pdeathsig");
  if (getppid() != parent) exit(EXIT_SETUP);
  /* A session without a terminal: the process can never get the host's as its own. */
  if (setsid() < 0) fail("setsid", NULL);
  int report_fd = open(report, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (report_fd < 0) fail("open", report);
  char **env = read_env(env_file);

  /* Accounted and limited with the run; killed with it on cancel and timeout. */
  char pid[32];
  snprintf(pid, sizeof pid, "%d\n", (int)getpid());
  for (int c = 0; c < ncgroups; c++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/cgroup.procs", cgroups[c]);
    write_file(path, pid);
  }

  int init = ncgroups > 0 ? open_init(cgroups[0]) : open_init_below(launcher);
  int pid_ns = open_of_init(init, "ns/pid", O_RDONLY);
  int joined[NJOINED];
  for (size_t k = 0; k < NJOINED; k++) joined[k] = open_of_init(init, JOINED[k].path, O_RDONLY);
  int root = open_of_init(init, "root", O_RDONLY | O_DIRECTORY);
  int user_ns = open_of_init(init, "ns/user", O_RDONLY);
  close(init);
  if (setns(pid_ns, CLONE_NEWPID) != 0) fail("setns", "ns/pid");
  /* Nobody in the sandbox may ptrace the process before it has dropped its privileges. */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) fail("prctl", "dumpable");

  int go[2];
  if (pipe2(go, O_CLOEXEC) != 0) fail("pipe", NULL);
  pid_t child = fork();
  /* A pid namespace whose init has died takes no new process. */
  if (child < 0 && errno == ENOMEM) gone("its init has ended");
  if (child < 0) fail("fork", NULL);
  if (child == 0) {
    close(go[1]);
    /* Nothing may run before the header is out; end quietly if this helper died. */
    char byte;
    if (read(go[0], &byte, 1) != 1) _exit(EXIT_SETUP);
    /* As host root: a run with networking is in the host's network namespace. */
    for (size_t k = 0; k < NJOINED; k++) {
      if (setns(joined[k], JOINED[k].type) != 0) fail("setns", JOINED[k].path);
    }
    enter_userns_as_root(user_ns);
    if (fchdir(root) != 0 || chroot(".") != 0) fail("chroot", "sandbox root");
    syscall(SYS_close_range, 3, ~0U, 0);
    environ = env;
    exec_command(uid, gid, cwd, argv + i + 1);
  }
  close(go[0]);
  /* Its own process group, in place before the host learns the pid and may signal it. */
  if (setpgid(child, child) != 0) fail("setpgid", NULL);
  char dir_path[64];
  snprintf(dir_path, sizeof dir_path, "/proc/%d", (int)child);
  int dir = open(dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  long pids[4];
  int depth = dir < 0 ? -1 : ns_pids(dir, pids, 4);
  if (dir >= 0) close(dir);
  if (depth < 1 || depth > 4) fail("read the pid namespaces of", dir_path);
  dprintf(STDOUT_FILENO, "contree-exec %d %ld\n", (int)child, pids[depth - 1]);
  /*
   * The host may signal the group as soon as it reads the header: a process killed before it
   * read "go" has closed its end, and the write must not kill this helper with SIGPIPE before
   * it can report how the process ended.
   */
  signal(SIGPIPE, SIG_IGN);
  if (write(go[1], "g", 1) != 1 && errno != EPIPE) fail("write", "go");
  close(go[1]);

  /* This helper keeps only CAP_KILL: enough to end the process group, whatever its uids. */
  drop_bounding_set();
  set_caps(CAP_KILL);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail("prctl", "no_new_privs");

  siginfo_t info;
  while (waitid(P_PID, (id_t)child, &info, WEXITED | WNOWAIT) != 0) {
    if (errno != EINTR) fail("waitid", NULL);
  }
  /*
   * The process ends with what it left running in the background, as the run ends with its
   * command. Killed before the reap: until then its pid keeps naming its process group.
   */
  kill(-child, SIGKILL);
  int status;
  struct rusage ru;
  while (wait4(child, &status, 0, &ru) < 0) {
    if (errno != EINTR) fail("wait4", NULL);
  }
  write_report(report_fd, status, 0, &ru);
  return 0;
}

/* ------------------------------------------------------------------ scan */

static long long scan_bytes;
static size_t scan_root_len;

static int scan_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)type;
  if (S_ISREG(st->st_mode) || S_ISLNK(st->st_mode)) scan_bytes += st->st_size;
  if (S_ISDIR(st->st_mode) && ftw->level > 0) {
    char value[2];
    if ((lgetxattr(path, "trusted.overlay.opaque", value, sizeof value) == 1 ||
         lgetxattr(path, "user.overlay.opaque", value, sizeof value) == 1) &&
        value[0] == 'y') {
      fputs(path + scan_root_len + 1, stdout);
      fputc('\0', stdout);
    }
  }
  return 0;
}

/*
 * scan DIR: prints the paths (relative to DIR) of the directories overlayfs marked opaque, then
 * the total size of DIR's files and symlinks; each item ends with a NUL byte.
 */
static int cmd_scan(int argc, char **argv) {
  if (argc != 3) usage("scan: expected one directory");
  const char *dir = argv[2];
  scan_root_len = strlen(dir);
  while (scan_root_len > 1 && dir[scan_root_len - 1] == '/') scan_root_len--;
  if (nftw(dir, scan_entry, 64, FTW_PHYS) != 0) fail("scan", dir);
  printf("%lld", scan_bytes);
  fputc('\0', stdout);
  return fflush(stdout) == 0 ? 0 : EXIT_SETUP;
}

/* --------------------------------------------------------------- rootless */

/*
 * rootless --uid-range START:COUNT --gid-range START:COUNT -- COMMAND [ARGS...]
 * For a server started by an ordinary user: runs COMMAND in a new user and mount namespace
 * where ids 0..COUNT-1 are the user's subordinate ids START.. and id COUNT is the user
 * itself, as that user (id COUNT) holding every capability of the namespace as ambient
 * capabilities (kept across exec). newuidmap and newgidmap (set-uid, from Debian's `uidmap`)
 * write the maps; they check the ranges against /etc/subuid and /etc/subgid. This process
 * stays outside, forwards SIGTERM, SIGINT and SIGHUP and exits as COMMAND does.
 */
static pid_t rootless_child;

static void forward_signal(int sig) {
  if (rootless_child > 0) kill(rootless_child, sig);
}

/* Runs PROGRAM PID 0 START COUNT COUNT OWN 1 and fails unless it succeeds. */
static void write_map_with(const char *program, pid_t pid, const char *range, unsigned long own) {
  unsigned long start, count;
  parse_id_range(range, &start, &count);
  char args[6][32];
  snprintf(args[0], sizeof args[0], "%d", (int)pid);
  snprintf(args[1], sizeof args[1], "%lu", start);
  snprintf(args[2], sizeof args[2], "%lu", count);
  snprintf(args[3], sizeof args[3], "%lu", own);
  pid_t helper = fork();
  if (helper < 0) fail("fork", program);
  if (helper == 0) {
    execlp(program, program, args[0], "0", args[1], args[2], args[2], args[3], "1", (char *)NULL);
    fail("exec", program);
  }
  int status;
  while (waitpid(helper, &status, 0) < 0) {
    if (errno != EINTR) fail("waitpid", program);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    errno = EPERM;
    fail(program, "(is the range in /etc/subuid and /etc/subgid?)");
  }
}

static int cmd_rootless(int argc, char **argv) {
  const char *uid_range = NULL, *gid_range = NULL;
  int i;
  for (i = 2; i < argc && strcmp(argv[i], "--") != 0; i++) {
    const char *name = argv[i];
    const char *value = option_value(argc, argv, &i);
    if (!strcmp(name, "--uid-range")) uid_range = value;
    else if (!strcmp(name, "--gid-range")) gid_range = value;
    else usage("rootless: unknown option");
  }
  if (!uid_range || !gid_range || i + 1 >= argc) usage("rootless: missing option or command");
  unsigned long start, count;
  parse_id_range(uid_range, &start, &count);
  /* Gone with whoever started it (the server's first process). */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) fail("prctl", "pdeathsig");
  uid_t uid = getuid();
  gid_t gid = getgid();

  int ready[2], go[2];
  if (pipe2(ready, O_CLOEXEC) != 0 || pipe2(go, O_CLOEXEC) != 0) fail("pipe", NULL);
  pid_t parent = getpid();
  pid_t child = fork();
  if (child < 0) fail("fork", NULL);
  if (child == 0) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) fail("prctl", "pdeathsig");
    if (getppid() != parent) exit(EXIT_SETUP);
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) fail("unshare", "CLONE_NEWUSER|CLONE_NEWNS");
    char byte = 'r';
    if (write(ready[1], &byte, 1) != 1) fail("write", "ready");
    if (read(go[0], &byte, 1) != 1) exit(EXIT_SETUP);
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) fail("mount", "--make-rprivate /");
    /* Host groups are unmapped here: keep only the user's own group (id COUNT). */
    gid_t own = (gid_t)count;
    if (setgroups(1, &own) != 0) fail("setgroups", NULL);
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &header, data) != 0) fail("capget", NULL);
    data[0].inheritable = data[0].permitted;
    data[1].inheritable = data[1].permitted;
    if (syscall(SYS_capset, &header, data) != 0) fail("capset", NULL);
    for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
      if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0) fail("prctl", "ambient");
    }
    execvp(argv[i + 1], argv + i + 1);
    fail("exec", argv[i + 1]);
  }
  rootless_child = child;
  struct sigaction forward = {0};
  forward.sa_handler = forward_signal;
  sigaction(SIGTERM, &forward, NULL);
  sigaction(SIGINT, &forward, NULL);
  sigaction(SIGHUP, &forward, NULL);
  char byte;
  if (read(ready[0], &byte, 1) != 1) exit(EXIT_SETUP);
  write_map_with("newuidmap", child, uid_range, uid);
  write_map_with("newgidmap", child, gid_range, gid);
  if (write(go[1], "g", 1) != 1) fail("write", "go");
  int status;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) fail("waitpid", NULL);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "launch")) return cmd_launch(argc, argv);
  if (argc >= 2 && !strcmp(argv[1], "init")) return cmd_init(argc, argv);
  if (argc >= 2 && !strcmp(argv[1], "exec")) return cmd_exec(argc, argv);
  if (argc >= 2 && !strcmp(argv[1], "scan")) return cmd_scan(argc, argv);
  if (argc >= 2 && !strcmp(argv[1], "rootless")) return cmd_rootless(argc, argv);
  usage("usage: contree-helper launch|init|exec|scan|rootless ...");
  return 2;
}
