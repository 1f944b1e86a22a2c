// Checks a create body against the destination's policy. Every field is read as a hostile
// peer may have written it: a value of an unexpected type is refused, never skipped, since
// dockerd might still make sense of it.
#include "migrate/create_policy.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <string_view>

#include "docker/container_info.h"

namespace dockmig::migrate {
namespace {

using nlohmann::json;

// Docker's default capabilities (moby oci/caps/defaults.go); CapAdd of these changes nothing.
constexpr std::array<std::string_view, 14> kDefaultCaps = {
    "CHOWN",  "DAC_OVERRIDE", "FSETID", "FOWNER",           "MKNOD",      "NET_RAW", "SETGID",
    "SETUID", "SETFCAP",      "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL",    "AUDIT_WRITE"};

constexpr std::array<const char*, 6> kNamespaceModes = {"NetworkMode", "PidMode",      "IpcMode",
                                                        "UTSMode",     "UsernsMode",   "CgroupnsMode"};

std::string normalized_cap(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::toupper(c); });
  if (name.starts_with("CAP_")) name.erase(0, 4);
  return name;
}

class Checker {
 public:
  Checker(const json& host, const CreatePolicy& policy) : host_(host), policy_(policy) {}

  std::vector<PolicyViolation> run() {
    check_privileged();
    check_binds();
    check_mounts();
    check_volumes_from();
    check_devices();
    check_caps();
    check_namespaces();
    check_security_opts();
    return std::move(violations_);
  }

 private:
  void refuse(std::string setting, std::string value, std::string opens) {
    violations_.push_back({"HostConfig." + std::move(setting), std::move(value), std::move(opens)});
  }

  // The field as an array, or null when it is absent or null; anything else is refused.
  const json* array_field(const char* key) {
    auto found = host_.find(key);
    if (found == host_.end() || found->is_null()) return nullptr;
    if (found->is_array()) return &*found;
    refuse(key, found->dump(), "");
    return nullptr;
  }

  void check_privileged() {
    auto found = host_.find("Privileged");
    if (found == host_.end() || found->is_null() || *found == false) return;
    if (found->is_boolean() && policy_.allow_privileged) return;
    refuse("Privileged", found->dump(), found->is_boolean() ? "--allow privileged" : "");
  }

  void check_host_path(const char* setting, const std::string& source, const std::string& shown) {
    if (bind_allowed(source)) return;
    refuse(setting, shown, "--allow-bind " + std::filesystem::path(source).lexically_normal().string());
  }

  bool bind_allowed(const std::string& source) const {
    std::filesystem::path lexical = std::filesystem::path(source).lexically_normal();
    std::error_code ec;
    std::filesystem::path resolved = std::filesystem::weakly_canonical(lexical, ec);  // a symlink may lead out
    if (ec) return false;
    auto inside = [](const std::filesystem::path& path, const std::string& prefix) {
      std::filesystem::path relative = path.lexically_relative(prefix);
      return !relative.empty() && *relative.begin() != "..";
    };
    return std::any_of(policy_.bind_prefixes.begin(), policy_.bind_prefixes.end(), [&](const std::string& prefix) {
      return inside(lexical, prefix) && inside(resolved, prefix);
    });
  }

  // Each string of an array field; an element of another type is refused.
  template <class Check>
  void each_string(const char* key, Check check) {
    const json* items = array_field(key);
    if (items == nullptr) return;
    for (const json& item : *items) {
      if (item.is_string()) check(item.get<std::string>());
      else refuse(key, item.dump(), "");
    }
  }

  void check_binds() {
    each_string("Binds", [&](const std::string& text) {
      std::string source = text.substr(0, text.find(':'));
      if (source.starts_with('/')) check_host_path("Binds", source, "`" + text + "`");
      else if (source.find('/') != std::string::npos) refuse("Binds", "`" + text + "`", "");
    });
  }

  void check_mounts() {
    const json* mounts = array_field("Mounts");
    if (mounts == nullptr) return;
    for (const json& mount : *mounts) {
      std::string type = mount.is_object() && mount.value("Type", json()).is_string() ? mount["Type"].get<std::string>() : "";
      std::string source = mount.is_object() && mount.value("Source", json()).is_string() ? mount["Source"].get<std::string>() : "";
      if (type == "bind" && source.starts_with('/')) check_host_path("Mounts", source, "a bind of `" + source + "`");
      else if (type == "volume" && !has_driver_config(mount)) continue;
      else if (type != "tmpfs") refuse("Mounts", mount.dump(), "");
    }
  }

