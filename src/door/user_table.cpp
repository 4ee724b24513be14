// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/door/user_table.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "kvmvnc/base/atomic_file.h"
#include "kvmvnc/base/error_text.h"
#include "kvmvnc/base/unique_fd.h"

namespace kvmvnc::door {

namespace {

// What set() hashes with: scrypt's interactive-login parameters (16 MiB).
constexpr uint64_t kCostN = 16384;
constexpr uint64_t kBlockSizeR = 8;
constexpr uint64_t kParallelP = 1;
constexpr size_t kSaltBytes = 16;
constexpr size_t kKeyBytes = 32;

// What a file may ask for. The memory bound keeps one login from taking
// more than a small board can spare; OpenSSL needs 128 * r * (N + p + 2)
// bytes, which the bound on N * r keeps below kScryptMaxMemory.
constexpr uint64_t kMinN = 1024;
constexpr uint64_t kMaxN = 1048576;
constexpr uint64_t kMaxR = 32;
constexpr uint64_t kMaxP = 16;
constexpr uint64_t kMaxBlockMemory = 256ULL << 20;  // 128 * N * r
constexpr uint64_t kScryptMaxMemory = kMaxBlockMemory + (1ULL << 20);
constexpr size_t kMinSaltBytes = 4;  // RFC 7914's test vectors use "NaCl"
constexpr size_t kMaxSaltBytes = 64;

constexpr size_t kMaxNameLength = 64;
constexpr size_t kMaxFileBytes = 1 << 20;
constexpr size_t kMaxBase64 = 4 * kMaxSaltBytes;  // longer than any field of a hash

struct ScryptHash {
    uint64_t n = kCostN;
    uint64_t r = kBlockSizeR;
    uint64_t p = kParallelP;
    std::vector<unsigned char> salt;
    std::vector<unsigned char> key;
};

std::string encodeBase64(const std::vector<unsigned char> &bytes) {
    std::string text(4 * ((bytes.size() + 2) / 3), '\0');
    const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char *>(text.data()),
                                        bytes.data(), static_cast<int>(bytes.size()));
    text.resize(static_cast<size_t>(written));
    return text;
}

// Strict: only the canonical encoding (what encodeBase64 gives back) passes.
// EVP_DecodeBlock alone would skip surrounding whitespace and return the
// '=' padding as zero bytes.
std::optional<std::vector<unsigned char>> decodeBase64(std::string_view text) {
    if (text.empty() || text.size() % 4 != 0 || text.size() > kMaxBase64)
        return std::nullopt;
    std::vector<unsigned char> bytes(text.size() / 4 * 3);
    const int written =
        EVP_DecodeBlock(bytes.data(), reinterpret_cast<const unsigned char *>(text.data()),
                        static_cast<int>(text.size()));
    const size_t padding = text.ends_with("==") ? 2 : text.ends_with('=') ? 1 : 0;
    if (written < 0 || static_cast<size_t>(written) < padding)
        return std::nullopt;
    bytes.resize(static_cast<size_t>(written) - padding);
    if (encodeBase64(bytes) != text)
        return std::nullopt;
    return bytes;
}

std::optional<uint64_t> parseNumber(std::string_view text) {
    uint64_t value = 0;
    const char *end = text.data() + text.size();
    auto [stop, error] = std::from_chars(text.data(), end, value);
    if (text.empty() || error != std::errc() || stop != end)
        return std::nullopt;
    return value;
}

// Parses "scrypt$N$r$p$SALT$KEY"; on failure says why in `reason`.
std::optional<ScryptHash> parseHash(std::string_view text, std::string &reason) {
    std::vector<std::string_view> fields;
    for (size_t start = 0;;) {
        const size_t dollar = text.find('$', start);
        fields.push_back(text.substr(start, dollar - start));
        if (dollar == std::string_view::npos)
            break;
        start = dollar + 1;
    }
    if (fields.size() != 6 || fields[0] != "scrypt") {
        reason = "hash is not scrypt$N$r$p$SALT$KEY";
        return std::nullopt;
    }
    ScryptHash hash;
    const auto n = parseNumber(fields[1]);
    const auto r = parseNumber(fields[2]);
    const auto p = parseNumber(fields[3]);
    if (!n || *n < kMinN || *n > kMaxN || (*n & (*n - 1)) != 0) {
        reason = "scrypt N must be a power of two from " + std::to_string(kMinN) + " to " +
                 std::to_string(kMaxN);
        return std::nullopt;
    }
    if (!r || *r < 1 || *r > kMaxR) {
        reason = "scrypt r must be from 1 to " + std::to_string(kMaxR);
        return std::nullopt;
    }
    if (!p || *p < 1 || *p > kMaxP) {
        reason = "scrypt p must be from 1 to " + std::to_string(kMaxP);
        return std::nullopt;
    }
    if (128 * *n * *r > kMaxBlockMemory) {
        reason = "scrypt N and r need more than " + std::to_string(kMaxBlockMemory >> 20) + " MiB";
        return std::nullopt;
    }
    hash.n = *n;
    hash.r = *r;
    hash.p = *p;
    auto salt = decodeBase64(fields[4]);
    if (!salt || salt->size() < kMinSaltBytes || salt->size() > kMaxSaltBytes) {
        reason = "salt is not " + std::to_string(kMinSaltBytes) + " to " +
                 std::to_string(kMaxSaltBytes) + " bytes of base64";
        return std::nullopt;
    }
    auto key = decodeBase64(fields[5]);
    if (!key || key->size() != kKeyBytes) {
        reason = "key is not " + std::to_string(kKeyBytes) + " bytes of base64";
        return std::nullopt;
    }
    hash.salt = std::move(*salt);
    hash.key = std::move(*key);
    return hash;
}

std::string formatHash(const ScryptHash &hash) {
    return "scrypt$" + std::to_string(hash.n) + "$" + std::to_string(hash.r) + "$" +
           std::to_string(hash.p) + "$" + encodeBase64(hash.salt) + "$" + encodeBase64(hash.key);
}

// scrypt of `password` with the parameters and salt of `hash`.
bool derive(std::string_view password, const ScryptHash &hash,
            std::array<unsigned char, kKeyBytes> &key) {
    return EVP_PBE_scrypt(password.data(), password.size(), hash.salt.data(), hash.salt.size(),
                          hash.n, hash.r, hash.p, kScryptMaxMemory, key.data(), key.size()) == 1;
}

// What verify() spends its work on for a name that is not in the table.
const ScryptHash &decoyHash() {
    static const ScryptHash decoy = [] {
        ScryptHash hash;
        hash.salt.assign(kSaltBytes, 0x5a);
        hash.key.assign(kKeyBytes, 0);
        return hash;
    }();
    return decoy;
}

const char *accessWord(Access access) { return access == Access::Full ? "full" : "view"; }

[[noreturn]] void lineError(const std::string &name, size_t line, const std::string &reason) {
    throw std::runtime_error(name + ": line " + std::to_string(line) + ": " + reason);
}

std::string_view trimmed(std::string_view text) {
    constexpr std::string_view kBlank = " \t\r";
    const size_t first = text.find_first_not_of(kBlank);
    if (first == std::string_view::npos)
        return {};
    return text.substr(first, text.find_last_not_of(kBlank) - first + 1);
}

}  // namespace

