// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/base/sha256.h"

#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "kvmvnc/base/error_text.h"

namespace kvmvnc {

struct Sha256Hasher::Context {
    struct Free {
        void operator()(EVP_MD_CTX *context) const { EVP_MD_CTX_free(context); }
    };
    std::unique_ptr<EVP_MD_CTX, Free> evp{EVP_MD_CTX_new()};
};

Sha256Hasher::Sha256Hasher() : context_(std::make_unique<Context>()) {
    if (!context_->evp || EVP_DigestInit_ex(context_->evp.get(), EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("SHA-256 is not available");
}

Sha256Hasher::~Sha256Hasher() = default;

void Sha256Hasher::update(std::span<const uint8_t> data) {
    EVP_DigestUpdate(context_->evp.get(), data.data(), data.size());
}

void Sha256Hasher::update(std::string_view data) {
    EVP_DigestUpdate(context_->evp.get(), data.data(), data.size());
}

Sha256Digest Sha256Hasher::finish() {
    Sha256Digest digest{};
    unsigned int length = 0;
    EVP_DigestFinal_ex(context_->evp.get(), digest.data(), &length);
    return digest;
}

Sha256Digest sha256(std::span<const uint8_t> data) {
    Sha256Hasher hasher;
    hasher.update(data);
    return hasher.finish();
}

Sha256Digest sha256(std::string_view data) {
    Sha256Hasher hasher;
    hasher.update(data);
    return hasher.finish();
}

std::optional<Sha256Digest> sha256File(const std::string &path, std::string &error) {
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        error = path + ": " + errorText(errno);
        return std::nullopt;
    }
    Sha256Hasher hasher;
    std::vector<char> buffer(1 << 20);
    while (file) {
        file.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        hasher.update(std::string_view(buffer.data(), static_cast<size_t>(file.gcount())));
    }
    if (!file.eof()) {
        error = path + ": read error";
        return std::nullopt;
    }
    return hasher.finish();
}

std::string sha256Hex(const Sha256Digest &digest) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string text;
    for (uint8_t byte : digest) {
        text += kDigits[byte >> 4];
        text += kDigits[byte & 15];
    }
    return text;
}

std::optional<Sha256Digest> parseSha256Hex(std::string_view text) {
    Sha256Digest digest{};
    if (text.size() != 2 * digest.size())
        return std::nullopt;
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        return -1;
    };
    for (size_t i = 0; i < digest.size(); ++i) {
        const int high = nibble(text[2 * i]), low = nibble(text[2 * i + 1]);
        if (high < 0 || low < 0)
            return std::nullopt;
        digest[i] = static_cast<uint8_t>(high << 4 | low);
    }
    return digest;
}

std::string sha256Fingerprint(const Sha256Digest &digest) {
    static constexpr char kDigits[] = "0123456789ABCDEF";
    std::string text = "SHA256";
    for (uint8_t byte : digest) {
        text += ':';
        text += kDigits[byte >> 4];
        text += kDigits[byte & 15];
    }
    return text;
}

}  // namespace kvmvnc
