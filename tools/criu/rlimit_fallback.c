// Preloaded into the bed's CRIU by its wrapper (tools/setup.sh). CRIU reads each task's
// resource limits with prlimit64(pid, resource, NULL, &old); for a process of another
// user the kernel allows that only with CAP_SYS_RESOURCE, which root lacks on machines
// whose capability bounding set drops it (these sandboxes), so CRIU failed to dump
// any container with a non-root process ("Can't get rlimit 0: Operation not
// permitted": PostgreSQL, nginx's workers). When the kernel refuses such a read, this
// answers it from /proc/PID/limits, which anyone may read and which shows the same two
// values. Nothing else changes: every other call goes to the real syscall().
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>

struct limit_pair {
  uint64_t soft, hard;  // prlimit64's struct rlimit64
};

// One value of /proc/PID/limits: a number or "unlimited".
static int parse_limit(const char* word, uint64_t* value) {
  if (strcmp(word, "unlimited") == 0) {
    *value = UINT64_MAX;  // RLIM64_INFINITY
    return 0;
  }
  char* end = NULL;
  errno = 0;
  unsigned long long parsed = strtoull(word, &end, 10);
  if (errno != 0 || end == word || *end != '\0') return -1;
  *value = parsed;
  return 0;
}

// The file has a heading line, then one line per resource in the kernel's order
// (RLIMIT_CPU = 0 first): a name padded to 25 characters, then soft, hard and units.
static int limits_from_proc(pid_t pid, long resource, struct limit_pair* out) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/limits", (int)pid);
  FILE* file = fopen(path, "re");
  if (file == NULL) return -1;
  int found = -1;
  for (long index = -1; fgets(line, sizeof line, file) != NULL; ++index) {
    if (index != resource) continue;
    char soft[32], hard[32];
    if (strlen(line) > 26 && sscanf(line + 26, "%31s %31s", soft, hard) == 2 &&
        parse_limit(soft, &out->soft) == 0 && parse_limit(hard, &out->hard) == 0)
      found = 0;
    break;
  }
  fclose(file);
  return found;
}

long syscall(long number, ...) {
  static long (*real_syscall)(long, ...);
  if (real_syscall == NULL) real_syscall = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
  va_list args;
  va_start(args, number);
  long a[6];
  for (int i = 0; i < 6; ++i) a[i] = va_arg(args, long);
  va_end(args);
  long result = real_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
  if (result == -1 && errno == EPERM && number == SYS_prlimit64 && a[0] > 0 && a[2] == 0 && a[3] != 0) {
    int saved = errno;
    if (limits_from_proc((pid_t)a[0], a[1], (struct limit_pair*)a[3]) == 0) return 0;
    errno = saved;
  }
  return result;
}
