// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <string>
#include <vector>

namespace kvmvnc::ctl {

// The servers kvmvncctl has met and the certificate each showed, as ssh's
// known_hosts: one line per server, "HOST:PORT SHA256:AB:CD:...", the
// SHA-256 of the whole DER certificate in the form kvmvncd logs at start (so
// the two can be compared by eye), and '#' comments. Lines that are not
// entries are kept as they are and otherwise ignored. Not thread-safe.
class KnownHosts {
public:
    struct Entry {
        std::string host;  // knownHostName()
        std::string fingerprint;
        int line = 0;  // from 1, to tell the user which line to delete
    };

    // Reads `path`; a missing file is an empty one. Throws
    // std::runtime_error when it exists and cannot be read.
    static KnownHosts load(const std::string &path);

    // The entries for `host` in file order (more than one only when someone
    // added them by hand).
    std::vector<Entry> find(const std::string &host) const;
    // Appends an entry; save() writes it.
    void add(const std::string &host, const std::string &fingerprint);
    // Replaces the file atomically with mode 0600, creating its directory
    // (0700) when missing. Throws std::runtime_error.
    void save() const;
    const std::string &path() const { return path_; }

private:
    std::string path_;
    std::vector<std::string> lines_;
    std::vector<Entry> entries_;
};

// How the file names a server: "name:port" in lower case, an IPv6 address
// in brackets.
std::string knownHostName(const std::string &host, int port);
// Whether two fingerprints are the same; the hex digits' case does not count.
bool sameFingerprint(const std::string &a, const std::string &b);
// $XDG_CONFIG_HOME/kvmvnc/known_hosts, else ~/.config/kvmvnc/known_hosts;
// empty when there is no home directory either.
std::string defaultKnownHostsFile();

}  // namespace kvmvnc::ctl
