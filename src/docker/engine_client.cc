// The Docker Engine API over dockerd's unix socket, through libcurl. Paths are pinned to
// API v1.41 (Docker 20.10), which newer daemons still serve, so one code path fits the
// edge hosts we meet. dockerd reports failures as {"message": …}; that text is passed up
// verbatim because it is usually the most precise thing anyone can say.
#include "docker/engine_client.h"

#include <sys/stat.h>

#include <memory>
#include <optional>

#include "base/curl_handles.h"
#include "docker/daemon_settings.h"
#include "docker/image_reference.h"

namespace dockmig::docker {
namespace {

using nlohmann::json;

ErrorCode code_for_status(long status) {
  switch (status) {
    case 400: return ErrorCode::InvalidInput;
    case 404: return ErrorCode::NotFound;
    case 409: return ErrorCode::Conflict;
    default: return ErrorCode::ToolFailed;
  }
}

std::string daemon_message(const std::string& body) {
  json parsed = json::parse(body, nullptr, false);
  if (parsed.is_object() && parsed.contains("message") && parsed["message"].is_string())
    return parsed["message"].get<std::string>();
  return body.substr(0, 300);
}

// Splits a streamed body into lines and hands each complete JSON line on.
struct LineStream {
  const std::function<void(const json&)>* on_line;
  std::string pending;
  std::string error;

  static size_t write(char* data, size_t size, size_t count, void* self_ptr) {
    auto* self = static_cast<LineStream*>(self_ptr);
    self->pending.append(data, size * count);
    size_t newline;
    while ((newline = self->pending.find('\n')) != std::string::npos) {
      self->consume(self->pending.substr(0, newline));
      self->pending.erase(0, newline + 1);
    }
    return size * count;
  }
  void consume(const std::string& line) {
    json parsed = json::parse(line, nullptr, false);
    if (parsed.is_discarded()) return;
    if (parsed.contains("error") && error.empty()) error = parsed["error"].dump();
    (*on_line)(parsed);
  }
};

}  // namespace

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string EngineClient::default_address() {
  const char* host = std::getenv("DOCKER_HOST");
  if (host != nullptr && std::string_view(host).starts_with("unix://")) return host;
  return "unix:///var/run/docker.sock";
}

Result<EngineClient> EngineClient::open(std::string_view address) {
  std::string path(address);
  if (path.starts_with("unix://")) {
    path.erase(0, 7);
  } else if (path.find("://") != std::string::npos) {
    return make_error(ErrorCode::InvalidInput,
                      "docker address `" + std::string(address) + "` is not a unix socket",
                      "give the daemon's socket as unix:///path/to/docker.sock");
  }
  struct stat st{};
  if (stat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
    return make_error(ErrorCode::NotFound,
                      "no docker daemon socket at `" + path + "`",
                      "start dockerd, or point --docker at its socket (unix:///…/docker.sock)");
  }
  return EngineClient(std::string(address), path);
}

Result<HttpResponse> EngineClient::request(std::string_view method, std::string_view path,
                                           const json* body, std::chrono::seconds timeout,
                                           std::string_view api_version) const {
  base::CurlHandle curl(curl_easy_init());
  if (!curl) return make_error(ErrorCode::Internal, "curl_easy_init failed");
  std::string url = "http://docker/" + std::string(api_version) + std::string(path);
  std::string payload = body ? body->dump() : "";
  HttpResponse response;
  base::CurlHeaders headers(
      curl_slist_append(nullptr, "Content-Type: application/json"));
  curl_easy_setopt(curl.get(), CURLOPT_UNIX_SOCKET_PATH, socket_path_.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_CUSTOMREQUEST, std::string(method).c_str());
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, base::append_to_string);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  if (body) {
    curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, payload.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(payload.size()));
  }
  CURLcode rc = curl_easy_perform(curl.get());
  std::string what = std::string(method) + " " + std::string(path);
  if (rc != CURLE_OK) {
    return make_error(rc == CURLE_OPERATION_TIMEDOUT ? ErrorCode::Timeout : ErrorCode::Network,
                      "docker daemon at " + address_ + ": " + what + ": " +
                          curl_easy_strerror(rc),
                      "check that dockerd is running and this socket is its -H address");
  }
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &response.status);
  if (response.status >= 400) {
    return make_error(code_for_status(response.status),
                      "docker daemon: " + what + ": " + daemon_message(response.body) +
                          " (HTTP " + std::to_string(response.status) + ")");
  }
  return response;
}

