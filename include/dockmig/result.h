// Result<T> and Error: how every dockmig module reports failure.
// GCC 12 has <expected> only under -std=c++2b, so this copies the small part of the
// std::expected surface we use; swap it for std::expected when the project moves on.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace dockmig {

enum class ErrorCode {
  InvalidInput,  // the user asked for something malformed or impossible
  NotFound,
  Unsupported,   // this host, kernel or container lacks a needed capability
  ToolFailed,    // an external program (criu, dockerd) said no
  Io,
  Network,
  Conflict,
  Timeout,
  Interrupted,
  Internal,
};

std::string_view to_string(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::Internal;
  std::string message;  // "checkpointing web1: criu dump failed (exit 1)"
  std::string hint;     // what the user should do next
  std::string detail;   // e.g. the error lines of a CRIU log

  /// Prefixes context: "context: message".
  Error wrap(std::string_view context) &&;
  Error with_hint(std::string hint_text) &&;
  /// One or more lines a person can read: message, then hint and detail if any.
  std::string describe() const;
};

inline Error make_error(ErrorCode code, std::string message, std::string hint = {}) {
  return Error{code, std::move(message), std::move(hint), {}};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}

  bool has_value() const { return state_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  Error& error() & { return std::get<1>(state_); }
  const Error& error() const& { return std::get<1>(state_); }
  Error&& error() && { return std::get<1>(std::move(state_)); }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}

  bool has_value() const { return !failed_; }
  explicit operator bool() const { return !failed_; }
  Error& error() & { return error_; }
  const Error& error() const& { return error_; }
  Error&& error() && { return std::move(error_); }

  /// Drops an error on purpose; the reason makes the choice greppable.
  void ignore(std::string_view /*reason*/) const {}

 private:
  Error error_;
  bool failed_ = false;
};

using Status = Result<void>;

}  // namespace dockmig
