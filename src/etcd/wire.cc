// The gateway speaks protobuf's JSON mapping: keys and values are base64 strings, 64-bit
// numbers are decimal strings, and fields at their zero value are left out (a failed
// transaction has no "succeeded", an expired lease's keep-alive no "TTL").
#include "etcd/wire.h"

#include <array>

namespace dockmig::etcd {
namespace {

using nlohmann::json;

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int sextet_of(char c) {
  size_t at = kAlphabet.find(c);
  return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

// A 64-bit field: a decimal string on the wire (a number is taken too); absent means 0.
Result<int64_t> int64_field(const json& object, const char* name) {
  auto found = object.find(name);
  if (found == object.end()) return int64_t{0};
  if (found->is_number_integer()) return found->get<int64_t>();
  if (found->is_string()) {
    const std::string& text = found->get_ref<const std::string&>();
    try {
      size_t used = 0;
      int64_t number = std::stoll(text, &used);
      if (used == text.size()) return number;
    } catch (const std::exception&) {
    }
  }
  return make_error(ErrorCode::ToolFailed, std::string("etcd answered a field `") + name + "` that is not a number: " +
                                               found->dump());
}

Result<KeyValue> parse_key_value(const json& entry) {
  KeyValue kv;
  Result<std::string> key = base64_decode(entry.value("key", ""));
  Result<std::string> value = base64_decode(entry.value("value", ""));
  if (!key) return std::move(key.error());
  if (!value) return std::move(value.error());
  kv.key = std::move(*key);
  kv.value = std::move(*value);
  for (auto [name, field] : std::array<std::pair<const char*, int64_t*>, 4>{
           {{"create_revision", &kv.create_revision}, {"mod_revision", &kv.mod_revision},
            {"version", &kv.version}, {"lease", &kv.lease}}}) {
    Result<int64_t> number = int64_field(entry, name);
    if (!number) return std::move(number.error());
    *field = *number;
  }
  return kv;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t group = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) group |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) group |= static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[(group >> 18) & 63];
    out += kAlphabet[(group >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(group >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[group & 63] : '=';
  }
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  std::string out;
  uint32_t bits = 0;
  int pending = 0;
  size_t padding = 0;
  for (char c : text) {
    if (c == '=') {
      ++padding;
      continue;
    }
    int sextet = sextet_of(c);
    if (sextet < 0 || padding > 0)
      return make_error(ErrorCode::ToolFailed, "etcd answered a key or value that is not base64: `" +
                                                   std::string(text.substr(0, 80)) + "`");
    bits = (bits << 6) | static_cast<uint32_t>(sextet);
    pending += 6;
    if (pending >= 8) {
      pending -= 8;
      out += static_cast<char>((bits >> pending) & 0xff);
    }
  }
  return out;
}

std::string prefix_range_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    unsigned char last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

json put_request(std::string_view key, std::string_view value, LeaseId lease) {
  json body{{"key", base64_encode(key)}, {"value", base64_encode(value)}};
  if (lease != 0) body["lease"] = std::to_string(lease);
  return body;
}

json range_request(std::string_view key, std::string_view range_end, int64_t revision) {
  json body{{"key", base64_encode(key)}};
  if (!range_end.empty()) body["range_end"] = base64_encode(range_end);
  if (revision > 0) body["revision"] = std::to_string(revision);
  return body;
}

RevisionRefusal revision_refusal(std::string_view etcd_message) {
  // mvcc's ErrCompacted and ErrFutureRev, as the gateway passes them on.
  if (etcd_message.find("required revision has been compacted") != std::string_view::npos)
    return RevisionRefusal::Compacted;
  if (etcd_message.find("required revision is a future revision") != std::string_view::npos)
    return RevisionRefusal::Future;
  return RevisionRefusal::Other;
}

json swap_request(std::string_view key, int64_t expected_mod_revision, std::string_view value, LeaseId lease) {
  json compare{{"target", "MOD"}, {"result", "EQUAL"}, {"key", base64_encode(key)},
               {"mod_revision", std::to_string(expected_mod_revision)}};
  return json{{"compare", json::array({compare})},
              {"success", json::array({json{{"request_put", put_request(key, value, lease)}}})},
              {"failure", json::array({json{{"request_range", range_request(key)}}})}};
}

Result<std::vector<KeyValue>> parse_range(const json& answer) {
  std::vector<KeyValue> found;
  auto kvs = answer.find("kvs");
  if (kvs == answer.end()) return found;
  if (!kvs->is_array()) return make_error(ErrorCode::ToolFailed, "etcd answered a range whose kvs is not a list");
  for (const json& entry : *kvs) {
    Result<KeyValue> kv = parse_key_value(entry);
    if (!kv) return std::move(kv.error());
    found.push_back(std::move(*kv));
  }
  return found;
}

Result<RangeAnswer> parse_range_at(const json& answer) {
  Result<std::vector<KeyValue>> kvs = parse_range(answer);
  if (!kvs) return std::move(kvs.error());
  Result<int64_t> revision = int64_field(answer.value("header", json::object()), "revision");
  if (!revision) return std::move(revision.error());
  return RangeAnswer{std::move(*kvs), *revision};
}

Result<Lease> parse_lease_grant(const json& answer) {
  Result<int64_t> id = int64_field(answer, "ID");
  Result<int64_t> ttl = int64_field(answer, "TTL");
  if (!id) return std::move(id.error());
  if (!ttl) return std::move(ttl.error());
  if (*id == 0) return make_error(ErrorCode::ToolFailed, "etcd granted a lease without an ID: " + answer.dump());
  return Lease{*id, std::chrono::seconds(*ttl)};
}

Result<std::chrono::seconds> parse_keep_alive(const json& answer, LeaseId lease) {
  const json& result = answer.contains("result") ? answer["result"] : answer;
  Result<int64_t> ttl = int64_field(result, "TTL");
  if (!ttl) return std::move(ttl.error());
  if (*ttl <= 0)
    return make_error(ErrorCode::NotFound, "etcd lease " + std::to_string(lease) + " has expired or was revoked");
  return std::chrono::seconds(*ttl);
}

Result<SwapOutcome> parse_swap(const json& answer) {
  SwapOutcome outcome;
  outcome.succeeded = answer.value("succeeded", false);
  Result<int64_t> revision = int64_field(answer.value("header", json::object()), "revision");
  if (!revision) return std::move(revision.error());
  outcome.revision = *revision;
  if (outcome.succeeded) return outcome;
  for (const json& response : answer.value("responses", json::array())) {
    if (!response.contains("response_range")) continue;
    Result<std::vector<KeyValue>> current = parse_range(response["response_range"]);
    if (!current) return std::move(current.error());
    if (!current->empty()) outcome.current = std::move(current->front());
  }
  return outcome;
}

json watch_request(std::string_view prefix, int64_t start_revision) {
  json create{{"key", base64_encode(prefix)}, {"range_end", base64_encode(prefix_range_end(prefix))}, {"prev_kv", true}};
  if (start_revision != 0) create["start_revision"] = std::to_string(start_revision);
  return json{{"create_request", create}};
}

Result<WatchMessage> parse_watch_message(const json& message) {
  const json& result = message.contains("result") ? message["result"] : message;
  WatchMessage parsed;
  Result<int64_t> revision = int64_field(result.value("header", json::object()), "revision");
  Result<int64_t> compacted = int64_field(result, "compact_revision");
  if (!revision) return std::move(revision.error());
  if (!compacted) return std::move(compacted.error());
  parsed.revision = *revision;
  parsed.compact_revision = *compacted;
  parsed.created = result.value("created", false);
  parsed.canceled = result.value("canceled", false);
  parsed.cancel_reason = result.value("cancel_reason", std::string());
  for (const json& entry : result.value("events", json::array())) {
    WatchEvent event;
    event.deleted = entry.value("type", "PUT") == "DELETE";
    Result<KeyValue> kv = parse_key_value(entry.value("kv", json::object()));
    if (!kv) return std::move(kv.error());
    event.kv = std::move(*kv);
    if (entry.contains("prev_kv")) {
      Result<KeyValue> previous = parse_key_value(entry["prev_kv"]);
      if (!previous) return std::move(previous.error());
      event.previous = std::move(*previous);
    }
    parsed.events.push_back(std::move(event));
  }
  return parsed;
}

}  // namespace dockmig::etcd
