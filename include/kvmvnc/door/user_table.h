// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kvmvnc::door {

// What a user may do once logged in.
enum class Access { Full, ViewOnly };

struct UserEntry {
    std::string name;
    Access access = Access::Full;
    std::string hash;  // "scrypt$N$r$p$<salt base64>$<key base64>"
};

// The users file that VeNCrypt's Plain subtypes (X509Plain, TLSPlain) check
// names and passwords against. One user a line, `NAME:ACCESS:HASH`, ACCESS
// `full` or `view`, HASH scrypt with its parameters and salt; `#` comments
// and blank lines are ignored. Passwords are never stored, only their hashes.
//
// A value type. const members (verify() among them) may run on any number of
// threads at once; set() and remove() need the caller's exclusion. Each
// verify() costs one scrypt (about 16 MiB and tens of milliseconds), so the
// caller decides how many may run at a time.
class UserTable {
public:
    // Reads a users file; throws std::runtime_error "<path>: line N: <reason>"
    // or "<path>: <strerror>".
    static UserTable load(const std::string &path);
    // `name` (usually the path) only prefixes the errors.
    static UserTable parse(std::string_view text, const std::string &name);
    // What save() writes: a comment header, then one line per user.
    std::string serialize() const;
    // Replaces `path` atomically (temporary file in the same directory, fsync,
    // rename); a new file gets mode 0640, an existing file keeps its mode and
    // group (and its owner when run as root). Throws std::runtime_error.
    void save(const std::string &path) const;

    // The access `user` has with `password`, or nullopt (unknown user, wrong
    // password). An unknown user costs the same scrypt work as a known one,
    // so timing does not tell which names exist.
    std::optional<Access> verify(std::string_view user, std::string_view password) const;

    // Adds or replaces a user, hashing `password` with a fresh 16-byte salt
    // from RAND_bytes. Throws std::invalid_argument for a bad name (see
    // isValidName()) or an empty password.
    void set(const std::string &user, std::string_view password, Access access);
    bool remove(std::string_view user);  // false when there was no such user
    bool empty() const { return entries_.empty(); }
    const std::vector<UserEntry> &entries() const { return entries_; }

    // 1 to 64 bytes, none of them ':', whitespace or a control character, and
    // not starting with '#' (the line would read as a comment).
    static bool isValidName(std::string_view user);

private:
    std::vector<UserEntry> entries_;  // in file order
};

}  // namespace kvmvnc::door
