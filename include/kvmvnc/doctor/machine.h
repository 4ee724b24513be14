// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "kvmvnc/base/geometry.h"
#include "kvmvnc/capture/pixel_format.h"

namespace kvmvnc::doctor {

// A file or device node as stat() and the user database describe it.
struct FileFacts {
    int error = 0;  // errno of stat(); the rest is unset unless 0
    bool characterDevice = false;
    bool directory = false;
    std::string owner;  // user name, or the uid in decimal when it has none
    std::string group;  // likewise
    uint32_t mode = 0;  // permission bits (0660)
};

// The user kvmvncd runs as, with every group it gets.
struct Account {
    std::string name;
    bool root = false;
    std::vector<std::string> groups;  // names, the primary group among them
    // Why this account: "the service's user" or "no user kvmvnc here: ...".
    std::string note;
};

// Whether `account` may read and write `file` by its owner, group and mode
// bits (as the kernel decides without ACLs: the owner's bits alone apply to
// the owner, the group's to members).
bool mayReadWrite(const FileFacts &file, const Account &account);

// What a V4L2 capture node says about itself (probeV4l2()).
struct V4l2Facts {
    int openError = 0;  // errno of open(); nothing else is known unless 0
    int queryCapError = 0;
    std::string driver;  // VIDIOC_QUERYCAP
    std::string card;
    std::string busInfo;
    bool videoCapture = false;  // single-planar capture, what kvmvncd uses
    bool multiplanar = false;   // multi-planar capture only
    bool streaming = false;
    // The input kvmvncd will use: the configured one, else the current.
    int input = -1;
    int inputError = 0;  // VIDIOC_ENUMINPUT (EINVAL: no such input)
    std::string inputName;
    // V4L2_IN_ST_*, and the DV timings below, describe the current input
    // only: the probe never switches inputs under a running kvmvncd.
    bool inputCurrent = true;
    uint32_t inputStatus = 0;
    std::vector<uint32_t> formats;  // VIDIOC_ENUM_FMT fourccs
    // VIDIOC_QUERY_DV_TIMINGS: 0 with `timings` and `refreshMilliHz`;
    // -ENOTTY or -ENODATA without DV timings (USB dongles); -ENOLINK no
    // signal, -ENOLCK no lock, -ERANGE out of range.
    int dvError = -ENOTTY;
    Size timings;
    bool interlaced = false;
    uint32_t refreshMilliHz = 0;
    // VIDIOC_G_FMT: what the device is set to now.
    uint32_t currentFourcc = 0;
    Size currentSize;
    // VIDIOC_ENUM_FRAMESIZES of `sizesFourcc`: discrete sizes, or one range
    // from sizes[0] to sizes[1] when `sizeRange`.
    uint32_t sizesFourcc = 0;
    std::vector<Size> sizes;
    bool sizeRange = false;
    // VIDIOC_G_EDID on the video node, else on the subdevice that takes it:
    // 0 with `edid` (empty when it holds none) and `edidNode`; -ENOTTY when
    // no node takes an EDID.
    int edidError = -ENOTTY;
    std::string edidNode;
    std::vector<uint8_t> edid;
};

// A GPIO chip and some of its lines, read without requesting any.
struct GpioFacts {
    int openError = 0;  // errno of opening the chip
    std::string name;   // "gpiochip0"
    std::string label;  // "pinctrl-bcm2711"
    unsigned lineCount = 0;
    struct Line {
        int offset = -1;
        bool exists = false;  // offset < lineCount and its info could be read
        bool used = false;    // requested by someone (the kernel, kvmvncd, another program)
        std::string name;     // "GPIO23", "" when unnamed
        std::string consumer;
    };
    std::vector<Line> lines;  // in the order asked for
};

// Who answers on an address and port.
struct ListenFacts {
    enum class State {
        Rfb,       // an RFB server greeted ("RFB 003.008")
        Other,     // something accepted the connection and said something else, or nothing
        Refused,   // nothing listens (connection refused); probeListen() says which below
        Free,      // nothing listens, and this machine could listen there
        NotLocal,  // nothing listens, and the address is not this machine's
        Error,     // none of the above (a bad address, no permission): see `detail`
    };
    State state = State::Error;
    std::string greeting;  // Rfb: the version line, without its newline
    std::string detail;
};

// Connects to `host`:`port` and reads the server's first line for up to
// `timeoutMs`: Rfb, Other, Refused, or Error with the reason.
ListenFacts greetRfb(const std::string &host, int port, int timeoutMs);

// The machine as the checks see it: its files (sysfs, configfs, the device
// tree, /boot) and what only a live system answers (device nodes, the user
// database, ioctls, sockets). LinuxMachine reads this machine; tests read a
// recorded tree through LinuxMachine and answer the rest themselves.
//
// Paths are the machine's own ("/sys/class/udc"). Const and stateless;
// any thread.
class Machine {
public:
    virtual ~Machine() = default;

    // Where the machine's `path` is in this process's file system.
    virtual std::filesystem::path hostPath(const std::string &path) const = 0;

    // A small file's contents (at most 64 KiB); nullopt when it cannot be read.
    std::optional<std::string> readFile(const std::string &path) const;
    // Its first line without the newline and trailing blanks and NULs (sysfs
    // attributes, device tree strings).
    std::optional<std::string> readLine(const std::string &path) const;
    // Entry names of a directory, sorted, without hidden ones (sysfs and
    // configfs have none; recorded trees keep empty folders with .keep);
    // empty when it cannot be read.
    std::vector<std::string> listDirectory(const std::string &path) const;
    bool exists(const std::string &path) const;

    virtual FileFacts stat(const std::string &path) const = 0;
    virtual Account serviceAccount() const = 0;
    // Opens `device` for a moment and asks, changing nothing (a running
    // kvmvncd streams on undisturbed); `input` and `format` as in [capture]:
    // the frame sizes are those of the format kvmvncd would take.
    virtual V4l2Facts probeV4l2(const std::string &device, int input,
                                std::optional<capture::PixelFormat> format) const = 0;
    // `chip` as in [atx] chip (a name under /dev, a path, a number or a label).
    virtual GpioFacts probeGpio(const std::string &chip, const std::vector<int> &offsets) const = 0;
    virtual ListenFacts probeListen(const std::string &address, int port) const = 0;
};

// This machine, its files under `root` ("/" but in tests). The service's
// user is `serviceUser` when it exists, with the groups kvmvncd.service adds
// (video, gpio), else the user running the check.
class LinuxMachine : public Machine {
public:
    explicit LinuxMachine(std::filesystem::path root = "/", std::string serviceUser = "kvmvnc");

    std::filesystem::path hostPath(const std::string &path) const override;
    FileFacts stat(const std::string &path) const override;
    Account serviceAccount() const override;
    V4l2Facts probeV4l2(const std::string &device, int input,
                        std::optional<capture::PixelFormat> format) const override;
    GpioFacts probeGpio(const std::string &chip, const std::vector<int> &offsets) const override;
    ListenFacts probeListen(const std::string &address, int port) const override;

private:
    std::filesystem::path root_;
    std::string serviceUser_;
};

}  // namespace kvmvnc::doctor
