// SPDX-License-Identifier: GPL-2.0-or-later
// `systemctl reload`: kvmvncd reads its INI file and password file again on
// SIGHUP, while the viewers it serves stay connected.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "daemon_process.h"
#include "kvmvnc/door/vnc_password_file.h"
#include "test_timing.h"
#include "test_viewer.h"
#include "wait_until.h"

namespace kvmvnc::testing {

namespace {

using namespace std::chrono_literals;
constexpr auto kTimeout = 15s * kSlowdown;

// The virtual desktop animates, so a connected viewer keeps getting updates.
std::string configText(const std::string &desktopName, int bootSeconds) {
    return "passwd_file = vncpasswd\ndesktop_name = " + desktopName +
           "\n[capture]\nwidth = 640\nheight = 480\nfps = 10\n"
           "[virtual]\nboot_seconds = " +
           std::to_string(bootSeconds) + "\nanimate = true\n";
}

class ReloadTest : public ::testing::Test {
protected:
    void TearDown() override {
        if (daemon_) {
            EXPECT_TRUE(daemon_->isRunning()) << "kvmvncd died:\n" << daemon_->log();
            EXPECT_EQ(daemon_->stop(), 0) << "kvmvncd did not exit cleanly:\n" << daemon_->log();
        }
    }

    // Replaces a file the way an editor or vncpasswd does: a new file moved
    // over the old one.
    void replaceFile(const std::string &name, const std::string &bytes) {
        const std::string temporary = daemon_->path(name + ".new");
        std::ofstream(temporary, std::ios::binary) << bytes;
        std::filesystem::rename(temporary, daemon_->path(name));
    }
    void writePasswords(const door::VncPasswords &passwords) {
        const std::vector<uint8_t> bytes = door::encodeVncPasswordFile(passwords);
        replaceFile("vncpasswd", std::string(bytes.begin(), bytes.end()));
    }
    // The INI file as DaemonProcess writes it: [server] with listen and port
    // first.
    void writeConfig(const std::string &text) {
        replaceFile("kvmvnc.ini", "[server]\nlisten = 127.0.0.1\nport = " +
                                      std::to_string(daemon_->port()) + "\n" + text);
    }

    std::unique_ptr<TestViewer> connectWith(const std::string &password) {
        ViewerOptions options;
        options.port = daemon_->port();
        options.encodings = "zlib";
        options.password = password;
        options.caFile = daemon_->path("tls/cert.pem");
        auto viewer = std::make_unique<TestViewer>(options);
        return viewer->connect() ? std::move(viewer) : nullptr;
    }

    // Sends SIGHUP and waits for the reload to log `outcome`, the
    // `occurrence`th time it does.
    bool reload(const std::string &outcome, int occurrence = 1) {
        if (!daemon_->sendSignal(SIGHUP))
            return false;
        return waitUntil(
            [&] {
                const std::string log = daemon_->log();
                int found = 0;
                for (size_t at = log.find(outcome); at != std::string::npos;
                     at = log.find(outcome, at + 1))
                    ++found;
                return found >= occurrence;
            },
            kTimeout, 20ms);
    }

    // The viewer is still connected and the picture still reaches it.
    static bool stillServed(TestViewer &viewer) {
        viewer.resetCounters();
        return viewer.pumpUntil([&] { return viewer.updates() >= 2; }, kTimeout) &&
               viewer.isConnected();
    }

    std::unique_ptr<DaemonProcess> daemon_;
};

}  // namespace

TEST_F(ReloadTest, NewPasswordsAndNameReachNewViewersWhileTheFirstStays) {
    daemon_ = std::make_unique<DaemonProcess>(configText("first desk", 0));
    writePasswords({"passwd-a", ""});
    ASSERT_TRUE(daemon_->start()) << daemon_->log();

    std::unique_ptr<TestViewer> first = connectWith("passwd-a");
    ASSERT_NE(first, nullptr) << daemon_->log();
    EXPECT_EQ(first->desktopName(), "first desk");
    ASSERT_TRUE(stillServed(*first));

    // New passwords and name, and a key that only a restart can change.
    writePasswords({"passwd-b", "view-b"});
    writeConfig(configText("second desk", 5));
    ASSERT_TRUE(reload("reload: done")) << daemon_->log();
    EXPECT_NE(daemon_->log().find("needs a restart: [virtual] boot_seconds = 5 (running with 0)"),
              std::string::npos)
        << daemon_->log();

    EXPECT_TRUE(stillServed(*first)) << "the first viewer was dropped or starved\n"
                                     << daemon_->log();
    EXPECT_EQ(connectWith("passwd-a"), nullptr) << "the old password still gets in";
    std::unique_ptr<TestViewer> second = connectWith("passwd-b");
    ASSERT_NE(second, nullptr) << daemon_->log();
    EXPECT_EQ(second->desktopName(), "second desk");
    EXPECT_TRUE(stillServed(*second));
    std::unique_ptr<TestViewer> watcher = connectWith("view-b");
    ASSERT_NE(watcher, nullptr) << "the new view-only password";
    EXPECT_TRUE(stillServed(*watcher));

    // A broken file: logged, and everything stays as it ran.
    writePasswords({"passwd-c", ""});
    writeConfig("desktop_name = third desk\nnot a key and a value\n");
    ASSERT_TRUE(reload("reload: nothing changed")) << daemon_->log();
    EXPECT_NE(daemon_->log().find("kvmvnc.ini:5: syntax error"), std::string::npos)
        << daemon_->log();
    ASSERT_TRUE(daemon_->isRunning()) << daemon_->log();
    EXPECT_TRUE(stillServed(*first));
    EXPECT_TRUE(stillServed(*second));
    EXPECT_EQ(connectWith("passwd-c"), nullptr) << "a password from a reload that failed";
    EXPECT_EQ(connectWith("passwd-a"), nullptr);
    std::unique_ptr<TestViewer> third = connectWith("passwd-b");
    ASSERT_NE(third, nullptr) << daemon_->log();
    EXPECT_EQ(third->desktopName(), "second desk");
    EXPECT_TRUE(stillServed(*third));
}

TEST_F(ReloadTest, UnreadablePasswordFileKeepsTheRunningPasswords) {
    daemon_ = std::make_unique<DaemonProcess>(configText("desk", 0));
    writePasswords({"passwd-a", ""});
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
    std::unique_ptr<TestViewer> first = connectWith("passwd-a");
    ASSERT_NE(first, nullptr) << daemon_->log();

    replaceFile("vncpasswd", "not a vncpasswd file");
    writeConfig(configText("renamed desk", 0));
    ASSERT_TRUE(reload("reload: nothing changed")) << daemon_->log();
    EXPECT_NE(daemon_->log().find("vncpasswd: not a vncpasswd file"), std::string::npos)
        << daemon_->log();
    EXPECT_TRUE(stillServed(*first));
    std::unique_ptr<TestViewer> second = connectWith("passwd-a");
    ASSERT_NE(second, nullptr) << daemon_->log();
    EXPECT_EQ(second->desktopName(), "desk") << "half applied";
}

}  // namespace kvmvnc::testing
