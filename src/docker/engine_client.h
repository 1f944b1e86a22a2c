#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dockmig/result.h"
#include "transfer/byte_stream.h"

namespace dockmig::docker {

/// The Engine API version dockmig speaks: Docker 20.10's, served by every newer daemon too.
inline constexpr std::string_view kApiVersion = "v1.41";

/// The containerd a dockerd with the containerd image store keeps its images and
/// containers' snapshots in (GET /info's Containerd, API 1.46 and newer; before that the
/// daemon's own settings, docker/daemon_settings.h).
struct ContainerdStore {
  std::string address;    // its socket, e.g. /run/containerd/containerd.sock
  std::string containers_namespace;  // where dockerd keeps its containers, e.g. moby
};

/// The API version whose GET /info names dockerd's containerd (Docker 27 and newer).
inline constexpr std::string_view kContainerdInfoApiVersion = "v1.46";

struct DaemonInfo {
  std::string server_version;
  std::string storage_driver;  // overlay2; with the containerd image store its snapshotter, e.g. overlayfs
  std::string root_dir;        // DockerRootDir, e.g. /var/lib/docker
  bool experimental = false;
  /// Set when images and writable layers live in containerd (DriverStatus driver-type
  /// io.containerd.snapshotter.v1) rather than in overlay2 graph directories.
  std::optional<ContainerdStore> containerd;

  bool uses_containerd_store() const { return containerd.has_value(); }
  /// "overlay2 graph driver" or "containerd image store (overlayfs snapshotter)".
  std::string store_name() const;
};

/// Whether an /info body's DriverStatus says the containerd image store.
bool is_containerd_store(const nlohmann::json& info);

struct HttpResponse {
  long status = 0;
  std::string body;
};

/// The only code that speaks HTTP to dockerd: the Engine API over its unix socket (libcurl).
class EngineClient {
 public:
  /// `address` is "unix:///path/docker.sock" or a plain socket path.
  static Result<EngineClient> open(std::string_view address);
  /// DOCKER_HOST if set, else the default socket.
  static std::string default_address();

  const std::string& address() const { return address_; }
  /// The unix socket's path (the address without its scheme).
  const std::string& socket_path() const { return socket_path_; }

  Result<DaemonInfo> info() const;
  /// The containerd this dockerd keeps its image store in (only asked of a daemon that
  /// uses the containerd image store).
  Result<ContainerdStore> containerd_store() const;
  Result<nlohmann::json> inspect_container(std::string_view name_or_id) const;
  Result<nlohmann::json> inspect_image(std::string_view reference) const;
  /// The names of the running containers (without Docker's leading '/').
  Result<std::vector<std::string>> running_container_names() const;
  /// Every container, running or not, that mounts `volume`, by name.
  Result<std::vector<std::string>> containers_with_volume(std::string_view volume) const;
  /// The images here by digest, as "repository@sha256:…" (RepoDigests: pulled or pushed ones).
  Result<std::vector<std::string>> image_digests() const;

  /// Creates a container from a create request; returns its id.
  Result<std::string> create_container(std::string_view name, const nlohmann::json& request) const;
  /// Starts a container, from a checkpoint of its own when `checkpoint` is not empty.
  Status start_container(std::string_view id, std::string_view checkpoint = {}) const;
  /// CRIU checkpoint through dockerd; with `exit` the container stops once it is dumped.
  Status create_checkpoint(std::string_view id, std::string_view name, bool exit) const;
  Status remove_checkpoint(std::string_view id, std::string_view name) const;
  Status remove_container(std::string_view id, bool force) const;
  /// POST /containers/{id}/update with only HostConfig.RestartPolicy.
  Status set_restart_policy(std::string_view id, const nlohmann::json& policy) const;
  /// The running containers, as GET /containers/json lists them (with their Mounts).
  Result<nlohmann::json> list_running_containers() const;

  /// GET /volumes/{name}; NotFound when there is none.
  Result<nlohmann::json> inspect_volume(std::string_view name) const;
  /// A volume of the `local` driver with `labels` and `driver_options` (`type`, `device`,
  /// `o`; none by default); returns its inspect.
  Result<nlohmann::json> create_volume(std::string_view name, const nlohmann::json& labels,
                                       const nlohmann::json& driver_options = nlohmann::json::object()) const;
  Status remove_volume(std::string_view name) const;

  /// GET /networks/{name}; NotFound when there is none.
  Result<nlohmann::json> inspect_network(std::string_view name) const;
  /// GET /networks: every network here, without the containers on each.
  Result<nlohmann::json> list_networks() const;
  /// POST /networks/create with `body`; returns the network's id.
  Result<std::string> create_network(const nlohmann::json& body) const;
  /// Puts a created (not yet started) container on a network with `endpoint` settings.
  Status connect_network(std::string_view network, std::string_view container, const nlohmann::json& endpoint) const;
  Status remove_network(std::string_view name) const;
  /// Pulls `reference` from its registry, by its digest when it has one, else its tag (or
  /// "latest"); `on_progress` sees dockerd's JSON lines.
  Status pull_image(std::string_view reference,
                    const std::function<void(const nlohmann::json&)>& on_progress) const;
  /// `docker save` of one image as a tar stream into `sink`.
  Status save_image(std::string_view reference, transfer::ByteSink& sink) const;
  /// `docker load` of a tar stream read from `source`.
  Status load_image(transfer::ByteSource& source) const;

  /// Sends a request; HTTP errors (>= 400) become Errors carrying dockerd's own message.
  Result<HttpResponse> request(std::string_view method, std::string_view path,
                               const nlohmann::json* body = nullptr,
                               std::chrono::seconds timeout = std::chrono::seconds(120),
                               std::string_view api_version = kApiVersion) const;
  Result<nlohmann::json> get_json(std::string_view path, std::string_view api_version = kApiVersion) const;
  /// A request whose response is a stream of JSON lines (pull, push); each line goes to
  /// `on_line` as it arrives. An {"error": …} line fails the call.
  Status stream_json(std::string_view method, std::string_view path,
                     const std::function<void(const nlohmann::json&)>& on_line,
                     std::chrono::seconds timeout = std::chrono::minutes(30)) const;
  /// Streams a response body into `sink`, or a request body from `upload`.
  Status stream_body(std::string_view method, std::string_view path, transfer::ByteSink* download,
                     transfer::ByteSource* upload) const;

 private:
  EngineClient(std::string address, std::string socket_path)
      : address_(std::move(address)), socket_path_(std::move(socket_path)) {}

  std::string address_;
  std::string socket_path_;
};

/// POST /images/create's path and query that pull `reference` (see pull_image).
Result<std::string> pull_path(std::string_view reference);

/// Percent-encodes a query parameter value.
std::string url_encode(std::string_view text);

}  // namespace dockmig::docker
