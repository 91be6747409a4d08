// Bearer tokens as the auth file stores them: SHA-256 digests, never the tokens themselves.
//
// Tokens are generated (`openssl rand -hex 32`: 256 random bits), not chosen by people, so a
// single unsalted SHA-256 is enough: nobody can search a 2^256 space from a leaked digest, which
// is what salts and slow hashes (bcrypt, Argon2) protect low-entropy passwords against. A fast
// hash also keeps authentication cheap for every call.
//
// Thread safety: free functions without shared state; safe from any thread.
#ifndef RINGCAST_SERVER_SECURITY_TOKEN_HASH_H_
#define RINGCAST_SERVER_SECURITY_TOKEN_HASH_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ringcast::server::security {

inline constexpr std::size_t kTokenDigestBytes = 32;  // SHA-256
using TokenDigest = std::array<uint8_t, kTokenDigestBytes>;

// SHA-256 of `token` (OpenSSL's EVP). INTERNAL only if libcrypto fails (out of memory, a broken
// provider configuration).
absl::StatusOr<TokenDigest> HashToken(absl::string_view token);

// HashToken as the auth file writes it: 64 lowercase hex characters. For a `hash-token` command.
absl::StatusOr<std::string> HashTokenHex(absl::string_view token);

// The digest `hex` spells (64 hex characters, either case); nullopt if it is not one.
std::optional<TokenDigest> ParseTokenDigestHex(absl::string_view hex);

// 64 lowercase hex characters.
std::string TokenDigestHex(const TokenDigest& digest);

// Compares in time independent of where the digests differ (CRYPTO_memcmp).
[[nodiscard]] bool DigestsEqual(const TokenDigest& a, const TokenDigest& b) noexcept;

}  // namespace ringcast::server::security

#endif  // RINGCAST_SERVER_SECURITY_TOKEN_HASH_H_
