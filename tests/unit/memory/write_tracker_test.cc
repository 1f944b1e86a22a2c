// Write tracking on a real child process: the pages it writes are the ones reported, its
// blocked system calls go on, and it holds no userfaultfd at any time we can see.
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include <gtest/gtest.h>

#include "inject/remote_syscall.h"
#include "memory/container_memory.h"
#include "memory/write_tracker.h"

namespace dockmig::memory {
namespace {

constexpr size_t kPages = 32;
constexpr char kCountUffds = 'u';
constexpr char kChecksum = 'c';

size_t userfaultfds_of(const std::string& proc) {
  size_t count = 0;
  std::error_code ec;
  for (const auto& fd : std::filesystem::directory_iterator(proc + "/fd", ec))
    if (std::filesystem::read_symlink(fd.path(), ec).string().find("userfaultfd") != std::string::npos) ++count;
  return count;
}

// A child that waits in read() for a command: a page number to write, or a question;
// alone in a pid namespace of its own, as a container's process is, when asked.
class Child {
 public:
  enum class Shape { Plain, OwnPidNamespace, MainThreadGone };
  explicit Child(Shape shape = Shape::Plain) {
    region_ = static_cast<char*>(mmap(nullptr, kPages * kPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    for (size_t i = 0; i < kPages; ++i) std::memset(region_ + i * kPageSize, static_cast<int>(i + 1), kPageSize);
    if (pipe(commands_) != 0 || pipe(answers_) != 0) std::abort();
    bool own_pid_namespace = shape == Shape::OwnPidNamespace;
    pid_ = static_cast<pid_t>(own_pid_namespace ? syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0) : fork());
    if (pid_ == 0 && shape == Shape::MainThreadGone) serve_from_a_thread();
    if (pid_ == 0) serve();
    if (pid_ < 0) std::abort();
    close(commands_[0]);
    close(answers_[1]);
  }
  ~Child() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    munmap(region_, kPages * kPageSize);
  }
  pid_t pid() const { return pid_; }
  uint64_t page_address(size_t page) const { return reinterpret_cast<uint64_t>(region_) + page * kPageSize; }
  PageRange region() const { return {page_address(0), page_address(kPages), RegionPages::All}; }
  // On a busy host the main thread may still be on its way out after its thread served.
  bool main_thread_exited() const {
    for (int tries = 0; tries < 1000; ++tries) {
      std::ifstream stat("/proc/" + std::to_string(pid_) + "/stat");
      std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
      size_t close = text.rfind(')');
      if (close != std::string::npos && text.compare(close + 1, 3, " Z ") == 0) return true;
      usleep(10000);
    }
    return false;
  }
  long ask(char command) {
    long answer = -1;
    EXPECT_EQ(write(commands_[1], &command, 1), 1);
    EXPECT_EQ(read(answers_[0], &answer, sizeof answer), static_cast<ssize_t>(sizeof answer));
    return answer;
  }

 private:
  [[noreturn]] void serve_from_a_thread() {
    pthread_t thread;
    pthread_create(&thread, nullptr, [](void* self) -> void* { static_cast<Child*>(self)->serve(); }, this);
    // The main thread alone exits (no unwinding through the test's frames); the process
    // lives on in the thread, and its pid names a zombie.
    for (;;) syscall(SYS_exit, 0);
  }
  [[noreturn]] void serve() {
    char command;
    while (read(commands_[0], &command, 1) == 1) {
      long answer = 0;
      if (command == kCountUffds) answer = static_cast<long>(userfaultfds_of("/proc/self"));
      else if (command == kChecksum) for (size_t i = 0; i < kPages * kPageSize; ++i) answer = answer * 31 + region_[i];
      else region_[static_cast<size_t>(command) * kPageSize + 7] ^= 0x5a;
      if (write(answers_[1], &answer, sizeof answer) != sizeof answer) break;
    }
    _exit(0);
  }