Result<json> EngineClient::get_json(std::string_view path, std::string_view api_version) const {
  Result<HttpResponse> response = request("GET", path, nullptr, std::chrono::seconds(120), api_version);
  if (!response) return std::move(response.error());
  json parsed = json::parse(response->body, nullptr, false);
  if (parsed.is_discarded())
    return make_error(ErrorCode::ToolFailed, "docker daemon: GET " + std::string(path) +
                                                 ": response is not JSON");
  return parsed;
}

Status EngineClient::stream_json(std::string_view method, std::string_view path,
                                 const std::function<void(const json&)>& on_line,
                                 std::chrono::seconds timeout) const {
  base::CurlHandle curl(curl_easy_init());
  if (!curl) return make_error(ErrorCode::Internal, "curl_easy_init failed");
  std::string url = "http://docker/" + std::string(kApiVersion) + std::string(path);
  LineStream lines{&on_line, {}, {}};
  curl_easy_setopt(curl.get(), CURLOPT_UNIX_SOCKET_PATH, socket_path_.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_CUSTOMREQUEST, std::string(method).c_str());
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &LineStream::write);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &lines);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  if (method == "POST") curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE, 0L);
  CURLcode rc = curl_easy_perform(curl.get());
  std::string what = std::string(method) + " " + std::string(path);
  if (rc != CURLE_OK)
    return make_error(ErrorCode::Network,
                      "docker daemon at " + address_ + ": " + what + ": " + curl_easy_strerror(rc));
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  if (status >= 400)
    return make_error(code_for_status(status), "docker daemon: " + what + ": " +
                                                   daemon_message(lines.pending) + " (HTTP " +
                                                   std::to_string(status) + ")");
  if (!lines.error.empty())
    return make_error(ErrorCode::ToolFailed, "docker daemon: " + what + ": " + lines.error);
  return {};
}

Result<DaemonInfo> EngineClient::info() const {
  Result<json> body = get_json("/info");
  if (!body) return std::move(body.error());
  DaemonInfo info;
  info.server_version = body->value("ServerVersion", "");
  info.storage_driver = body->value("Driver", "");
  info.root_dir = body->value("DockerRootDir", "");
  info.experimental = body->value("ExperimentalBuild", false);
  if (!is_containerd_store(*body)) return info;
  Result<ContainerdStore> store = containerd_store();
  if (!store) return std::move(store.error());
  info.containerd = std::move(*store);
  return info;
}

namespace {

// GET /info's Containerd (API 1.46, Docker 27 and newer), or nullopt when it has none.
std::optional<ContainerdStore> containerd_named_by(const json& info) {
  const json& containerd = info.value("Containerd", json::object());
  std::string address = containerd.is_object() ? containerd.value("Address", "") : "";
  json namespaces = containerd.is_object() ? containerd.value("Namespaces", json::object()) : json::object();
  std::string containers = namespaces.is_object() ? namespaces.value("Containers", "") : "";
  if (address.empty() || containers.empty()) return std::nullopt;
  return ContainerdStore{address, containers};
}

}  // namespace

Result<ContainerdStore> EngineClient::containerd_store() const {
  // API 1.41 leaves Containerd out of /info, and a dockerd older than 27 serves no version
  // that has it (26.1 stops at 1.45): then it is read from the daemon's own settings.
  Result<json> newer = get_json("/info", kContainerdInfoApiVersion);
  if (newer)
    if (std::optional<ContainerdStore> named = containerd_named_by(*newer)) return *named;
  Result<ContainerdStore> from_settings = containerd_of_daemon_at(socket_path_);
  if (from_settings) return from_settings;
  return std::move(from_settings.error())
      .wrap("asking dockerd which containerd holds its image store (GET /" + std::string(kContainerdInfoApiVersion) +
            "/info has no Containerd, so from the daemon's command line and config file)");
}

