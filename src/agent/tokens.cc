// Token file parsing and lookup. A presented token is hashed and compared with every
// stored digest in constant time (CRYPTO_memcmp, no early exit), so neither timing nor
// the order of the file tells an attacker how close a guess was.
#include "agent/tokens.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cctype>
#include <fstream>

namespace dockmig::agent {
namespace {

constexpr size_t kMaxFileBytes = 1 << 20;
constexpr size_t kMaxNameLength = 64;

std::array<uint8_t, 32> sha256(std::string_view text) {
  std::array<uint8_t, 32> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
  return digest;
}

bool valid_token(std::string_view token) {
  if (token.size() < kMinTokenLength || token.size() > kMaxTokenLength) return false;
  for (char c : token)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' && c != '@') return false;
  return true;
}

std::vector<std::string_view> fields_of(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t at = 0;
  while (at < line.size()) {
    while (at < line.size() && (line[at] == ' ' || line[at] == '\t')) ++at;
    size_t end = at;
    while (end < line.size() && line[end] != ' ' && line[end] != '\t') ++end;
    if (end > at) fields.push_back(line.substr(at, end - at));
    at = end;
  }
  return fields;
}

}  // namespace

Result<std::vector<TokenEntry>> parse_token_file(std::string_view text, const std::string& origin) {
  std::vector<TokenEntry> entries;
  std::vector<size_t> lines_of;
  size_t number = 0;
  auto bad = [&](const std::string& why) {
    return make_error(ErrorCode::InvalidInput, "token file `" + origin + "`, line " + std::to_string(number) + ": " + why,
                      "write one token per line, `TOKEN` or `NAME TOKEN`; tokens are 16 to 512 visible "
                      "characters, e.g. from `openssl rand -hex 32`");
  };
  while (!text.empty()) {
    ++number;
    size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::vector<std::string_view> fields = fields_of(line);
    if (fields.empty() || fields[0].front() == '#') continue;
    if (fields.size() > 2) return bad("expected `TOKEN` or `NAME TOKEN`, found " + std::to_string(fields.size()) + " fields");
    std::string name = fields.size() == 2 ? std::string(fields[0]) : "token-line-" + std::to_string(number);
    std::string_view token = fields.back();
    if (!valid_name(name)) return bad("the name is not 1 to 64 letters, digits, `-`, `_`, `.` or `@`");
    if (!valid_token(token)) return bad("the token is not 16 to 512 visible characters");
    TokenEntry entry{name, sha256(token)};
    for (size_t i = 0; i < entries.size(); ++i) {
      if (entries[i].digest == entry.digest) return bad("the same token as line " + std::to_string(lines_of[i]));
      if (entries[i].name == entry.name) return bad("the name `" + name + "` is also on line " + std::to_string(lines_of[i]));
    }
    entries.push_back(std::move(entry));
    lines_of.push_back(number);
  }
  return entries;
}

Result<std::unique_ptr<TokenStore>> TokenStore::open(const std::string& path) {
  std::unique_ptr<TokenStore> store(new TokenStore(path, {}));
  Status loaded = store->reload();
  if (!loaded) return std::move(loaded.error());
  return store;
}

Status TokenStore::reload() {
  std::ifstream file(path_, std::ios::binary);
  if (!file)
    return make_error(ErrorCode::InvalidInput, "cannot read token file `" + path_ + "`",
                      "give --tokens a readable file with one token per line (mode 0600)");
  std::string text(kMaxFileBytes + 1, '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(file.gcount()));
  if (text.size() > kMaxFileBytes)
    return make_error(ErrorCode::InvalidInput, "token file `" + path_ + "` is larger than 1 MiB");
  Result<std::vector<TokenEntry>> entries = parse_token_file(text, path_);
  if (!entries) return std::move(entries.error());
  std::lock_guard lock(mutex_);
  entries_ = std::move(*entries);
  return {};
}

std::optional<std::string> TokenStore::find(std::string_view token) const {
  std::array<uint8_t, 32> digest = sha256(token);
  std::lock_guard lock(mutex_);
  const TokenEntry* match = nullptr;
  for (const TokenEntry& entry : entries_) {
    bool same = CRYPTO_memcmp(entry.digest.data(), digest.data(), digest.size()) == 0;
    if (same) match = &entry;
  }
  if (match == nullptr) return std::nullopt;
  return match->name;
}

size_t TokenStore::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::optional<std::string_view> bearer_token(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) return std::nullopt;
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty() || token.find(' ') != std::string_view::npos) return std::nullopt;
  return token;
}

}  // namespace dockmig::agent
