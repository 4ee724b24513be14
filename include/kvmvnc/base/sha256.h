// SPDX-License-Identifier: GPL-2.0-or-later
// SHA-256, through OpenSSL: uploaded images are checked with it, long image
// names hashed to a stem, and certificates pinned by it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace kvmvnc {

using Sha256Digest = std::array<uint8_t, 32>;

// Incremental SHA-256. Thread-bound.
class Sha256Hasher {
public:
    // Throws std::runtime_error when OpenSSL has no SHA-256.
    Sha256Hasher();
    ~Sha256Hasher();
    Sha256Hasher(const Sha256Hasher &) = delete;
    Sha256Hasher &operator=(const Sha256Hasher &) = delete;

    void update(std::span<const uint8_t> data);
    void update(std::string_view data);
    // The digest of everything given so far; the hasher is used up.
    Sha256Digest finish();

private:
    struct Context;
    std::unique_ptr<Context> context_;
};

Sha256Digest sha256(std::span<const uint8_t> data);
Sha256Digest sha256(std::string_view data);
// The digest of the file at `path`, read to its end; nothing, with `error`
// saying why ("PATH: reason"), when it cannot be read.
std::optional<Sha256Digest> sha256File(const std::string &path, std::string &error);

// 64 lowercase hex digits, as sha256sum prints them.
std::string sha256Hex(const Sha256Digest &digest);
// The digest sha256Hex() wrote; nothing for anything else (upper case too).
std::optional<Sha256Digest> parseSha256Hex(std::string_view text);
// "SHA256:AB:CD:...", as `openssl x509 -fingerprint -sha256` prints a
// certificate's digest, kvmvncd logs its own and kvmvncctl pins a server's.
std::string sha256Fingerprint(const Sha256Digest &digest);

}  // namespace kvmvnc