bool is_containerd_store(const json& info) {
  const json& status = info.value("DriverStatus", json::array());
  if (!status.is_array()) return false;
  for (const json& pair : status)
    if (pair.is_array() && pair.size() == 2 && pair[0] == "driver-type" && pair[1] == "io.containerd.snapshotter.v1")
      return true;
  return false;
}

std::string DaemonInfo::store_name() const {
  if (uses_containerd_store()) return "containerd image store (" + storage_driver + " snapshotter)";
  return storage_driver + " graph driver";
}

Result<json> EngineClient::inspect_container(std::string_view name_or_id) const {
  Result<json> body = get_json("/containers/" + url_encode(name_or_id) + "/json");
  if (!body && body.error().code == ErrorCode::NotFound) {
    return make_error(ErrorCode::NotFound,
                      "no container `" + std::string(name_or_id) + "` on " + address_,
                      "list the containers with `docker ps`");
  }
  return body;
}

Result<json> EngineClient::inspect_image(std::string_view reference) const {
  // dockerd routes /images/{name:.*}/json, so a reference keeps its '/' and ':'.
  for (char c : reference) {
    if (!isalnum(static_cast<unsigned char>(c)) && std::string_view("._-/:@").find(c) == std::string_view::npos)
      return make_error(ErrorCode::InvalidInput, "`" + std::string(reference) + "` is not an image reference");
  }
  return get_json("/images/" + std::string(reference) + "/json");
}

namespace {

std::vector<std::string> container_names(const json& listed) {
  std::vector<std::string> names;
  for (const json& container : listed) {
    for (const json& name : container.value("Names", json::array())) {
      if (!name.is_string()) continue;
      std::string text = name.get<std::string>();
      if (text.starts_with('/')) text.erase(0, 1);
      names.push_back(std::move(text));
    }
  }
  return names;
}

}  // namespace

Result<std::vector<std::string>> EngineClient::running_container_names() const {
  Result<json> listed = get_json("/containers/json");
  if (!listed) return std::move(listed.error()).wrap("listing the running containers");
  return container_names(*listed);
}

Result<std::vector<std::string>> EngineClient::containers_with_volume(std::string_view volume) const {
  json filters = {{"volume", {std::string(volume)}}};
  Result<json> listed = get_json("/containers/json?all=1&filters=" + url_encode(filters.dump()));
  if (!listed) return std::move(listed.error()).wrap("listing the containers that mount volume `" + std::string(volume) + "`");
  return container_names(*listed);
}

Result<std::vector<std::string>> EngineClient::image_digests() const {
  Result<json> listed = get_json("/images/json");
  if (!listed) return std::move(listed.error()).wrap("listing the images");
  std::vector<std::string> digests;
  for (const json& image : *listed) {
    for (const json& digest : image.value("RepoDigests", json::array()))
      if (digest.is_string() && digest.get<std::string>() != "<none>@<none>") digests.push_back(digest.get<std::string>());
  }
  return digests;
}

}  // namespace dockmig::docker

