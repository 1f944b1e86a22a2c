// libFuzzer: a destination agent's session code as any peer can reach it, after a valid
// hello. The input's first byte picks the entry (0: the whole session from its first
// message, on an agent whose dockerd refuses every call, so a prepare stops where it would
// reach Docker; 1: a writable-layer transfer; 2: memory pre-copy and the frozen memory),
// the rest is what the peer sends (frames). Nothing may crash or hang, no exception may
// be thrown, and every failure must be an Error that says something.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "migrate/destination_migration.h"
#include "migrate/memory_sync.h"
#include "migrate/upper_sync.h"
#include "unit/migrate/peer_wire.h"

namespace {

using namespace dockmig;
using namespace dockmig::migrate;
namespace fs = std::filesystem;

constexpr size_t kMaxInput = 32 * 1024;

/// What every run shares: a scratch dir, and an engine on a dockerd that refuses.
struct Agent {
  Agent()
      : root(fs::temp_directory_path() / ("dockmig-fuzz-destination-" + std::to_string(getpid()))),
        docker(root.string() + ".sock") {
    fs::create_directories(root);
    Result<docker::EngineClient> opened = docker::EngineClient::open(docker.address());
    if (!opened) std::abort();
    engine.emplace(std::move(*opened));
  }
  ~Agent() {
    std::error_code ignored;
    fs::remove_all(root, ignored);
  }
  /// A fresh dir under the root, empty.
  fs::path fresh(const char* name) const {
    fs::path dir = root / name;
    std::error_code ignored;
    fs::remove_all(dir, ignored);
    fs::create_directories(dir, ignored);
    return dir;
  }

  fs::path root;
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
  return receive_upper(session, {agent().fresh("upper"), agent().fresh("work"), 3}, /*then_sign=*/true);
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
  testing::Served served = testing::serve_from_peer(wire, [&](Session& session) {
    try {
      return entry(session);
    } catch (...) {
      std::abort();  // an exception out of the session code is the bug this target looks for
    }
  });
  if (!served.status && served.status.error().message.empty()) std::abort();
  // serve_session contains exceptions (the agent must survive them), but each is a bug.
  if (!served.status && served.status.error().message.find("unexpected exception") != std::string::npos) std::abort();
  return 0;
}
