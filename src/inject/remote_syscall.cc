#include "inject/remote_syscall.h"

#include <fcntl.h>
#include <signal.h>
#include <elf.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "base/unique_fd.h"

namespace dockmig::inject {
namespace {

Error ptrace_error(const std::string& what, int tid) {
  ErrorCode code = errno == ESRCH ? ErrorCode::NotFound : ErrorCode::ToolFailed;  // ESRCH: it exited
  return make_error(code, what + " thread " + std::to_string(tid) + ": " + std::strerror(errno));
}

#if defined(__x86_64__)
constexpr unsigned char kSyscallInstruction[] = {0x0f, 0x05};
constexpr uint64_t kSyscallLength = sizeof kSyscallInstruction;

// The address of a `syscall` instruction in the process's executable memory: the vDSO
// has one (its fallback paths), and so has any libc or static binary.
Result<uint64_t> find_syscall_instruction(int pid) {
  std::string proc = "/proc/" + std::to_string(pid);
  std::ifstream maps(proc + "/maps");
  base::UniqueFd mem(::open((proc + "/mem").c_str(), O_RDONLY | O_CLOEXEC));
  if (!maps || !mem) return make_error(ErrorCode::NotFound, "process " + std::to_string(pid) + " is gone");
  std::vector<std::pair<uint64_t, uint64_t>> executable;
  std::string line;
  while (std::getline(maps, line)) {
    unsigned long start = 0, end = 0;
    char perms[5] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %4s", &start, &end, perms) != 3 || perms[2] != 'x') continue;
    auto at = line.ends_with("[vdso]") ? executable.begin() : executable.end();
    executable.insert(at, {start, end});
  }
  std::vector<unsigned char> text;
  for (auto [start, end] : executable) {
    text.resize(std::min<uint64_t>(end - start, 4 << 20));
    ssize_t got = ::pread(mem.get(), text.data(), text.size(), static_cast<off_t>(start));
    if (got <= 0) continue;
    auto found = std::search(text.begin(), text.begin() + got, std::begin(kSyscallInstruction),
                             std::end(kSyscallInstruction));
    if (found != text.begin() + got) return start + static_cast<uint64_t>(found - text.begin());
  }
  return make_error(ErrorCode::Unsupported, "process " + std::to_string(pid) + " has no syscall instruction to borrow");
}

void aim_at_syscall(user_regs_struct& regs, uint64_t ip, long number, const std::array<uint64_t, 6>& args) {
  regs.rip = ip;
  regs.rax = static_cast<uint64_t>(number);
  regs.orig_rax = static_cast<uint64_t>(-1);  // no restart of what the thread was blocked in
  regs.rdi = args[0], regs.rsi = args[1], regs.rdx = args[2];
  regs.r10 = args[3], regs.r8 = args[4], regs.r9 = args[5];
}
long syscall_result(const user_regs_struct& regs) { return static_cast<long>(regs.rax); }
uint64_t instruction_pointer(const user_regs_struct& regs) { return regs.rip; }
#else
Result<uint64_t> find_syscall_instruction(int) {
  return make_error(ErrorCode::Unsupported, "running a system call in another process is implemented for x86_64 only");
}
void aim_at_syscall(user_regs_struct&, uint64_t, long, const std::array<uint64_t, 6>&) {}
long syscall_result(const user_regs_struct&) { return -ENOSYS; }
uint64_t instruction_pointer(const user_regs_struct&) { return 0; }
constexpr uint64_t kSyscallLength = 4;
#endif

bool get_registers(int pid, user_regs_struct& regs) {
  iovec io{&regs, sizeof regs};
  return ::ptrace(PTRACE_GETREGSET, pid, NT_PRSTATUS, &io) == 0;
}
bool set_registers(int pid, const user_regs_struct& regs) {
  iovec io{const_cast<user_regs_struct*>(&regs), sizeof regs};
  return ::ptrace(PTRACE_SETREGSET, pid, NT_PRSTATUS, &io) == 0;
}

// Waits for the next stop of a seized thread; false if it exited.
bool wait_stop(int pid, int& status) {
  for (;;) {
    if (::waitpid(pid, &status, __WALL) == pid) return WIFSTOPPED(status);
    if (errno != EINTR) return false;
  }
}

bool is_interrupt_stop(int status) { return WSTOPSIG(status) == SIGTRAP && (status >> 16) == PTRACE_EVENT_STOP; }
bool is_step_stop(int status) { return WSTOPSIG(status) == SIGTRAP && (status >> 16) == 0; }

}  // namespace

Result<RemoteProcess> RemoteProcess::seize(int tid) {
  Result<uint64_t> ip = find_syscall_instruction(tid);
  if (!ip) return std::move(ip.error());
  if (::ptrace(PTRACE_SEIZE, tid, nullptr, PTRACE_O_SUSPEND_SECCOMP) != 0) return ptrace_error("cannot seize", tid);
  int status = 0;
  if (::ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) != 0 || !wait_stop(tid, status)) {
    Error error = ptrace_error("cannot stop", tid);
    ::ptrace(PTRACE_DETACH, tid, nullptr, nullptr);
    return error;
  }
  if (!is_interrupt_stop(status)) {  // a signal came first: deliver it, try another time
    ::ptrace(PTRACE_DETACH, tid, nullptr, WSTOPSIG(status));
    return make_error(ErrorCode::Interrupted, "process " + std::to_string(tid) + " was taking a signal");
  }
  RemoteProcess process(tid, *ip);
  if (!get_registers(tid, process.saved_)) {  // nothing to put back: let it go as it is
    Error error = ptrace_error("cannot read the registers of", tid);
    ::ptrace(PTRACE_DETACH, std::exchange(process.tid_, 0), nullptr, nullptr);
    return error;
  }
  return process;
}

RemoteProcess::RemoteProcess(int tid, uint64_t syscall_ip) : tid_(tid), syscall_ip_(syscall_ip) {}

RemoteProcess::RemoteProcess(RemoteProcess&& other) noexcept
    : tid_(std::exchange(other.tid_, 0)), syscall_ip_(other.syscall_ip_), saved_(other.saved_) {}

RemoteProcess::~RemoteProcess() { release(); }

void RemoteProcess::release() {
  if (tid_ == 0) return;
  set_registers(tid_, saved_);
  ::ptrace(PTRACE_DETACH, tid_, nullptr, nullptr);
  tid_ = 0;
}

Result<long> RemoteProcess::syscall(long number, const std::array<uint64_t, 6>& args) {
  user_regs_struct regs = saved_;
  aim_at_syscall(regs, syscall_ip_, number, args);
  int status = 0;
  if (!set_registers(tid_, regs) || ::ptrace(PTRACE_SINGLESTEP, tid_, nullptr, nullptr) != 0)
    return ptrace_error("cannot run a system call in", tid_);
  if (!wait_stop(tid_, status)) {
    tid_ = 0;  // it died: nothing to put back
    return make_error(ErrorCode::NotFound, "process exited while running an injected system call");
  }
  if (!is_step_stop(status) || !get_registers(tid_, regs) ||
      instruction_pointer(regs) != syscall_ip_ + kSyscallLength) {
    int signal = is_step_stop(status) || is_interrupt_stop(status) ? 0 : WSTOPSIG(status);
    set_registers(tid_, saved_);
    ::ptrace(PTRACE_DETACH, std::exchange(tid_, 0), nullptr, signal);
    return make_error(ErrorCode::Interrupted, "the injected system call " + std::to_string(number) + " was interrupted");
  }
  return syscall_result(regs);
}

}  // namespace dockmig::inject
