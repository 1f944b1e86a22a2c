#include "checkpoint/early_restore.h"

#include <unistd.h>

#include "base/exception_boundary.h"
#include "base/proc_status.h"
#include "checkpoint/docker_checkpoint.h"

namespace dockmig::checkpoint {

std::string early_restore_refusal(int dockerd) {
  if (dockerd <= 0) return "it cannot tell which process its dockerd is";
  if (!base::shares_our_namespace(dockerd, "mnt")) return "its dockmig is in another mount namespace than its dockerd";
  if (!base::shares_our_namespace(dockerd, "pid")) return "its dockmig is in another pid namespace than its dockerd";
  return "";
}

Result<std::unique_ptr<EarlyRestore>> EarlyRestore::start(const docker::EngineClient& engine,
                                                          const std::string& docker_root,
                                                          const std::string& container_id, const std::string& name,
                                                          TcpMode tcp) {
  Result<RestoreGate> gate =
      RestoreGate::create(std::filesystem::path(docker_root) / "containers" / container_id / "dockmig-gate",
                          checkpoint_dir(docker_root, container_id, name));
  if (!gate) return std::move(gate.error());
  std::unique_ptr<EarlyRestore> restore(new EarlyRestore(std::move(*gate)));
  EarlyRestore* self = restore.get();
  self->call_started_ = std::chrono::system_clock::now();
  self->call_ = std::thread([self, engine, docker_root, container_id, name, tcp] {
    Status ran = base::contain_exceptions("the restore started before the memory was in", [&]() -> Status {
      self->result_ = restore_container(engine, docker_root, container_id, name, tcp, nullptr, &self->gate_);
      return {};
    });
    if (!ran) self->result_ = std::move(ran.error());
  });
  return restore;
}

EarlyRestore::~EarlyRestore() {
  if (!call_.joinable()) return;
  gate_.fail();
  call_.join();
}

Result<nlohmann::json> EarlyRestore::finish() {
  opened_at_ = std::chrono::system_clock::now();
  Status opened = gate_.open();
  if (!opened) gate_.fail();
  call_.join();
  if (!opened) return std::move(opened.error()).wrap("letting the restore read its memory");
  return std::move(*result_);
}

}  // namespace dockmig::checkpoint
