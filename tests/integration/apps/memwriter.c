// A service with a large memory region that it keeps rewriting, and that can prove its own
// memory intact: every page holds content derived from (page, generation), and the
// generation of each page is kept in a table. Every fourth page holds 32-bit numbers that
// grow a little from word to word (as the rows of an integral image do), which dockmig
// sends as word differences; the others hold noise. SIGUSR1 checks every page against the table
// and writes the result to /tmp/verify ("ok PAGES WRITES" or "bad PAGE ..."); /tmp/count
// holds the number of page writes so far, so a test sees the work carry on. With
// DISCARDS_PER_SECOND, that many pages a second are also given back to the kernel
// (madvise MADV_DONTNEED, as malloc's free does) and written afresh; /tmp/discards counts them.
//   memwriter MIB PAGES_PER_SECOND [DISCARDS_PER_SECOND]
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096
#define WORDS (PAGE / 8)

static volatile sig_atomic_t verify_asked;
static void on_usr1(int sig) { (void)sig; verify_asked = 1; }

static uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

static void fill(uint64_t* page, uint64_t index, uint32_t gen) {
  uint64_t seed = mix(index * 1000003u + gen);
  if (index % 4 == 0) {
    uint32_t* numbers = (uint32_t*)page;
    uint32_t sum = (uint32_t)seed;
    for (int n = 0; n < PAGE / 4; ++n) numbers[n] = sum += (uint32_t)(mix(seed + n) & 255);
    return;
  }
  for (int w = 0; w < WORDS; ++w) page[w] = mix(seed + w);
}

static int intact(const uint64_t* page, uint64_t index, uint32_t gen) {
  uint64_t expected[WORDS];
  fill(expected, index, gen);
  return memcmp(page, expected, PAGE) == 0;
}

static void write_file(const char* path, const char* text) {
  char tmp[64];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE* f = fopen(tmp, "w");
  if (!f) return;
  fputs(text, f);
  fclose(f);
  rename(tmp, path);
}

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) { fprintf(stderr, "usage: memwriter MIB PAGES_PER_SECOND [DISCARDS_PER_SECOND]\n"); return 2; }
  uint64_t pages = strtoull(argv[1], 0, 10) * 256, rate = strtoull(argv[2], 0, 10);
  uint64_t discard_rate = argc == 4 ? strtoull(argv[3], 0, 10) : 0;
  uint64_t* region = mmap(0, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  uint32_t* gens = calloc(pages, sizeof *gens);
  if (region == MAP_FAILED || !gens) { perror("memwriter"); return 1; }
  for (uint64_t i = 0; i < pages; ++i) fill(region + i * WORDS, i, 0);
  signal(SIGUSR1, on_usr1);
  uint64_t writes = 0, discards = 0, rng = 1, tick = 0;
  char text[128];
  for (;;) {
    for (uint64_t due = rate * (tick + 1) / 100; writes < due;) {
      uint64_t i = mix(rng++) % pages;
      fill(region + i * WORDS, i, ++gens[i]);
      ++writes;
    }
    for (uint64_t due = discard_rate * (tick + 1) / 100; discards < due; ++discards) {
      uint64_t i = mix(rng++) % pages;
      madvise(region + i * WORDS, PAGE, MADV_DONTNEED);
      fill(region + i * WORDS, i, ++gens[i]);
    }
    if (verify_asked) {
      verify_asked = 0;
      snprintf(text, sizeof text, "ok %llu %llu\n", (unsigned long long)pages, (unsigned long long)writes);
      for (uint64_t i = 0; i < pages; ++i)
        if (!intact(region + i * WORDS, i, gens[i])) {
          snprintf(text, sizeof text, "bad page %llu gen %u\n", (unsigned long long)i, gens[i]);
          break;
        }
      write_file("/tmp/verify", text);
    }
    if (++tick % 10 == 0) {  /* every 0.1 s */
      snprintf(text, sizeof text, "%llu\n", (unsigned long long)writes);
      write_file("/tmp/count", text);
      snprintf(text, sizeof text, "%llu\n", (unsigned long long)discards);
      write_file("/tmp/discards", text);
    }
    struct timespec pause = {0, 10 * 1000 * 1000};
    nanosleep(&pause, 0);
  }
}
