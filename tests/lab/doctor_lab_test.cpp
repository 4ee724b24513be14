// SPDX-License-Identifier: GPL-2.0-or-later
// The hardware checks on real drivers (guest/scenario-doctor.sh): vivid's
// HDMI input, kvmvnc-gadget's gadget on dummy_udc.0, a gpio-sim chip. First
// everything is wired up as configured and every check passes; then the
// gadget is unbound, a GPIO line is one the chip lacks, vivid is gone: each
// gives its FAIL line and exit status 1. kvmvncctl on the host asks the
// guest's kvmvncd for the same checks.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "lab_test.h"
#include "subprocess.h"

namespace kvmvnc::lab {
namespace {

using namespace std::chrono_literals;

// The line of `report` for check `name` ("FAIL  usb gadget ..."), or "".
std::string lineOf(const std::string &report, const std::string &name) {
    std::istringstream lines(report);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.size() > 6 && line.compare(6, name.size() + 1, name + " ") == 0)
            return line;
    }
    return {};
}

// The status words of every check line, in order.
std::vector<std::string> statuses(const std::string &report) {
    std::vector<std::string> found;
    std::istringstream lines(report);
    std::string line;
    while (std::getline(lines, line)) {
        for (const char *word : {"OK", "WARN", "FAIL", "SKIP"}) {
            if (line.starts_with(std::string(word) + "  "))
                found.push_back(word);
        }
    }
    return found;
}

class DoctorLab : public LabTest {
protected:
    DoctorLab() : LabTest("doctor") {}

    void SetUp() override {
        LabTest::SetUp();
        if (IsSkipped() || HasFatalFailure())
            return;
        for (const Report &report : vm_->reports()) {
            if (report.count("event") && report.at("event") == "doctor") {
                video_ = report.at("video");
                chip_ = report.at("chip").substr(5);  // without /dev/
                // The console's lines end in CR LF.
                while (!chip_.empty() && std::isspace(static_cast<unsigned char>(chip_.back())))
                    chip_.pop_back();
            }
        }
        ASSERT_FALSE(video_.empty()) << vm_->console();
    }

    // kvmvnc --check-hardware in the guest: its exit status, its output in
    // report_.
    int check(const std::string &arguments = "") {
        LabVm::Reply reply = vm_->command("check " + arguments);
        report_ = reply.output;
        std::printf("--- kvmvncd --check-hardware %s(exit status %d)\n%s", arguments.c_str(),
                    reply.rc, report_.c_str());
        return reply.rc;
    }

    // kvmvncctl doctor on the host, through the port forward.
    int kvmvncctlDoctor() {
        const std::filesystem::path dir = std::filesystem::temp_directory_path();
        const std::string stem = "kvmvnc-doctor-lab-" + std::to_string(::getpid());
        const std::string output = (dir / (stem + ".out")).string();
        const int status = testing::runCommand(
            {KVMVNC_CTL_PATH, "--host", "127.0.0.1:" + std::to_string(vm_->vncPort()),
             "--known-hosts", (dir / (stem + ".hosts")).string(), "doctor"},
            {}, 60s, output);
        std::ifstream file(output);
        report_.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
        std::filesystem::remove(output);
        std::filesystem::remove(dir / (stem + ".hosts"));
        std::printf("--- kvmvncctl doctor (exit status %d)\n%s", status, report_.c_str());
        return status;
    }

    std::string video_;  // /dev/videoN
    std::string chip_;   // gpiochipN
    std::string report_;
};

