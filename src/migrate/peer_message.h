// Typed reads of the messages a peer agent sends. A peer may be anyone who reaches the
// port, so no field is trusted to have the type the protocol gives it: nlohmann's own
// accessors would throw on a number where a string belongs, and a throw on a session
// thread would end the whole agent.
#pragma once

#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dockmig/result.h"

namespace dockmig::migrate {

/// The fields of one received message (or of an object inside one), read with their types
/// checked. The first field that is missing (when required) or has another type is kept
/// as a protocol error naming the message, the field and what was expected, and that read
/// returns an empty value; a handler reads all its fields, then checks status() once:
///
///   PeerMessage prepare(message);
///   std::string id = prepare.string("migration");
///   bool warm = prepare.boolean_or("warm", false);
///   if (Status read = prepare.status(); !read) return read;
class PeerMessage {
 public:
  /// Named after its own "type" in errors ("the `prepare` message"). `message` must
  /// outlive this object.
  explicit PeerMessage(const nlohmann::json& message);
  /// Named `what` in errors, e.g. "images[2] of the `memory` message".
  PeerMessage(const nlohmann::json& object, std::string what);
  PeerMessage(nlohmann::json&&) = delete;  // it would outlive the message
  PeerMessage(nlohmann::json&&, std::string) = delete;

  /// The message's "type", or "" when it has none (status() then says so).
  std::string type();

  std::string string(std::string_view key);
  std::string string_or(std::string_view key, std::string fallback);
  bool boolean_or(std::string_view key, bool fallback);
  /// A whole number from 0 to `max`.
  uint64_t count(std::string_view key, uint64_t max = std::numeric_limits<uint64_t>::max());
  uint64_t count_or(std::string_view key, uint64_t fallback);
  int64_t integer(std::string_view key);
  const nlohmann::json& object(std::string_view key);
  /// An object (empty when absent).
  const nlohmann::json& object_or_empty(std::string_view key);
  /// A list (empty when absent); its elements are not checked.
  const nlohmann::json& list_or_empty(std::string_view key);
  /// A list of strings (empty when absent).
  std::vector<std::string> strings_or_empty(std::string_view key);

  /// The first field that did not read, as an InvalidInput error; success otherwise.
  Status status() const { return status_; }
  const std::string& what() const { return what_; }

 private:
  /// The field, when present and of the type `is_expected` accepts; else null (and
  /// status() notes it when `required` or when it has another type).
  const nlohmann::json* find(std::string_view key, bool required, bool (*is_expected)(const nlohmann::json&),
                             std::string_view expected);
  void note(std::string problem);

  const nlohmann::json& object_;
  std::string what_;
  Status status_;
};

/// A message's "type" when it is a string, else "" (for dispatch; PeerMessage::type()
/// also reports what was wrong).
std::string message_type(const nlohmann::json& message);

/// The list `key` of `message` (empty when absent), each element read by
/// `read_one(element, index)`: at most `most` of them, no `name_of(element)` twice. `what`
/// names the elements in errors ("networks", "attached volumes").
template <class T, class ReadOne, class NameOf>
Result<std::vector<T>> read_named_list(PeerMessage& message, std::string_view key, size_t most,
                                       const std::string& what, ReadOne read_one, NameOf name_of) {
  const nlohmann::json& list = message.list_or_empty(key);
  if (Status read = message.status(); !read) return std::move(read.error());
  if (list.size() > most)
    return make_error(ErrorCode::InvalidInput, "protocol: " + message.what() + " lists " +
                                                   std::to_string(list.size()) + " " + what + "; at most " +
                                                   std::to_string(most));
  std::vector<T> elements;
  std::set<std::string> names;
  for (size_t i = 0; i < list.size(); ++i) {
    Result<T> element = read_one(list[i], i);
    if (!element) return std::move(element.error());
    if (!names.insert(name_of(*element)).second)
      return make_error(ErrorCode::InvalidInput, "protocol: `" + name_of(*element) + "` is listed twice in the " + what +
                                                     " of " + message.what());
    elements.push_back(std::move(*element));
  }
  return elements;
}

/// A protocol error naming the first key of `object` whose value is not a string, e.g.
/// "protocol: label of volume data `tier` is not a string" for `what` "label of volume data".
Status all_strings(const nlohmann::json& object, const std::string& what);

/// For the report's figures only: a peer's wrong type costs a figure, not the migration.
double seconds_or_zero(const nlohmann::json& object, const char* key);
uint64_t count_or_zero(const nlohmann::json& object, const char* key);

}  // namespace dockmig::migrate