  char* region_ = nullptr;
  int commands_[2]{}, answers_[2]{};
  pid_t pid_ = 0;
};

class WriteTrackerTest : public testing::Test {
 protected:
  void SetUp() override {
    Status supported = write_tracking_supported();
    if (!supported) GTEST_SKIP() << "this host cannot track writes: " << supported.error().message;
    if (geteuid() != 0) GTEST_SKIP() << "tracking another process needs root (ptrace, pidfd_getfd)";
  }
};

TEST_F(WriteTrackerTest, ReportsExactlyThePagesWrittenSinceTheLastLook) {
  Child child;
  std::chrono::duration<double> stopped{};
  Result<WriteTracker> tracker = WriteTracker::attach(child.pid(), stopped);
  ASSERT_TRUE(tracker) << tracker.error().describe();
  EXPECT_EQ(child.ask(kCountUffds), 0) << "the child must not keep the userfaultfd";
  // The first look protects the region and returns all of it.
  EXPECT_EQ(tracker->changed({child.region()}), std::vector<PageRange>{child.region()});
  EXPECT_TRUE(tracker->changed({child.region()}).empty());
  child.ask(3);
  child.ask(9);
  child.ask(10);
  std::vector<PageRange> written = tracker->changed({child.region()});
  EXPECT_EQ(written, (std::vector<PageRange>{{child.page_address(3), child.page_address(4), RegionPages::All},
                                             {child.page_address(9), child.page_address(11), RegionPages::All}}));
  EXPECT_TRUE(tracker->changed({child.region()}).empty()) << "written pages are protected again";
}

TEST_F(WriteTrackerTest, CountsTheWrittenPagesWithoutTakingThemFromTheNextLook) {
  Child child;
  std::chrono::duration<double> stopped{};
  Result<WriteTracker> tracker = WriteTracker::attach(child.pid(), stopped);
  ASSERT_TRUE(tracker) << tracker.error().describe();
  EXPECT_EQ(tracker->pages_written({child.region()}), kPages) << "a range not tracked yet counts whole";
  tracker->changed({child.region()});
  EXPECT_EQ(tracker->pages_written({child.region()}), 0u);
  child.ask(2);
  child.ask(5);
  EXPECT_EQ(tracker->pages_written({child.region()}), 2u);
  EXPECT_EQ(tracker->pages_written({child.region()}), 2u) << "counting protects nothing again";
  EXPECT_EQ(tracker->changed({child.region()}),
            (std::vector<PageRange>{{child.page_address(2), child.page_address(3), RegionPages::All},
                                    {child.page_address(5), child.page_address(6), RegionPages::All}}));
  EXPECT_EQ(tracker->pages_written({child.region()}), 0u);
}

TEST_F(WriteTrackerTest, TracksAProcessWhoseMainThreadHasExited) {
  Child child(Child::Shape::MainThreadGone);
  child.ask(kChecksum);  // its thread serves
  ASSERT_TRUE(child.main_thread_exited());
  std::chrono::duration<double> stopped{};
  Result<WriteTracker> tracker = WriteTracker::attach(child.pid(), stopped);
  ASSERT_TRUE(tracker) << tracker.error().describe();
  tracker->changed({child.region()});
  child.ask(12);
  EXPECT_EQ(tracker->changed({child.region()}),
            (std::vector<PageRange>{{child.page_address(12), child.page_address(13), RegionPages::All}}));
}

TEST_F(WriteTrackerTest, LeavesTheProcessAsItWasWhenTrackingEnds) {
  Child child;
  long checksum = child.ask(kChecksum);
  {
    std::chrono::duration<double> stopped{};
    Result<WriteTracker> tracker = WriteTracker::attach(child.pid(), stopped);
    ASSERT_TRUE(tracker) << tracker.error().describe();
    tracker->changed({child.region()});
    EXPECT_EQ(child.ask(kChecksum), checksum);
  }
  child.ask(5);
  child.ask(5);  // written twice: back to the first content
  EXPECT_EQ(child.ask(kChecksum), checksum);
  EXPECT_EQ(child.ask(kCountUffds), 0);
}

TEST_F(WriteTrackerTest, AContainerRoundReadsOnlyWhatWasWritten) {
  Child child(Child::Shape::OwnPidNamespace);
  ContainerMemory memory(child.pid(), Tracking::WriteProtect);
  auto pages_of_region = [&](RoundRead& read) {
    std::set<uint64_t> seen;
    Status done = memory.read_round([&](const PageAddress& at, PageView) -> Status {
      if (at.pid == child.pid() && at.vaddr >= child.page_address(0) && at.vaddr < child.page_address(kPages))
        seen.insert((at.vaddr - child.page_address(0)) / kPageSize);
      return {};
    }, read);
    EXPECT_TRUE(done);
    return seen;
  };
  RoundRead first;
  EXPECT_EQ(pages_of_region(first).size(), kPages);
  child.ask(6);
  RoundRead second;
  EXPECT_EQ(pages_of_region(second), std::set<uint64_t>{6});
  EXPECT_LT(second.scan.pages_read, first.scan.pages_read);
  EXPECT_EQ(memory.tracking_used(), "uffd-wp");
}

TEST_F(WriteTrackerTest, ARoundLeavesOutAPageWrittenAgainBeforeItIsRead) {
  Child child(Child::Shape::OwnPidNamespace);
  ContainerMemory memory(child.pid(), Tracking::WriteProtect);
  bool written = false;
  std::set<uint64_t> seen;
  auto visit = [&](const PageAddress& at, PageView) -> Status {
    if (!written) written = child.ask(6) == 0;  // at the round's first page, before the region's
    if (at.pid == child.pid() && at.vaddr >= child.page_address(0) && at.vaddr < child.page_address(kPages))
      seen.insert((at.vaddr - child.page_address(0)) / kPageSize);
    return {};
  };
  RoundRead first;
  ASSERT_TRUE(memory.read_round(visit, first));
  EXPECT_EQ(seen.size(), kPages - 1);
  EXPECT_FALSE(seen.contains(6)) << "page 6 was written after the round began: it would have been stale";
  EXPECT_GE(first.scan.pages_skipped, 1u);
  seen.clear();
  RoundRead second;
  ASSERT_TRUE(memory.read_round(visit, second));
  EXPECT_EQ(seen, std::set<uint64_t>{6}) << "the next round reads what the last one left out";
}

TEST_F(WriteTrackerTest, TellsThePagesWrittenAgainAndLeavesThemForTheNextLook) {
  Child child;
  std::chrono::duration<double> stopped{};
  Result<WriteTracker> tracker = WriteTracker::attach(child.pid(), stopped);
  ASSERT_TRUE(tracker) << tracker.error().describe();
  EXPECT_EQ(tracker->written_again({child.region()}), std::vector<PageRange>{}) << "a range not tracked has none";
  tracker->changed({child.region()});
  child.ask(4);
  std::vector<PageRange> page_4{{child.page_address(4), child.page_address(5), RegionPages::All}};
  EXPECT_EQ(tracker->written_again({child.region()}), page_4);
  EXPECT_EQ(tracker->changed({child.region()}), page_4);
}

TEST(RemoteProcess, RunsASystemCallAndTheBlockedReadGoesOn) {
  if (geteuid() != 0) GTEST_SKIP() << "ptrace of a child with PTRACE_O_SUSPEND_SECCOMP needs root";
  int data[2];
  ASSERT_EQ(pipe(data), 0);
  pid_t pid = fork();
  if (pid == 0) {
    char byte = 0;
    _exit(read(data[0], &byte, 1) == 1 && byte == 'x' ? 0 : 1);
  }
  usleep(50000);  // let it block in read()
  {
    Result<inject::RemoteProcess> remote = inject::RemoteProcess::seize(pid);
    ASSERT_TRUE(remote) << remote.error().describe();
    Result<long> answer = remote->syscall(SYS_getpid);
    ASSERT_TRUE(answer) << answer.error().describe();
    EXPECT_EQ(*answer, pid);
  }
  ASSERT_EQ(write(data[1], "x", 1), 1);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the interrupted read() did not go on as before";
}

}  // namespace
}  // namespace dockmig::memory
