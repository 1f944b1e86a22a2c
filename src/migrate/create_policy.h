// What a destination agent agrees to create. The create body comes from the source, which
// a destination must not trust: a hostile peer, or a gateway's certificate, could ask for
// a privileged container with the host's root bound in. By default the policy is closed;
// `dockmig serve --allow ...` and `--allow-bind PATH` open it setting by setting.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dockmig/result.h"

namespace dockmig::migrate {

struct CreatePolicy {
  bool allow_privileged = false;
  bool allow_devices = false;          // Devices, DeviceRequests, DeviceCgroupRules
  bool allow_host_namespaces = false;  // Network/Pid/Ipc/Uts/Userns/Cgroupns mode `host` or `container:`
  bool allow_unconfined = false;       // SecurityOpt that lifts seccomp, AppArmor, SELinux or masked paths
  std::vector<std::string> extra_caps{};     // beyond Docker's default set, without `CAP_`, upper case
  std::vector<std::string> bind_prefixes{};  // host directories a bind mount may come from
};

/// Opens the policy by one `--allow` word: privileged, devices, host-namespaces,
/// unconfined or cap:NAME.
Status allow(CreatePolicy& policy, const std::string& word);

/// Opens bind mounts from `path` and below (an absolute path; `..` is refused).
Status allow_bind(CreatePolicy& policy, const std::string& path);

struct PolicyViolation {
  std::string setting;  // "HostConfig.Privileged"
  std::string value;    // what the body asks for
  std::string opens;    // the serve option that would allow it
};

/// Every setting of `create` (a Docker Engine API create body) that the policy refuses.
std::vector<PolicyViolation> check_create(const nlohmann::json& create, const CreatePolicy& policy);

/// InvalidInput naming each refused setting, with how to open it; {} when nothing is refused.
Status refuse_violations(const std::vector<PolicyViolation>& violations);

}  // namespace dockmig::migrate
