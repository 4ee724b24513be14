// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/doctor/machine.h"

#include <arpa/inet.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <system_error>

#include "kvmvnc/base/error_text.h"
#include "kvmvnc/base/unique_fd.h"

namespace kvmvnc::doctor {

namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxFileSize = 64 * 1024;
// The groups kvmvncd.service gives its user (SupplementaryGroups=).
constexpr const char *kUnitGroups[] = {"video", "gpio"};

// getpwuid_r/getgrgid_r need a buffer; sysconf's hint is often -1.
constexpr size_t kDatabaseBuffer = 16 * 1024;

std::string userName(uid_t uid) {
    passwd entry{};
    passwd *found = nullptr;
    std::vector<char> buffer(kDatabaseBuffer);
    if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found)
        return found->pw_name;
    return std::to_string(uid);
}

std::string groupName(gid_t gid) {
    group entry{};
    group *found = nullptr;
    std::vector<char> buffer(kDatabaseBuffer);
    if (::getgrgid_r(gid, &entry, buffer.data(), buffer.size(), &found) == 0 && found)
        return found->gr_name;
    return std::to_string(gid);
}

void addGroup(std::vector<std::string> &groups, const std::string &name) {
    if (std::find(groups.begin(), groups.end(), name) == groups.end())
        groups.push_back(name);
}

// Waits for `events` on `fd` until `deadline`; the revents, or 0 on timeout.
short waitFor(int fd, short events, std::chrono::steady_clock::time_point deadline) {
    while (true) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return 0;
        pollfd pfd{fd, events, 0};
        const int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
        if (ready > 0)
            return pfd.revents;
        if (ready == 0)
            return 0;
        if (errno != EINTR)
            return POLLERR;
    }
}

// Printable text of what a server said, for a finding.
std::string printable(const std::string &bytes) {
    std::string text;
    for (char c : bytes) {
        if (c == '\n' || c == '\r')
            break;
        text += (c >= ' ' && c <= '~') ? c : '?';
    }
    return text;
}

std::string hostPort(const std::string &host, int port) {
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
           std::to_string(port);
}

}  // namespace

bool mayReadWrite(const FileFacts &file, const Account &account) {
    if (file.error != 0)
        return false;
    if (account.root)
        return true;
    if (file.owner == account.name)
        return (file.mode & 0600) == 0600;
    if (std::find(account.groups.begin(), account.groups.end(), file.group) != account.groups.end())
        return (file.mode & 0060) == 0060;
    return (file.mode & 0006) == 0006;
}

