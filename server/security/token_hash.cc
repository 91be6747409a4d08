#include "security/token_hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "absl/strings/escaping.h"

namespace ringcast::server::security {
namespace {

int HexValue(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

absl::StatusOr<TokenDigest> HashToken(absl::string_view token) {
  TokenDigest digest;
  unsigned int size = 0;
  if (EVP_Digest(token.data(), token.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1 ||
      size != digest.size()) {
    return absl::InternalError("SHA-256 of a token failed in libcrypto");
  }
  return digest;
}

absl::StatusOr<std::string> HashTokenHex(absl::string_view token) {
  absl::StatusOr<TokenDigest> digest = HashToken(token);
  if (!digest.ok()) return digest.status();
  return TokenDigestHex(*digest);
}

std::optional<TokenDigest> ParseTokenDigestHex(absl::string_view hex) {
  if (hex.size() != 2 * kTokenDigestBytes) return std::nullopt;
  TokenDigest digest;
  for (std::size_t i = 0; i < digest.size(); ++i) {
    const int high = HexValue(hex[2 * i]);
    const int low = HexValue(hex[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    digest[i] = static_cast<uint8_t>(high * 16 + low);
  }
  return digest;
}

std::string TokenDigestHex(const TokenDigest& digest) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

bool DigestsEqual(const TokenDigest& a, const TokenDigest& b) noexcept {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace ringcast::server::security
