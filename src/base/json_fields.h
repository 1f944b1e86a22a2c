#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace dockmig {

// Lenient reads of documents written by others (dockerd's inspect, a peer's message): a
// missing key, or a value of another type, gives the fallback instead of nlohmann's
// type_error, which `json::value` throws for a number where a string was expected.

inline std::string string_field(const nlohmann::json& object, const char* key, const std::string& fallback = "") {
  auto found = object.is_object() ? object.find(key) : object.end();
  return found != object.end() && found->is_string() ? found->get<std::string>() : fallback;
}

inline bool flag_field(const nlohmann::json& object, const char* key) {
  auto found = object.is_object() ? object.find(key) : object.end();
  return found != object.end() && found->is_boolean() && found->get<bool>();
}

// The member `key` when it is an object, else an empty object.
inline const nlohmann::json& object_field(const nlohmann::json& object, const char* key) {
  static const nlohmann::json kEmpty = nlohmann::json::object();
  auto found = object.is_object() ? object.find(key) : object.end();
  return found != object.end() && found->is_object() ? *found : kEmpty;
}

}  // namespace dockmig
