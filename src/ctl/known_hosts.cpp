// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/ctl/known_hosts.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "kvmvnc/base/atomic_file.h"

namespace kvmvnc::ctl {

namespace {

constexpr const char *kFingerprintPrefix = "sha256:";

std::string lowerCase(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

}  // namespace

KnownHosts KnownHosts::load(const std::string &path) {
    KnownHosts hosts;
    hosts.path_ = path;
    std::error_code error;
    if (!std::filesystem::exists(path, error) && !error)
        return hosts;
    std::ifstream file(path);
    if (error || !file)
        throw std::runtime_error(path + ": cannot read it" +
                                 (error ? ": " + error.message() : std::string()));
    std::string line;
    while (std::getline(file, line)) {
        hosts.lines_.push_back(line);
        std::istringstream fields(line);
        Entry entry;
        if (!(fields >> entry.host >> entry.fingerprint) || entry.host.starts_with('#') ||
            !lowerCase(entry.fingerprint).starts_with(kFingerprintPrefix))
            continue;
        entry.host = lowerCase(entry.host);
        entry.line = static_cast<int>(hosts.lines_.size());
        hosts.entries_.push_back(std::move(entry));
    }
    if (file.bad())
        throw std::runtime_error(path + ": cannot read it");
    return hosts;
}

std::vector<KnownHosts::Entry> KnownHosts::find(const std::string &host) const {
    std::vector<Entry> found;
    for (const Entry &entry : entries_)
        if (entry.host == host)
            found.push_back(entry);
    return found;
}

void KnownHosts::add(const std::string &host, const std::string &fingerprint) {
    lines_.push_back(host + " " + fingerprint);
    entries_.push_back({host, fingerprint, static_cast<int>(lines_.size())});
}

void KnownHosts::save() const {
    const std::filesystem::path directory = std::filesystem::path(path_).parent_path();
    std::error_code error;
    if (!directory.empty() && std::filesystem::create_directories(directory, error))
        std::filesystem::permissions(directory, std::filesystem::perms::owner_all, error);
    if (error)
        throw std::runtime_error(directory.string() + ": " + error.message());
    std::string text;
    for (const std::string &line : lines_)
        text += line + "\n";
    replaceFileAtomically(path_, text, 0600, false);
}

std::string knownHostName(const std::string &host, int port) {
    const std::string name = lowerCase(host);
    const bool ipv6 = name.find(':') != std::string::npos;
    return (ipv6 ? "[" + name + "]" : name) + ":" + std::to_string(port);
}

bool sameFingerprint(const std::string &a, const std::string &b) {
    return a.size() == b.size() && lowerCase(a) == lowerCase(b);
}

std::string defaultKnownHostsFile() {
    // The XDG base directory specification ignores a relative path.
    // getenv and getpwuid race only with setenv and other getpw* calls,
    // which kvmvncctl never makes.
    // NOLINTNEXTLINE(concurrency-mt-unsafe)
    if (const char *config = std::getenv("XDG_CONFIG_HOME"); config && config[0] == '/')
        return std::string(config) + "/kvmvnc/known_hosts";
    std::string home;
    // NOLINTNEXTLINE(concurrency-mt-unsafe)
    if (const char *variable = std::getenv("HOME"); variable && variable[0])
        home = variable;
    // NOLINTNEXTLINE(concurrency-mt-unsafe)
    else if (const passwd *user = ::getpwuid(::getuid()); user && user->pw_dir)
        home = user->pw_dir;
    return home.empty() ? std::string() : home + "/.config/kvmvnc/known_hosts";
}

}  // namespace kvmvnc::ctl
