// SPDX-License-Identifier: GPL-2.0-or-later
// kvmvncctl passwd: kvmvncd's users file edited here, without connecting.
#include <grp.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "kvmvnc/base/error_text.h"
#include "kvmvnc/ctl/command_line.h"
#include "kvmvnc/ctl/commands.h"
#include "kvmvnc/ctl/terminal.h"
#include "kvmvnc/door/user_table.h"

namespace kvmvnc::ctl {

namespace {

// The group kvmvncd runs as (packaging/systemd): a users file root creates
// goes to it, or the daemon could not read it.
constexpr const char *kDaemonGroup = "kvmvnc";
// passwd talks to no server; its failures share status 1 with refusals.
constexpr int kExitFailed = kExitRefused;

}  // namespace

int passwdCommand(const Options &options) {
    if (options.words.size() != 2)
        return usage("passwd takes one user name");
    if (options.deleteUser && options.viewOnly)
        return usage("passwd takes --view-only or --delete, not both");
    const std::string &user = options.words[1];
    if (!door::UserTable::isValidName(user))
        return usage(
            "bad user name: 1 to 64 bytes, no ':', whitespace or control characters, not "
            "starting with '#'");
    const std::string &path = options.usersFile;
    auto fail = [](const std::string &problem) {
        std::fprintf(stderr, "kvmvncctl: passwd: %s\n", problem.c_str());
        return kExitFailed;
    };

    // A missing file is an empty one; anything else wrong with it is an error.
    door::UserTable table;
    struct stat status {};
    const bool existed = ::stat(path.c_str(), &status) == 0;
    const bool missing = !existed && errno == ENOENT;
    try {
        if (!missing)
            table = door::UserTable::load(path);
    } catch (const std::exception &e) {
        return fail(e.what());
    }

    std::string done;
    if (options.deleteUser) {
        if (!table.remove(user))
            return fail("no user " + user + " in " + path);
        done = "deleted";
    } else {
        const bool known =
            std::any_of(table.entries().begin(), table.entries().end(),
                        [&](const door::UserEntry &entry) { return entry.name == user; });
        std::string password;
        std::string problem;
        if (!newPassword(user, password, problem))
            return fail(problem);
        try {
            table.set(user, password,
                      options.viewOnly ? door::Access::ViewOnly : door::Access::Full);
        } catch (const std::exception &e) {
            OPENSSL_cleanse(password.data(), password.size());
            return fail(e.what());
        }
        OPENSSL_cleanse(password.data(), password.size());
        done = std::string(known ? "updated" : "added") +
               (options.viewOnly ? " (view-only access)" : " (full access)");
    }
    try {
        table.save(path);
    } catch (const std::exception &e) {
        return fail(e.what());
    }
    // save() gives a new file the creator's group; root's would be one the
    // daemon cannot read.
    if (!existed && ::geteuid() == 0) {
        // kvmvncctl makes no other getgr* call.
        // NOLINTNEXTLINE(concurrency-mt-unsafe)
        if (const group *daemonGroup = ::getgrnam(kDaemonGroup);
            daemonGroup && ::chown(path.c_str(), static_cast<uid_t>(-1), daemonGroup->gr_gid) != 0)
            std::fprintf(stderr, "kvmvncctl: passwd: %s: cannot give it to group %s: %s\n",
                         path.c_str(), kDaemonGroup, errorText(errno).c_str());
    }
    std::printf("user %s %s\n`systemctl reload kvmvncd` applies it\n", user.c_str(), done.c_str());
    return kExitOk;
}

}  // namespace kvmvnc::ctl
