// Transitional: the dump moved to checkpoint/dump.h.
#pragma once
#include "checkpoint/dump.h"

namespace dockmig::checkpoint {
using PageServerDump = Dump;
using PageServerDumpRequest = DumpRequest;
}  // namespace dockmig::checkpoint
