// Typed field reads of peer messages (peer_message.h). Values a field may not have are
// reported with the value itself when it is short, so an operator reading the agent's log
// sees what the peer sent.
#include "migrate/peer_message.h"

#include "base/json_fields.h"

namespace dockmig::migrate {
namespace {

using nlohmann::json;

/// "a number (12)", "an object", "null".
std::string described(const json& value) {
  if (value.is_null()) return "null";
  std::string kind = value.is_object() || value.is_array() ? std::string("an ") + value.type_name()
                                                            : std::string("a ") + value.type_name();
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  return text.size() <= 40 ? kind + " (" + text + ")" : kind;
}

std::string whole_number_up_to(uint64_t max) {
  if (max == std::numeric_limits<uint64_t>::max()) return "a whole number, 0 or more";
  return "a whole number from 0 to " + std::to_string(max);
}

std::string name_of(const json& message) {
  std::string type = message_type(message);
  return type.empty() ? "a message" : "the `" + type + "` message";
}

}  // namespace

Status all_strings(const json& object, const std::string& what) {
  for (const auto& [key, value] : object.items())
    if (!value.is_string())
      return make_error(ErrorCode::InvalidInput, "protocol: " + what + " `" + key.substr(0, 80) + "` is not a string");
  return {};
}

std::string message_type(const json& message) {
  return string_field(message, "type");
}

PeerMessage::PeerMessage(const json& message) : PeerMessage(message, name_of(message)) {}

PeerMessage::PeerMessage(const json& object, std::string what) : object_(object), what_(std::move(what)) {
  if (!object_.is_object()) note(what_ + " is " + described(object_) + "; expected an object");
}

void PeerMessage::note(std::string problem) {
  if (status_) status_ = make_error(ErrorCode::InvalidInput, "protocol: " + std::move(problem));
}

const json* PeerMessage::find(std::string_view key, bool required, bool (*is_expected)(const json&),
                              std::string_view expected) {
  if (!object_.is_object()) return nullptr;
  auto found = object_.find(key);
  if (found == object_.end()) {
    if (required) note(what_ + " lacks `" + std::string(key) + "` (" + std::string(expected) + ")");
    return nullptr;
  }
  if (is_expected(*found)) return &*found;
  note("`" + std::string(key) + "` of " + what_ + " is " + described(*found) + "; expected " +
       std::string(expected));
  return nullptr;
}

std::string PeerMessage::type() { return string("type"); }

std::string PeerMessage::string(std::string_view key) {
  const json* field = find(key, true, [](const json& v) { return v.is_string(); }, "a string");
  return field ? field->get<std::string>() : "";
}

std::string PeerMessage::string_or(std::string_view key, std::string fallback) {
  const json* field = find(key, false, [](const json& v) { return v.is_string(); }, "a string");
  return field ? field->get<std::string>() : fallback;
}

bool PeerMessage::boolean_or(std::string_view key, bool fallback) {
  const json* field = find(key, false, [](const json& v) { return v.is_boolean(); }, "true or false");
  return field ? field->get<bool>() : fallback;
}

uint64_t PeerMessage::count(std::string_view key, uint64_t max) {
  std::string expected = whole_number_up_to(max);
  const json* field = find(
      key, true, [](const json& v) { return v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0); },
      expected);
  if (field == nullptr) return 0;
  if (field->get<uint64_t>() <= max) return field->get<uint64_t>();
  note("`" + std::string(key) + "` of " + what_ + " is " + field->dump() + "; expected " + expected);
  return 0;
}

uint64_t PeerMessage::count_or(std::string_view key, uint64_t fallback) {
  if (object_.is_object() && !object_.contains(key)) return fallback;
  return count(key);
}

int64_t PeerMessage::integer(std::string_view key) {
  const json* field = find(key, true, [](const json& v) { return v.is_number_integer(); }, "a whole number");
  if (field == nullptr) return 0;
  if (field->is_number_unsigned() && field->get<uint64_t>() > uint64_t{std::numeric_limits<int64_t>::max()}) {
    note("`" + std::string(key) + "` of " + what_ + " is " + field->dump() + "; expected a 64-bit whole number");
    return 0;
  }
  return field->get<int64_t>();
}

const json& PeerMessage::object(std::string_view key) {
  static const json kEmpty = json::object();
  const json* field = find(key, true, [](const json& v) { return v.is_object(); }, "an object");
  return field ? *field : kEmpty;
}

const json& PeerMessage::object_or_empty(std::string_view key) {
  static const json kEmpty = json::object();
  const json* field = find(key, false, [](const json& v) { return v.is_object(); }, "an object");
  return field ? *field : kEmpty;
}

const json& PeerMessage::list_or_empty(std::string_view key) {
  static const json kEmpty = json::array();
  const json* field = find(key, false, [](const json& v) { return v.is_array(); }, "a list");
  return field ? *field : kEmpty;
}

std::vector<std::string> PeerMessage::strings_or_empty(std::string_view key) {
  std::vector<std::string> strings;
  const json& list = list_or_empty(key);
  for (size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_string()) {
      note("`" + std::string(key) + "[" + std::to_string(i) + "]` of " + what_ + " is " + described(list[i]) +
           "; expected a string");
      return {};
    }
    strings.push_back(list[i].get<std::string>());
  }
  return strings;
}

double seconds_or_zero(const nlohmann::json& object, const char* key) {
  auto found = object.find(key);
  return found != object.end() && found->is_number() ? found->get<double>() : 0.0;
}

uint64_t count_or_zero(const nlohmann::json& object, const char* key) {
  auto found = object.find(key);
  return found != object.end() && found->is_number_unsigned() ? found->get<uint64_t>() : 0;
}

}  // namespace dockmig::migrate
