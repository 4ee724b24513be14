// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/door/vnc_password_file.h"

// The fixed-key DES obfuscation of vncpasswd files is what TigerVNC writes,
// and DES with the password as the key is VNC authentication; OpenSSL 3
// keeps single DES only in its low-level (deprecated) API.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/des.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "kvmvnc/base/error_text.h"

namespace kvmvnc::door {

namespace {

// The key every VNC implementation obfuscates stored passwords with. VNC's
// DES (d3des) takes key bytes with their bits mirrored, so desBlock()
// mirrors them for OpenSSL.
constexpr uint8_t kObfuscationKey[8] = {23, 82, 107, 6, 35, 78, 88, 7};

uint8_t mirrorBits(uint8_t byte) {
    uint8_t out = 0;
    for (int bit = 0; bit < 8; ++bit)
        if (byte & (1 << bit))
            out |= static_cast<uint8_t>(0x80 >> bit);
    return out;
}

void desBlock(const uint8_t (&vncKey)[8], const uint8_t in[8], uint8_t out[8], bool encrypt) {
    DES_cblock key;
    for (int i = 0; i < 8; ++i)
        key[i] = mirrorBits(vncKey[i]);
    DES_key_schedule schedule;
    DES_set_key_unchecked(&key, &schedule);
    DES_cblock input;
    DES_cblock output;
    std::memcpy(input, in, 8);
    DES_ecb_encrypt(&input, &output, &schedule, encrypt ? DES_ENCRYPT : DES_DECRYPT);
    std::memcpy(out, output, 8);
}

std::string decodeBlock(const uint8_t *block) {
    uint8_t plain[8];
    desBlock(kObfuscationKey, block, plain, false);
    return std::string(reinterpret_cast<const char *>(plain),
                       strnlen(reinterpret_cast<const char *>(plain), 8));
}

void encodeBlock(const std::string &password, std::vector<uint8_t> &out) {
    uint8_t plain[8] = {};  // a DES block: up to 8 bytes, zero padded, no terminator
    // NOLINTNEXTLINE(bugprone-not-null-terminated-result)
    std::memcpy(plain, password.data(), std::min<size_t>(password.size(), 8));
    uint8_t cipher[8];
    desBlock(kObfuscationKey, plain, cipher, true);
    out.insert(out.end(), cipher, cipher + 8);
}

}  // namespace

VncPasswords loadVncPasswordFile(const std::string &path) {
    std::ifstream file(path, std::ios::binary);
    if (!file)
        throw std::runtime_error(path + ": cannot open password file: " + errorText(errno));
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)),
                               std::istreambuf_iterator<char>());
    if (bytes.size() != 8 && bytes.size() != 16)
        throw std::runtime_error(path + ": not a vncpasswd file (" + std::to_string(bytes.size()) +
                                 " bytes, expected 8 or 16)");
    VncPasswords passwords;
    passwords.full = decodeBlock(bytes.data());
    if (bytes.size() == 16)
        passwords.viewOnly = decodeBlock(bytes.data() + 8);
    if (passwords.full.empty())
        throw std::runtime_error(path + ": the password in it is empty");
    return passwords;
}

std::vector<uint8_t> encodeVncPasswordFile(const VncPasswords &passwords) {
    std::vector<uint8_t> out;
    encodeBlock(passwords.full, out);
    if (!passwords.viewOnly.empty())
        encodeBlock(passwords.viewOnly, out);
    return out;
}

std::array<uint8_t, 16> vncAuthResponse(std::span<const uint8_t, 16> challenge,
                                        std::string_view password) {
    // As libvncserver's rfbEncryptBytes: the password up to its first NUL,
    // at most 8 bytes, zero-padded.
    uint8_t key[8] = {};
    for (size_t i = 0; i < std::min<size_t>(password.size(), 8) && password[i] != '\0'; ++i)
        key[i] = static_cast<uint8_t>(password[i]);
    std::array<uint8_t, 16> response{};
    desBlock(key, challenge.data(), response.data(), true);
    desBlock(key, challenge.data() + 8, response.data() + 8, true);
    return response;
}

}  // namespace kvmvnc::door
