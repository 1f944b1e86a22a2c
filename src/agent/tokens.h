// Bearer tokens of the gateways allowed to call the agent's HTTP API, from a file: one per
// line, `token` or `name token`, `#` comments. Revoking a gateway is editing the file and
// sending the agent SIGHUP. Only SHA-256 digests are kept in memory, and no message or log
// line ever carries a token: errors name the file and the line.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dockmig/result.h"

namespace dockmig::agent {

inline constexpr size_t kMinTokenLength = 16;
inline constexpr size_t kMaxTokenLength = 512;

struct TokenEntry {
  std::string name;                  // who calls: logged, shown in a handoff's `caller`
  std::array<uint8_t, 32> digest{};  // SHA-256 of the token
};

/// Parses a token file's text; `origin` (its path) names it in errors.
Result<std::vector<TokenEntry>> parse_token_file(std::string_view text, const std::string& origin);

/// The tokens in force; reload() swaps them all at once, or keeps the old ones on error.
class TokenStore {
 public:
  /// Reads `path`; an unreadable or malformed file is an error naming the line.
  static Result<std::unique_ptr<TokenStore>> open(const std::string& path);
  /// Holds `entries` with no file behind them (tests).
  explicit TokenStore(std::vector<TokenEntry> entries) : entries_(std::move(entries)) {}

  /// Reads the file again; on error the tokens in force stay.
  Status reload();
  /// The caller's name when `token` is one of the tokens, compared in constant time.
  std::optional<std::string> find(std::string_view token) const;
  size_t size() const;

 private:
  TokenStore(std::string path, std::vector<TokenEntry> entries)
      : path_(std::move(path)), entries_(std::move(entries)) {}
  std::string path_;
  mutable std::mutex mutex_;
  std::vector<TokenEntry> entries_;
};

/// The token of an `Authorization: Bearer TOKEN` header value, else nullopt.
std::optional<std::string_view> bearer_token(std::string_view authorization);

}  // namespace dockmig::agent
