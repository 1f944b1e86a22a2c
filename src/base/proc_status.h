// Fields of /proc/PID/status (and one of /proc/PID/stat), a line `Name:<blanks>value` each ("PPid:\t812",
// "CapBnd:\t000001ffffffffff").
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dockmig/result.h"

namespace dockmig::base {

/// The processes /proc lists now (not their threads).
Result<std::vector<pid_t>> process_ids();

/// The text of /proc/`pid`/status; an error if the process is gone.
Result<std::string> read_proc_status(pid_t pid);

/// The value of field `name` in `status`, without its surrounding blanks; nullopt if absent.
std::optional<std::string_view> proc_status_field(std::string_view status, std::string_view name);

/// A decimal field (PPid, Tgid); nullopt if absent or not a number.
std::optional<long> proc_status_number(std::string_view status, std::string_view name);

/// Whether capability number `capability` is in the hex capability set `name` (CapEff,
/// CapBnd); nullopt if the set is absent or not hex.
std::optional<bool> proc_status_has_capability(std::string_view status, std::string_view name, int capability);

/// Field 22 of /proc/`pid`/stat, the process's start time in clock ticks since boot: with
/// the pid it names one process for good (a pid is reused, a start time with it is not).
std::optional<std::string> process_start_ticks(pid_t pid);

/// The arguments in /proc/`pid`/cmdline after argv[0]; an error if the process is gone.
Result<std::vector<std::string>> process_arguments(pid_t pid);

/// Whether process `pid` is in the same namespace of `kind` ("mnt", "pid") as this one;
/// false when either cannot be read.
bool shares_our_namespace(pid_t pid, std::string_view kind);

}  // namespace dockmig::base
