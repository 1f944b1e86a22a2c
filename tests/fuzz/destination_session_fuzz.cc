// libFuzzer: a destination agent's session code as any peer can reach it, after a valid
// hello. The input's first byte picks the entry (0: the whole session from its first
// message, on an agent whose dockerd refuses every call, so a prepare stops where it would
// reach Docker; 1: a writable-layer transfer; 2: memory pre-copy and the frozen memory),
// the rest is what the peer sends (frames). Nothing may crash or hang, no exception may
// be thrown, and every failure must be an Error that says something.
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "fuzz/session_fuzz.h"
#include "migrate/destination_migration.h"
#include "migrate/memory_sync.h"
#include "migrate/tree_sync.h"

namespace {

using namespace dockmig;
using namespace dockmig::migrate;
namespace fs = std::filesystem;

constexpr size_t kMaxInput = 32 * 1024;

/// What every run shares: a scratch dir, and an engine on a dockerd that refuses.
struct Agent {
  Agent() : scratch("dockmig-fuzz-destination"), docker(scratch.root().string() + ".sock") {
    Result<docker::EngineClient> opened = docker::EngineClient::open(docker.address());
    if (!opened) std::abort();
    engine.emplace(std::move(*opened));
  }
  fs::path fresh(const char* name) const { return scratch.fresh(name); }

  fuzzing::Scratch scratch;
  testing::RefusingDockerSocket docker;
  std::optional<docker::EngineClient> engine;
  MigrationLedger ledger;
};

Agent& agent() {
  static Agent shared;
  return shared;
}

Status whole_session(Session& session) {
  DestinationContext context{*agent().engine, agent().fresh("staging"), agent().ledger, {}};
  return serve_session(session, context);
}

Status upper_transfer(Session& session) {
  return receive_synced_tree(session, {agent().fresh("upper"), agent().fresh("work"), 3}, /*then_sign=*/true);
}

Status memory_transfer(Session& session) {
  Result<MemoryReceiver> memory = MemoryReceiver::create(agent().fresh("memory"));
  if (!memory) return std::move(memory.error());
  Result<bool> pages_follow = memory->receive_rounds(session);
  if (!pages_follow) return std::move(pages_follow.error());
  if (!*pages_follow) return {};
  return memory->receive_frozen(session, agent().fresh("images"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > kMaxInput) return 0;
  std::span<const std::byte> wire(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  Status (*entry)(Session&) = data[0] % 3 == 0 ? whole_session : data[0] % 3 == 1 ? upper_transfer : memory_transfer;
  fuzzing::serve_entry(wire, entry);
  return 0;
}
