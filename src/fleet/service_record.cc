#include "fleet/service_record.h"

#include <nlohmann/json.hpp>

namespace dockmig::fleet {

std::string service_key(std::string_view service) { return std::string(kServicesPrefix) + std::string(service); }

std::string encode(const ServiceRecord& record) {
  return nlohmann::json{{"host", record.host}, {"migration", record.migration}, {"time", record.time}}.dump();
}

Result<ServiceRecord> decode_service_record(std::string_view text) {
  nlohmann::json object = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!object.is_object()) return make_error(ErrorCode::InvalidInput, "an ownership record is not a JSON object");
  auto host = object.find("host");
  if (host == object.end() || !host->is_string() || host->get<std::string>().empty())
    return make_error(ErrorCode::InvalidInput, "an ownership record names no host");
  ServiceRecord record;
  record.host = host->get<std::string>();
  if (auto migration = object.find("migration"); migration != object.end() && migration->is_string())
    record.migration = migration->get<std::string>();
  if (auto time = object.find("time"); time != object.end() && time->is_string()) record.time = time->get<std::string>();
  return record;
}

ClaimDecision decide_claim(const std::optional<ServiceRecord>& record, std::string_view source) {
  if (!record) return ClaimDecision::Create;
  return record->host == source ? ClaimDecision::Keep : ClaimDecision::Refuse;
}

bool is_write_of(const ServiceRecord& record, std::string_view host, std::string_view migration) {
  return record.host == host && record.migration == migration;
}

SwapReadBack read_back_swap(const std::optional<ServiceRecord>& record, int64_t mod_revision, int64_t compared,
                            std::string_view host, std::string_view migration) {
  if (record && is_write_of(*record, host, migration) && mod_revision > compared) return SwapReadBack::Ours;
  bool unchanged = record ? mod_revision == compared : compared == 0;
  return unchanged ? SwapReadBack::Unchanged : SwapReadBack::Changed;
}

KeepStep decide_keep(const std::optional<ServiceRecord>& record, int64_t mod_revision, int64_t fenced_past,
                     std::string_view host) {
  if (!record || record->host != host) return KeepStep::Elsewhere;
  return fenced_past > 0 && mod_revision > fenced_past ? KeepStep::Kept : KeepStep::Fence;
}

}  // namespace dockmig::fleet