TEST_F(DoctorLab, EachBrokenPartGivesItsFailLine) {
    // Everything there: only the EDID (vivid's own until kvmvncd loads
    // kvmvnc's) and the listen address (kvmvncd is not running) warn, and
    // the guest has no SoC sensors.
    ASSERT_EQ(check(), 0) << report_;
    EXPECT_EQ(statuses(report_),
              (std::vector<std::string>{"OK", "OK", "OK", "OK", "OK", "OK", "OK", "OK", "OK",
                                        "WARN", "OK", "OK", "SKIP", "SKIP", "OK", "WARN"}))
        << report_;
    EXPECT_EQ(lineOf(report_, "usb controller"), "OK    usb controller   dummy_udc.0");
    EXPECT_EQ(lineOf(report_, "usb gadget"),
              "OK    usb gadget       kvmvnc bound to dummy_udc.0: hid.usb0, hid.usb1, hid.usb2, "
              "mass_storage.usb0");
    EXPECT_NE(lineOf(report_, "capture device").find("driver vivid at platform:vivid-000"),
              std::string::npos)
        << report_;
    EXPECT_NE(lineOf(report_, "capture signal").find("(DV timings)"), std::string::npos) << report_;
    EXPECT_EQ(lineOf(report_, "gpio lines"),
              "OK    gpio lines       power button 0, reset button 1, power LED 2, HDD LED 3 on " +
                  chip_);
    EXPECT_TRUE(report_.ends_with("everything the configuration needs is there (2 warnings)\n"))
        << report_;

    // The gadget unbound: no controller for the target, and f_hid's nodes
    // go with the binding.
    run("gadget-unbind");
    EXPECT_EQ(check(), 1) << report_;
    EXPECT_EQ(lineOf(report_, "usb gadget"),
              "FAIL  usb gadget       gadget kvmvnc is not bound to a USB device controller; fix: "
              "sudo kvmvnc-gadget up (or sudo systemctl restart kvmvnc-gadget)");
    EXPECT_EQ(lineOf(report_, "keyboard"),
              "FAIL  keyboard         no /dev/hidg0; fix: bind the gadget (usb gadget above): the "
              "node exists while it is");
    run("gadget-bind");
    EXPECT_EQ(check(), 0) << report_;

    // A power button on line 12 of an 8-line chip.
    EXPECT_EQ(check("power_button=12"), 1) << report_;
    EXPECT_EQ(lineOf(report_, "gpio lines"),
              "FAIL  gpio lines       power button line 12: " + chip_ +
                  " has 8 lines (0 to 7); fix: set [atx] power_button to a line of " + chip_ +
                  " (gpioinfo " + chip_ + "), or -1 when it is not wired");

    // No vivid: no capture device, and nothing to ask about formats,
    // signal or EDID.
    run("vivid-unload");
    EXPECT_EQ(check(), 1) << report_;
    EXPECT_TRUE(lineOf(report_, "capture device")
                    .starts_with("FAIL  capture device   no " + video_ +
                                 "; fix: connect the capture device"))
        << report_;
    EXPECT_EQ(lineOf(report_, "edid"), "SKIP  edid             no capture device (above)");
    EXPECT_TRUE(
        report_.ends_with("1 part the configuration needs is missing or wrong, 1 "
                          "warning\n"))
        << report_;
}

// kvmvncctl doctor asks the running kvmvncd, which checks as itself: it
// holds the GPIO lines and has loaded kvmvnc's EDID. Unbinding the gadget
// under it fails the check there too.
TEST_F(DoctorLab, KvmvncctlDoctorAsksTheRunningDaemon) {
    run("kvmvncd-start");
    ASSERT_EQ(kvmvncctlDoctor(), 0) << report_;
    EXPECT_NE(lineOf(report_, "connection").find("answers (RFB 003.008)"), std::string::npos)
        << report_;
    EXPECT_TRUE(lineOf(report_, "certificate seen").starts_with("OK    certificate seen shown by "))
        << report_;
    EXPECT_EQ(lineOf(report_, "gpio lines"),
              "OK    gpio lines       power button 0, reset button 1, power LED 2, HDD LED 3 on " +
                  chip_ + ", held by kvmvncd");
    EXPECT_NE(lineOf(report_, "edid").find("holds kvmvnc's default EDID: monitor kvmvnc"),
              std::string::npos)
        << report_;
    EXPECT_EQ(lineOf(report_, "listen address"),
              "OK    listen address   kvmvncd listens on 0.0.0.0:5900");
    EXPECT_NE(report_.find("everything the configuration needs is there"), std::string::npos)
        << report_;

    run("gadget-unbind");
    EXPECT_EQ(kvmvncctlDoctor(), 1) << report_;
    EXPECT_TRUE(lineOf(report_, "usb gadget")
                    .starts_with("FAIL  usb gadget       gadget kvmvnc is not bound"))
        << report_;
    run("gadget-bind");
    EXPECT_EQ(run("kvmvncd-stop").rc, 0);
}

}  // namespace
}  // namespace kvmvnc::lab