namespace dockmig::docker {

using nlohmann::json;

Result<std::string> EngineClient::create_container(std::string_view name,
                                                   const json& request_body) const {
  Result<HttpResponse> response =
      request("POST", "/containers/create?name=" + url_encode(name), &request_body);
  if (!response) return std::move(response.error()).wrap("creating container `" + std::string(name) + "`");
  json parsed = json::parse(response->body, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("Id"))
    return make_error(ErrorCode::ToolFailed, "docker daemon: create answered without an Id");
  return parsed["Id"].get<std::string>();
}

Status EngineClient::start_container(std::string_view id, std::string_view checkpoint) const {
  std::string path = "/containers/" + url_encode(id) + "/start";
  if (!checkpoint.empty()) path += "?checkpoint=" + url_encode(checkpoint);
  json empty = json::object();
  Result<HttpResponse> response = request("POST", path, &empty);
  if (!response) return std::move(response.error());
  return {};
}

Status EngineClient::create_checkpoint(std::string_view id, std::string_view name, bool exit) const {
  json body = {{"CheckpointID", name}, {"Exit", exit}};
  Result<HttpResponse> response =
      request("POST", "/containers/" + url_encode(id) + "/checkpoints", &body);
  if (!response) return std::move(response.error());
  return {};
}

Status EngineClient::remove_checkpoint(std::string_view id, std::string_view name) const {
  Result<HttpResponse> response =
      request("DELETE", "/containers/" + url_encode(id) + "/checkpoints/" + url_encode(name));
  if (!response) return std::move(response.error());
  return {};
}

Status EngineClient::set_restart_policy(std::string_view id, const nlohmann::json& policy) const {
  json body = {{"RestartPolicy", policy}};
  Result<HttpResponse> response = request("POST", "/containers/" + url_encode(id) + "/update", &body);
  if (!response) return std::move(response.error());
  return {};
}

Status EngineClient::remove_container(std::string_view id, bool force) const {
  std::string path = "/containers/" + url_encode(id) + (force ? "?force=1" : "");
  Result<HttpResponse> response = request("DELETE", path);
  if (!response) return std::move(response.error());
  return {};
}

Result<json> EngineClient::list_running_containers() const { return get_json("/containers/json"); }

Result<json> EngineClient::inspect_volume(std::string_view name) const {
  return get_json("/volumes/" + url_encode(name));
}

Result<json> EngineClient::create_volume(std::string_view name, const json& labels, const json& driver_options) const {
  json body = {{"Name", name},
               {"Driver", "local"},
               {"DriverOpts", driver_options.is_object() ? driver_options : json::object()},
               {"Labels", labels.is_object() ? labels : json::object()}};
  Result<HttpResponse> response = request("POST", "/volumes/create", &body);
  if (!response) return std::move(response.error()).wrap("creating volume `" + std::string(name) + "`");
  json parsed = json::parse(response->body, nullptr, false);
  if (!parsed.is_object()) return make_error(ErrorCode::ToolFailed, "docker daemon: volume create answered no object");
  return parsed;
}

Status EngineClient::remove_volume(std::string_view name) const {
  Result<HttpResponse> response = request("DELETE", "/volumes/" + url_encode(name));
  if (!response) return std::move(response.error());
  return {};
}

Result<json> EngineClient::inspect_network(std::string_view name) const {
  return get_json("/networks/" + url_encode(name));
}

Result<json> EngineClient::list_networks() const { return get_json("/networks"); }

Result<std::string> EngineClient::create_network(const json& body) const {
  std::string name = body.value("Name", std::string());
  Result<HttpResponse> response = request("POST", "/networks/create", &body);
  if (!response) return std::move(response.error()).wrap("creating network `" + name + "`");
  json parsed = json::parse(response->body, nullptr, false);
  if (!parsed.is_object() || !parsed.value("Id", json()).is_string())
    return make_error(ErrorCode::ToolFailed, "docker daemon: network create answered without an Id");
  return parsed["Id"].get<std::string>();
}

Status EngineClient::connect_network(std::string_view network, std::string_view container, const json& endpoint) const {
  json body = {{"Container", container}, {"EndpointConfig", endpoint}};
  Result<HttpResponse> response = request("POST", "/networks/" + url_encode(network) + "/connect", &body);
  if (!response) return std::move(response.error()).wrap("connecting the container to network `" + std::string(network) + "`");
  return {};
}

Status EngineClient::remove_network(std::string_view name) const {
  Result<HttpResponse> response = request("DELETE", "/networks/" + url_encode(name));
  if (!response) return std::move(response.error());
  return {};
}

Result<std::string> pull_path(std::string_view reference) {
  Result<ImageReference> parsed = parse_image_reference(reference);
  if (!parsed) return std::move(parsed.error()).wrap("pulling `" + std::string(reference) + "`");
  // dockerd reads a `tag` that is a digest as one, which is how `docker pull` sends it too.
  return "/images/create?fromImage=" + url_encode(parsed->name()) + "&tag=" + url_encode(parsed->pull_tag());
}

Status EngineClient::pull_image(std::string_view reference,
                                const std::function<void(const json&)>& on_progress) const {
  Result<std::string> path = pull_path(reference);
  if (!path) return std::move(path.error());
  return stream_json("POST", *path, on_progress);
}

Status EngineClient::save_image(std::string_view reference, transfer::ByteSink& sink) const {
  return stream_body("GET", "/images/get?names=" + url_encode(reference), &sink, nullptr);
}

Status EngineClient::load_image(transfer::ByteSource& source) const {
  return stream_body("POST", "/images/load?quiet=1", nullptr, &source);
}

namespace {

struct BodyStreams {
  CURL* curl;
  transfer::ByteSink* download;
  transfer::ByteSource* upload;
  Error failure;
  bool failed = false;
  std::string reply;  // dockerd's own answer when the body is not the data we asked for
  long status = 0;
};

size_t download_chunk(char* data, size_t size, size_t count, void* self_ptr) {
  auto* self = static_cast<BodyStreams*>(self_ptr);
  size_t length = size * count;
  if (self->status == 0) curl_easy_getinfo(self->curl, CURLINFO_RESPONSE_CODE, &self->status);
  if (self->download == nullptr || self->status >= 400) {
    if (self->reply.size() < 65536) self->reply.append(data, length);
    return length;
  }
  Status written = self->download->write({reinterpret_cast<const std::byte*>(data), length});
  if (!written) {
    self->failure = std::move(written.error());
    self->failed = true;
    return 0;
  }
  return length;
}

size_t upload_chunk(char* buffer, size_t size, size_t count, void* self_ptr) {
  auto* self = static_cast<BodyStreams*>(self_ptr);
  Result<size_t> got = self->upload->read({reinterpret_cast<std::byte*>(buffer), size * count});
  if (!got) {
    self->failure = std::move(got.error());
    self->failed = true;
    return CURL_READFUNC_ABORT;
  }
  return *got;
}

}  // namespace

Status EngineClient::stream_body(std::string_view method, std::string_view path,
                                 transfer::ByteSink* download, transfer::ByteSource* upload) const {
  base::CurlHandle curl(curl_easy_init());
  if (!curl) return make_error(ErrorCode::Internal, "curl_easy_init failed");
  std::string url = "http://docker/" + std::string(kApiVersion) + std::string(path);
  BodyStreams streams{curl.get(), download, upload, {}, false, {}, 0};
  base::CurlHeaders headers(
      curl_slist_append(nullptr, "Content-Type: application/x-tar"));
  curl_easy_setopt(curl.get(), CURLOPT_UNIX_SOCKET_PATH, socket_path_.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, download_chunk);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &streams);
  if (upload) {
    curl_easy_setopt(curl.get(), CURLOPT_POST, 1L);
    curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(curl.get(), CURLOPT_READFUNCTION, upload_chunk);
    curl_easy_setopt(curl.get(), CURLOPT_READDATA, &streams);
  } else {
    curl_easy_setopt(curl.get(), CURLOPT_CUSTOMREQUEST, std::string(method).c_str());
  }
  CURLcode rc = curl_easy_perform(curl.get());
  std::string what = std::string(method) + " " + std::string(path);
  if (streams.failed) return std::move(streams.failure).wrap("docker daemon: " + what);
  if (rc != CURLE_OK)
    return make_error(ErrorCode::Network,
                      "docker daemon at " + address_ + ": " + what + ": " + curl_easy_strerror(rc));
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &streams.status);
  if (streams.status >= 400)
    return make_error(code_for_status(streams.status),
                      "docker daemon: " + what + ": " + daemon_message(streams.reply));
  // `docker load` answers 200 and reports a broken archive in its JSON lines.
  if (streams.reply.find("\"errorDetail\"") != std::string::npos ||
      streams.reply.find("\"error\"") != std::string::npos)
    return make_error(ErrorCode::ToolFailed, "docker daemon: " + what + ": " + streams.reply.substr(0, 500));
  if (download) return download->finish();
  return {};
}

}  // namespace dockmig::docker