  // A volume's driver options can bind any host directory (local driver, o=bind).
  static bool has_driver_config(const json& mount) {
    auto options = mount.find("VolumeOptions");
    if (options == mount.end() || options->is_null()) return false;
    if (!options->is_object()) return true;
    auto driver = options->find("DriverConfig");
    return driver != options->end() && !driver->is_null() && !driver->empty();
  }

  void check_volumes_from() {
    const json* from = array_field("VolumesFrom");
    if (from != nullptr && !from->empty()) refuse("VolumesFrom", from->dump(), "");
  }

  void check_devices() {
    if (policy_.allow_devices) return;
    for (const char* key : {"Devices", "DeviceRequests", "DeviceCgroupRules"}) {
      const json* devices = array_field(key);
      if (devices != nullptr && !devices->empty()) refuse(key, devices->dump(), "--allow devices");
    }
  }

  void check_caps() {
    each_string("CapAdd", [&](const std::string& cap) {
      std::string name = normalized_cap(cap);
      bool allowed = std::find(kDefaultCaps.begin(), kDefaultCaps.end(), name) != kDefaultCaps.end() ||
                     std::find(policy_.extra_caps.begin(), policy_.extra_caps.end(), name) != policy_.extra_caps.end();
      if (!allowed) refuse("CapAdd", "`" + cap + "`", "--allow cap:" + name);
    });
  }

  void check_namespaces() {
    if (policy_.allow_host_namespaces) return;
    for (const char* key : kNamespaceModes) {
      auto found = host_.find(key);
      if (found == host_.end() || found->is_null()) continue;
      std::string mode = found->is_string() ? found->get<std::string>() : "";
      if (!found->is_string() || docker::shares_a_namespace(mode))
        refuse(key, found->dump(), found->is_string() ? "--allow host-namespaces" : "");
    }
  }

  void check_security_opts() {
    each_string("SecurityOpt", [&](const std::string& option) {
      bool harmless = option == "no-new-privileges" || option == "no-new-privileges:true" ||
                      option == "no-new-privileges=true";
      if (!harmless && !policy_.allow_unconfined)
        refuse("SecurityOpt", "`" + option.substr(0, 80) + "`", "--allow unconfined");
    });
  }

  const json& host_;
  const CreatePolicy& policy_;
  std::vector<PolicyViolation> violations_;
};

std::string describe(const PolicyViolation& violation) {
  return "`" + violation.setting + "` " + violation.value +
         (violation.opens.empty() ? " (no serve option opens it)" : " (opened by `dockmig serve " + violation.opens + "`)");
}

}  // namespace

Status allow(CreatePolicy& policy, const std::string& word) {
  if (word == "privileged") policy.allow_privileged = true;
  else if (word == "devices") policy.allow_devices = true;
  else if (word == "host-namespaces") policy.allow_host_namespaces = true;
  else if (word == "unconfined") policy.allow_unconfined = true;
  else if (word.starts_with("cap:") && word.size() > 4) policy.extra_caps.push_back(normalized_cap(word.substr(4)));
  else
    return make_error(ErrorCode::InvalidInput, "--allow `" + word + "` is not a setting a destination can open",
                      "give privileged, devices, host-namespaces, unconfined or cap:NAME (e.g. cap:NET_ADMIN)");
  return {};
}

Status allow_bind(CreatePolicy& policy, const std::string& path) {
  std::filesystem::path given(path);
  bool climbs = std::any_of(given.begin(), given.end(), [](const auto& part) { return part == ".."; });
  std::filesystem::path normal = given.lexically_normal();
  if (!normal.is_absolute() || climbs)
    return make_error(ErrorCode::InvalidInput, "--allow-bind `" + path + "` is not an absolute path without `..`",
                      "give the host directory that bind mounts may come from, e.g. --allow-bind /srv/data");
  std::string text = normal.string();
  if (text.size() > 1 && text.ends_with('/')) text.pop_back();
  policy.bind_prefixes.push_back(text);
  return {};
}

std::vector<PolicyViolation> check_create(const json& create, const CreatePolicy& policy) {
  if (!create.is_object()) return {{"create", "is not an object", ""}};
  auto host = create.find("HostConfig");
  if (host == create.end() || host->is_null()) return {};
  if (!host->is_object()) return {{"HostConfig", "is not an object", ""}};
  return Checker(*host, policy).run();
}

Status refuse_violations(const std::vector<PolicyViolation>& violations) {
  if (violations.empty()) return {};
  std::string listed;
  for (const PolicyViolation& violation : violations) listed += (listed.empty() ? "" : "; ") + describe(violation);
  return make_error(ErrorCode::InvalidInput, "the destination's policy refuses to create this container: " + listed,
                    "run the destination's agent with the options named, if it may create such containers "
                    "(docs/protocol.md, \"What a destination creates\")");
}

}  // namespace dockmig::migrate