bool UserTable::isValidName(std::string_view user) {
    if (user.empty() || user.size() > kMaxNameLength || user.front() == '#')
        return false;
    return std::none_of(user.begin(), user.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte == ':' || byte <= ' ' || byte == 0x7f;
    });
}

UserTable UserTable::load(const std::string &path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.isValid())
        throw std::runtime_error(path + ": " + errorText(errno));
    std::string text;
    char buffer[4096];
    for (;;) {
        const ssize_t got = ::read(fd.get(), buffer, sizeof(buffer));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            throw std::runtime_error(path + ": " + errorText(errno));
        if (got == 0)
            break;
        text.append(buffer, static_cast<size_t>(got));
        if (text.size() > kMaxFileBytes)
            throw std::runtime_error(path + ": larger than 1 MiB, not a users file");
    }
    return parse(text, path);
}

UserTable UserTable::parse(std::string_view text, const std::string &name) {
    UserTable table;
    std::vector<size_t> lineOf;  // where each entry was, for duplicate errors
    size_t lineNumber = 0;
    for (size_t start = 0; start < text.size();) {
        size_t end = text.find('\n', start);
        if (end == std::string_view::npos)
            end = text.size();
        const std::string_view line = trimmed(text.substr(start, end - start));
        start = end + 1;
        ++lineNumber;
        if (line.empty() || line.front() == '#')
            continue;

        const size_t firstColon = line.find(':');
        const size_t secondColon =
            firstColon == std::string_view::npos ? firstColon : line.find(':', firstColon + 1);
        if (secondColon == std::string_view::npos)
            lineError(name, lineNumber, "expected NAME:ACCESS:HASH");
        const std::string_view user = line.substr(0, firstColon);
        const std::string_view access = line.substr(firstColon + 1, secondColon - firstColon - 1);
        const std::string_view hashText = line.substr(secondColon + 1);

        if (!isValidName(user))
            lineError(name, lineNumber,
                      "bad user name (1 to 64 bytes, no ':', whitespace or control characters, "
                      "not starting with '#')");
        for (size_t i = 0; i < table.entries_.size(); ++i) {
            if (table.entries_[i].name == user)
                lineError(name, lineNumber,
                          "user '" + std::string(user) + "' again (first on line " +
                              std::to_string(lineOf[i]) + ")");
        }
        UserEntry entry;
        entry.name = user;
        if (access == "full")
            entry.access = Access::Full;
        else if (access == "view")
            entry.access = Access::ViewOnly;
        else
            lineError(name, lineNumber,
                      "unknown access '" + std::string(access) + "' (full or view)");
        std::string reason;
        if (!parseHash(hashText, reason))
            lineError(name, lineNumber, reason);
        entry.hash = hashText;
        table.entries_.push_back(std::move(entry));
        lineOf.push_back(lineNumber);
    }
    return table;
}

