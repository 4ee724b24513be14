// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <linux/videodev2.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "kvmvnc/capture/edid.h"
#include "kvmvnc/doctor/machine.h"

namespace kvmvnc::doctor {

// A machine recorded in tests/doctor/data/NAME: its sysfs, configfs, device
// tree, /boot and /var files are read from the tree by LinuxMachine; what
// git cannot hold (device nodes and owners, the user database) and what
// only hardware answers (ioctls, sockets) are set here, as on that machine.
class RecordedMachine final : public LinuxMachine {
public:
    // A simulated GPIO chip.
    struct Chip {
        std::string name = "gpiochip0";
        std::string label = "pinctrl-bcm2711";
        unsigned lines = 58;
        std::map<int, std::string> consumers;  // lines someone requested
    };

    explicit RecordedMachine(const std::filesystem::path &tree) : LinuxMachine(tree) {
        // As the package sets a Pi up: udev's rules, groups video and gpio.
        const FileFacts hidg{0, true, false, "root", "kvmvnc", 0660};
        nodes["/dev/hidg0"] = hidg;
        nodes["/dev/hidg1"] = hidg;
        nodes["/dev/hidg2"] = hidg;
        nodes["/dev/video0"] = {0, true, false, "root", "video", 0660};
        nodes["/dev/gpiochip0"] = {0, true, false, "root", "gpio", 0660};
        // kvmvnc-gadget up --owner kvmvnc.
        nodes["/sys/kernel/config/usb_gadget/kvmvnc/functions/mass_storage.usb0/lun.0/file"] = {
            0, false, false, "kvmvnc", "root", 0644};
    }

    // A TC358743 behind the Pi 4's unicam with a 1080p60 signal, holding
    // kvmvnc's EDID.
    static V4l2Facts tc358743() {
        V4l2Facts facts;
        facts.driver = "unicam";
        facts.card = "unicam";
        facts.busInfo = "platform:fe801000.csi";
        facts.videoCapture = true;
        facts.streaming = true;
        facts.input = 0;
        facts.inputName = "Camera 0";
        facts.formats = {V4L2_PIX_FMT_RGB24, V4L2_PIX_FMT_UYVY};
        facts.dvError = 0;
        facts.timings = {1920, 1080};
        facts.refreshMilliHz = 60000;
        facts.currentFourcc = V4L2_PIX_FMT_UYVY;
        facts.currentSize = {1920, 1080};
        facts.sizesFourcc = V4L2_PIX_FMT_UYVY;
        facts.edidError = 0;
        facts.edidNode = "/dev/video0";
        facts.edid = capture::Edid::kvmvncDefault().bytes();
        return facts;
    }

    // An MS2109 USB dongle: MJPEG and YUYV, sizes to choose, no DV
    // timings, no EDID to load.
    static V4l2Facts usbDongle() {
        V4l2Facts facts;
        facts.driver = "uvcvideo";
        facts.card = "USB Video: USB Video";
        facts.busInfo = "usb-0000:01:00.0-1.3";
        facts.videoCapture = true;
        facts.streaming = true;
        facts.input = 0;
        facts.inputName = "Camera 1";
        facts.formats = {V4L2_PIX_FMT_MJPEG, V4L2_PIX_FMT_YUYV};
        facts.dvError = -ENOTTY;
        facts.currentFourcc = V4L2_PIX_FMT_MJPEG;
        facts.currentSize = {1920, 1080};
        facts.sizesFourcc = V4L2_PIX_FMT_MJPEG;
        facts.sizes = {{1920, 1080}, {1600, 1200}, {1360, 768}, {1280, 1024}, {1280, 960},
                       {1280, 720},  {1024, 768},  {800, 600},  {720, 576},   {640, 480}};
        facts.edidError = -ENOTTY;
        facts.edidNode = "/dev/video0";
        return facts;
    }

    FileFacts stat(const std::string &path) const override {
        if (auto node = nodes.find(path); node != nodes.end())
            return node->second;
        if (path.starts_with("/dev/"))
            return {ENOENT, false, false, {}, {}, 0};
        // Files of the tree belong to whoever checked it out; on the machine
        // they are root's.
        FileFacts facts = LinuxMachine::stat(path);
        if (facts.error == 0) {
            facts.owner = "root";
            facts.group = "root";
        }
        return facts;
    }

    Account serviceAccount() const override { return account; }

    V4l2Facts probeV4l2(const std::string &device, int input,
                        std::optional<capture::PixelFormat> format) const override {
        probedDevice = device;
        probedInput = input;
        probedFormat = format;
        return v4l2;
    }

    GpioFacts probeGpio(const std::string &name, const std::vector<int> &offsets) const override {
        GpioFacts facts;
        if (name != chip.name && name != "/dev/" + chip.name) {
            facts.openError = ENOENT;
            return facts;
        }
        facts.name = chip.name;
        facts.label = chip.label;
        facts.lineCount = chip.lines;
        for (int offset : offsets) {
            GpioFacts::Line line;
            line.offset = offset;
            line.exists = offset >= 0 && static_cast<unsigned>(offset) < chip.lines;
            if (line.exists) {
                line.name = "GPIO" + std::to_string(offset);
                if (auto consumer = chip.consumers.find(offset); consumer != chip.consumers.end()) {
                    line.used = true;
                    line.consumer = consumer->second;
                }
            }
            facts.lines.push_back(line);
        }
        return facts;
    }

    ListenFacts probeListen(const std::string &, int) const override {
        ++listenProbes;
        return listen;
    }

    std::map<std::string, FileFacts> nodes;
    Account account{
        "kvmvnc", false, {"kvmvnc", "video", "gpio"}, "the user kvmvncd.service runs as"};
    V4l2Facts v4l2 = tc358743();
    Chip chip;
    ListenFacts listen{ListenFacts::State::Free, {}, "nothing listens on 0.0.0.0:5900"};

    mutable std::string probedDevice;
    mutable int probedInput = -2;
    mutable std::optional<capture::PixelFormat> probedFormat;
    mutable int listenProbes = 0;
};

// A writable copy of a recorded tree (symlinks kept), for one test to change.
class TreeCopy {
public:
    TreeCopy(const std::filesystem::path &tree, const std::string &name) {
        root_ = std::filesystem::temp_directory_path() /
                ("kvmvnc-doctor-" + std::to_string(::getpid()) + "-" + name);
        std::filesystem::remove_all(root_);
        std::filesystem::copy(tree, root_,
                              std::filesystem::copy_options::recursive |
                                  std::filesystem::copy_options::copy_symlinks);
    }
    ~TreeCopy() { std::filesystem::remove_all(root_); }
    TreeCopy(const TreeCopy &) = delete;
    TreeCopy &operator=(const TreeCopy &) = delete;

    const std::filesystem::path &root() const { return root_; }
    void write(const std::string &path, const std::string &text) const {
        const std::filesystem::path file = root_ / std::filesystem::path(path).relative_path();
        std::filesystem::create_directories(file.parent_path());
        std::ofstream(file) << text;
    }

private:
    std::filesystem::path root_;
};

}  // namespace kvmvnc::doctor
