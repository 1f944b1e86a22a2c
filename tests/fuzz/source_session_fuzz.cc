// libFuzzer: a source's session code as its destination can reach it, after a valid
// hello. The input's first byte picks the entry (0: the writable layer sent whole, then
// its changes as deltas against the destination's signatures; 1: the frozen memory and
// the destination's answer to it, pages asked for again included; 2: the answer to the
// image question), the rest is what the destination sends (frames). Nothing may crash or
// hang, no exception may be thrown, and every failure must be an Error that says something.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "fuzz/session_fuzz.h"
#include "layers/upper_snapshot.h"
#include "migrate/image_sync.h"
#include "migrate/memory_sync.h"
#include "migrate/upper_deltas.h"
#include "migrate/tree_sync.h"

namespace {

using namespace dockmig;
using namespace dockmig::migrate;
namespace fs = std::filesystem;

constexpr size_t kMaxInput = 32 * 1024;

void write_file(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

/// What every run shares, made once: a writable layer with a file large enough to travel
/// as a delta, CRIU-like page images, and an engine on a dockerd that refuses.
struct Source {
  Source() : scratch("dockmig-fuzz-source"), docker(scratch.root().string() + ".sock"), root(scratch.root()) {
    write_file(root / "upper" / "etc" / "config", "listen 8080\n");
    write_file(root / "upper" / "data" / "large", std::string(kDeltaMinBytes, 'x'));
    std::string pages(3 * memory::kPageSize, '\0');
    for (size_t i = memory::kPageSize; i < pages.size(); ++i) pages[i] = static_cast<char>(i / 7);
    write_file(root / "images" / "pages-1.img", pages);
    write_file(root / "images" / "pagemap-1.img", "not a page image");
    Result<layers::UpperSnapshot> scanned = layers::scan_upper_dir(root / "upper");
    Result<docker::EngineClient> opened = docker::EngineClient::open(docker.address());
    if (!scanned || !opened) std::abort();
    presync = std::move(*scanned);
    engine.emplace(std::move(*opened));
  }
  fs::path fresh(const char* name) const { return scratch.fresh(name); }

  fuzzing::Scratch scratch;
  testing::RefusingDockerSocket docker;
  fs::path root;
  std::optional<docker::EngineClient> engine;
  layers::UpperSnapshot presync;
};

Source& source() {
  static Source shared;
  return shared;
}

// The large file as changed since presync (a newer ctime), so it goes out as a delta
// against whatever signature the destination sent for it.
Status upper_transfer(Session& session) {
  TreeSyncFiles files{source().root / "upper", source().fresh("work"), 3};
  PhaseReport phase;
  Progress quiet;
  Status sent = send_whole_tree(session, files, phase, quiet);
  if (!sent) return sent;
  layers::UpperSnapshot now = source().presync;
  ++now.entries.at("data/large").ctime_ns;
  return send_final_changes(session, files, source().presync, now, phase, quiet);
}

Status memory_transfer(Session& session) {
  PrecopySender sender(session, 3);
  Status skipped = sender.skip_rounds();
  if (!skipped) return skipped;
  PhaseReport phase;
  Progress quiet;
  MemoryReport report;
  return sender.send_frozen(source().root / "images", phase, quiet, report);
}

Status image_answer(Session& session) {
  PhaseReport phase;
  Progress quiet;
  Result<std::string> from = supply_image(session, *source().engine, "busybox:1", phase, quiet, 3);
  return from ? Status() : Status(std::move(from.error()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > kMaxInput) return 0;
  std::span<const std::byte> wire(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  Status (*entry)(Session&) = data[0] % 3 == 0 ? upper_transfer : data[0] % 3 == 1 ? memory_transfer : image_answer;
  fuzzing::serve_entry(wire, entry);
  return 0;
}
