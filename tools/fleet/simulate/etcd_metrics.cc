#include "etcd_metrics.h"

#include <array>
#include <sstream>
#include <string_view>

#include "base/curl_handles.h"

namespace dockmig::fleetsim {
namespace {

constexpr std::array<std::string_view, 11> kGauges = {
    "etcd_network_client_grpc_sent_bytes_total", "etcd_network_client_grpc_received_bytes_total",
    "etcd_debugging_mvcc_keys_total",          "etcd_mvcc_db_total_size_in_bytes",
    "etcd_mvcc_db_total_size_in_use_in_bytes", "etcd_debugging_mvcc_events_total",
    "etcd_mvcc_put_total",                     "etcd_mvcc_txn_total",
    "etcd_mvcc_range_total",                   "etcd_debugging_mvcc_watcher_total",
    "etcd_debugging_mvcc_current_revision",
};

std::string label(std::string_view line, std::string_view name) {
  std::string pattern = std::string(name) + "=\"";
  size_t at = line.find(pattern);
  if (at == std::string_view::npos) return "";
  at += pattern.size();
  return std::string(line.substr(at, line.find('"', at) - at));
}

}  // namespace

Metrics parse_metrics(const std::string& text) {
  Metrics metrics;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    size_t space = line.rfind(' ');
    if (line.empty() || line[0] == '#' || space == std::string::npos) continue;
    std::string_view name(line.data(), std::min(line.find('{'), space));
    double value = std::strtod(line.c_str() + space + 1, nullptr);
    if (name == "grpc_server_started_total") metrics["requests." + label(line, "grpc_method")] += value;
    for (std::string_view gauge : kGauges)
      if (name == gauge) metrics[std::string(gauge)] = value;
  }
  return metrics;
}

Result<Metrics> read_metrics(const std::string& endpoint) {
  base::CurlHandle curl(curl_easy_init());
  if (!curl) return make_error(ErrorCode::Internal, "curl_easy_init failed");
  std::string url = endpoint + "/metrics";
  std::string body;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, base::append_to_string);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  CURLcode rc = curl_easy_perform(curl.get());
  if (rc != CURLE_OK) return make_error(ErrorCode::Network, "reading " + url + ": " + curl_easy_strerror(rc));
  return parse_metrics(body);
}

Metrics difference(const Metrics& after, const Metrics& before) {
  Metrics change;
  for (const auto& [name, value] : after) {
    auto earlier = before.find(name);
    change[name] = value - (earlier == before.end() ? 0.0 : earlier->second);
  }
  return change;
}

}  // namespace dockmig::fleetsim