std::string UserTable::serialize() const {
    std::string text =
        "# kvmvncd users, one a line: NAME:ACCESS:HASH, ACCESS full or view,\n"
        "# HASH scrypt$N$r$p$SALT$KEY (base64). Written by `kvmvncctl passwd`;\n"
        "# `systemctl reload kvmvncd` applies changes.\n";
    for (const UserEntry &entry : entries_)
        text += entry.name + ":" + accessWord(entry.access) + ":" + entry.hash + "\n";
    return text;
}

void UserTable::save(const std::string &path) const {
    replaceFileAtomically(path, serialize(), 0640, true);
}

std::optional<Access> UserTable::verify(std::string_view user, std::string_view password) const {
    const auto entry =
        std::find_if(entries_.begin(), entries_.end(),
                     [&](const UserEntry &candidate) { return candidate.name == user; });
    std::string reason;
    std::optional<ScryptHash> hash;
    if (entry != entries_.end())
        hash = parseHash(entry->hash, reason);
    // Unknown users (and hashes that went bad after set()) hash too.
    const ScryptHash &against = hash ? *hash : decoyHash();
    std::array<unsigned char, kKeyBytes> key{};
    const bool derived = derive(password, against, key);
    const bool match = derived && CRYPTO_memcmp(key.data(), against.key.data(), key.size()) == 0;
    OPENSSL_cleanse(key.data(), key.size());
    if (!hash || !match || password.empty())
        return std::nullopt;
    return entry->access;
}

void UserTable::set(const std::string &user, std::string_view password, Access access) {
    if (!isValidName(user))
        throw std::invalid_argument(
            "bad user name (1 to 64 bytes, no ':', whitespace or control "
            "characters, not starting with '#')");
    if (password.empty())
        throw std::invalid_argument("empty password");
    ScryptHash hash;
    hash.salt.resize(kSaltBytes);
    if (RAND_bytes(hash.salt.data(), static_cast<int>(hash.salt.size())) != 1)
        throw std::runtime_error("no random bytes for a salt");
    std::array<unsigned char, kKeyBytes> key{};
    if (!derive(password, hash, key))
        throw std::runtime_error("scrypt failed");
    hash.key.assign(key.begin(), key.end());
    OPENSSL_cleanse(key.data(), key.size());

    UserEntry entry{user, access, formatHash(hash)};
    const auto existing =
        std::find_if(entries_.begin(), entries_.end(),
                     [&](const UserEntry &candidate) { return candidate.name == user; });
    if (existing != entries_.end())
        *existing = std::move(entry);
    else
        entries_.push_back(std::move(entry));
}

bool UserTable::remove(std::string_view user) {
    return std::erase_if(entries_, [&](const UserEntry &entry) { return entry.name == user; }) > 0;
}

}  // namespace kvmvnc::door