std::optional<std::string> Machine::readFile(const std::string &path) const {
    std::ifstream in(hostPath(path), std::ios::binary);
    if (!in)
        return std::nullopt;
    std::string text(kMaxFileSize, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    if (in.bad())
        return std::nullopt;
    text.resize(static_cast<size_t>(in.gcount()));
    return text;
}

std::optional<std::string> Machine::readLine(const std::string &path) const {
    std::optional<std::string> text = readFile(path);
    if (!text)
        return std::nullopt;
    const size_t end = text->find('\n');
    if (end != std::string::npos)
        text->resize(end);
    while (!text->empty() && (text->back() == '\0' || text->back() == ' ' || text->back() == '\r'))
        text->pop_back();
    return text;
}

std::vector<std::string> Machine::listDirectory(const std::string &path) const {
    std::vector<std::string> names;
    std::error_code error;
    for (const auto &entry : fs::directory_iterator(hostPath(path), error)) {
        std::string name = entry.path().filename().string();
        if (!name.starts_with('.'))
            names.push_back(std::move(name));
    }
    std::sort(names.begin(), names.end());
    return names;
}

bool Machine::exists(const std::string &path) const {
    std::error_code error;
    return fs::exists(hostPath(path), error);
}

ListenFacts greetRfb(const std::string &host, int port, int timeoutMs) {
    ListenFacts facts;
    const std::string where = hostPort(host, port);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo *found = nullptr;
    if (int ret = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
        ret != 0) {
        facts.detail = host + ": " + ::gai_strerror(ret);
        return facts;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds{timeoutMs};
    UniqueFd socket;
    int lastError = 0;
    for (addrinfo *address = found; address && !socket.isValid(); address = address->ai_next) {
        UniqueFd candidate(
            ::socket(address->ai_family, address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!candidate.isValid()) {
            lastError = errno;
            continue;
        }
        if (::connect(candidate.get(), address->ai_addr, address->ai_addrlen) != 0) {
            if (errno != EINPROGRESS) {
                lastError = errno;
                continue;
            }
            if (!(waitFor(candidate.get(), POLLOUT, deadline) & (POLLOUT | POLLERR | POLLHUP))) {
                lastError = ETIMEDOUT;
                continue;
            }
            int error = 0;
            socklen_t length = sizeof(error);
            ::getsockopt(candidate.get(), SOL_SOCKET, SO_ERROR, &error, &length);
            if (error != 0) {
                lastError = error;
                continue;
            }
        }
        socket = std::move(candidate);
    }
    ::freeaddrinfo(found);
    if (!socket.isValid()) {
        facts.state =
            lastError == ECONNREFUSED ? ListenFacts::State::Refused : ListenFacts::State::Error;
        facts.detail = where + ": " + errorText(lastError);
        return facts;
    }
    // An RFB server speaks first: "RFB 003.008\n".
    std::string said;
    char buffer[12];
    while (said.size() < sizeof(buffer)) {
        const short ready = waitFor(socket.get(), POLLIN, deadline);
        if (!(ready & (POLLIN | POLLHUP | POLLERR)))
            break;
        const ssize_t got = ::recv(socket.get(), buffer, sizeof(buffer) - said.size(), 0);
        if (got <= 0)
            break;
        said.append(buffer, static_cast<size_t>(got));
    }
    if (said.starts_with("RFB ")) {
        facts.state = ListenFacts::State::Rfb;
        facts.greeting = printable(said);
    } else {
        facts.state = ListenFacts::State::Other;
        facts.detail = said.empty() ? where + " accepted the connection and said nothing"
                                    : where + " answered \"" + printable(said) + "\"";
    }
    return facts;
}

LinuxMachine::LinuxMachine(fs::path root, std::string serviceUser)
    : root_(std::move(root)), serviceUser_(std::move(serviceUser)) {}

fs::path LinuxMachine::hostPath(const std::string &path) const {
    return root_ / fs::path(path).relative_path();
}

FileFacts LinuxMachine::stat(const std::string &path) const {
    FileFacts facts;
    struct stat status {};
    if (::stat(hostPath(path).c_str(), &status) != 0) {
        facts.error = errno;
        return facts;
    }
    facts.characterDevice = S_ISCHR(status.st_mode);
    facts.directory = S_ISDIR(status.st_mode);
    facts.owner = userName(status.st_uid);
    facts.group = groupName(status.st_gid);
    facts.mode = status.st_mode & 07777;
    return facts;
}

Account LinuxMachine::serviceAccount() const {
    Account account;
    passwd entry{};
    passwd *found = nullptr;
    std::vector<char> buffer(kDatabaseBuffer);
    if (::getpwnam_r(serviceUser_.c_str(), &entry, buffer.data(), buffer.size(), &found) == 0 &&
        found) {
        account.name = found->pw_name;
        account.root = found->pw_uid == 0;
        int count = 64;
        std::vector<gid_t> gids(static_cast<size_t>(count));
        if (::getgrouplist(found->pw_name, found->pw_gid, gids.data(), &count) < 0) {
            gids.resize(static_cast<size_t>(count));
            ::getgrouplist(found->pw_name, found->pw_gid, gids.data(), &count);
        }
        gids.resize(static_cast<size_t>(std::max(count, 0)));
        for (gid_t gid : gids)
            addGroup(account.groups, groupName(gid));
        for (const char *name : kUnitGroups)
            addGroup(account.groups, name);
        account.note = "the user kvmvncd.service runs as";
        return account;
    }
    // No packaged service here (a build tree, a test machine): whoever runs
    // the check is whoever would run kvmvncd.
    const uid_t uid = ::geteuid();
    account.name = userName(uid);
    account.root = uid == 0;
    addGroup(account.groups, groupName(::getegid()));
    const int count = ::getgroups(0, nullptr);
    std::vector<gid_t> gids(static_cast<size_t>(std::max(count, 0)));
    if (count > 0 && ::getgroups(count, gids.data()) == count) {
        for (gid_t gid : gids)
            addGroup(account.groups, groupName(gid));
    }
    account.note = "no user " + serviceUser_ + " here: the user running this check";
    return account;
}

ListenFacts LinuxMachine::probeListen(const std::string &address, int port) const {
    ListenFacts facts;
    const std::string where = hostPort(address, port);
    // Binding first says whether the address is this machine's without
    // waiting for a connection to another machine to time out, and whether
    // someone listens there (EADDRINUSE).
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST | AI_PASSIVE;
    addrinfo *found = nullptr;
    if (::getaddrinfo(address.empty() ? nullptr : address.c_str(), std::to_string(port).c_str(),
                      &hints, &found) != 0) {
        facts.detail = address + " is not a numeric address";
        return facts;
    }
    UniqueFd socket(::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, 0));
    const int yes = 1;
    int error = 0;
    if (!socket.isValid() ||
        ::setsockopt(socket.get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes)) != 0 ||
        ::bind(socket.get(), found->ai_addr, found->ai_addrlen) != 0)
        error = errno;
    ::freeaddrinfo(found);
    socket.reset();
    if (error == 0) {
        facts.state = ListenFacts::State::Free;
        facts.detail = "nothing listens on " + where;
        return facts;
    }
    if (error == EADDRNOTAVAIL) {
        facts.state = ListenFacts::State::NotLocal;
        facts.detail = address + " is not an address of this machine";
        return facts;
    }
    // Taken (or not ours to bind, such as a low port): who answers? A
    // server on every address answers on loopback.
    std::string host = address;
    if (host.empty() || host == "0.0.0.0")
        host = "127.0.0.1";
    else if (host == "::")
        host = "::1";
    facts = greetRfb(host, port, 2000);
    if (facts.state == ListenFacts::State::Refused) {
        facts.state = ListenFacts::State::Error;
        facts.detail =
            "nothing listens on " + where + ", and binding it fails: " + errorText(error);
    }
    return facts;
}

}  // namespace kvmvnc::doctor
