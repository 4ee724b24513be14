// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/msd/configfs_drive.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "kvmvnc/base/error_text.h"
#include "kvmvnc/base/log.h"
#include "kvmvnc/base/unique_fd.h"

namespace kvmvnc::msd {

namespace {

constexpr const char *kLog = "msd";
constexpr const char *kHostHolds = "the host holds the medium (EBUSY)";

// An attribute's value without its newline; empty when unreadable.
std::string readAttribute(const std::filesystem::path &path) {
    std::ifstream file(path);
    std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    return text;
}

std::string padded(std::string text, size_t width) {
    text.resize(width, ' ');
    return text;
}

}  // namespace

ConfigfsDrive::ConfigfsDrive(std::filesystem::path lun, AttributeWriter writer)
    : lun_(std::move(lun)), writer_(std::move(writer)) {
    if (!writer_)
        writer_ = writeAttribute;
    if (!std::filesystem::is_directory(lun_)) {
        state_.problem = "no LUN at " + lun_.string();
        return;
    }
    // A medium left in by an earlier run of the daemon.
    const std::string file = readAttribute(lun_ / "file");
    if (file.empty())
        return;
    struct stat info {};
    state_.inserted = true;
    state_.image = std::filesystem::path(file).filename().string();
    state_.size = ::stat(file.c_str(), &info) == 0 ? static_cast<uint64_t>(info.st_size) : 0;
    state_.mode = readAttribute(lun_ / "cdrom") == "1" ? DriveMode::CdRom : DriveMode::Flash;
    state_.readOnly = readAttribute(lun_ / "ro") == "1";
}

std::string ConfigfsDrive::description() const { return "configfs LUN " + lun_.string(); }

int ConfigfsDrive::writeAttribute(const std::filesystem::path &path, const std::string &value) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (!fd.isValid())
        return errno;
    const std::string line = value + "\n";
    ssize_t written = 0;
    do {
        written = ::write(fd.get(), line.data(), line.size());
    } while (written < 0 && errno == EINTR);
    if (written < 0)
        return errno;
    return written == static_cast<ssize_t>(line.size()) ? 0 : EIO;
}

std::string ConfigfsDrive::inquiryString(DriveMode mode) {
    return padded("kvmvnc", 8) +
           padded(mode == DriveMode::CdRom ? "Virtual CD-ROM" : "Virtual Flash", 16) + "1.00";
}

StoreResult ConfigfsDrive::write(const char *attribute, const std::string &value) {
    const int error = writer_(lun_ / attribute, value);
    if (error == 0)
        return {};
    if (error == EBUSY)
        return {StoreError::Busy, kHostHolds};
    if (error == ENOENT && !std::filesystem::is_directory(lun_))
        return {StoreError::Io, "no LUN at " + lun_.string()};
    return {StoreError::Io, "writing " + (lun_ / attribute).string() + ": " + errorText(error)};
}

StoreResult ConfigfsDrive::failed(StoreResult result) {
    state_.problem = result.message;
    return result;
}

StoreResult ConfigfsDrive::ejectMedium() {
    if (!state_.inserted && readAttribute(lun_ / "file").empty())
        return {};
    StoreResult result = write("file", "");
    if (result.error == StoreError::Busy) {
        LOG_INFO(kLog, "%s: the host holds the medium; forcing it out", lun_.c_str());
        result = write("forced_eject", "1");
    }
    if (!result)
        return result;
    state_ = {};
    return {};
}

StoreResult ConfigfsDrive::insert(const std::filesystem::path &path, const std::string &name,
                                  DriveMode mode, bool readOnly) {
    if (!std::filesystem::is_directory(lun_))
        return failed({StoreError::Io, "no LUN at " + lun_.string()});
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0)
        return failed({StoreError::Io, "cannot insert " + path.string() + ": " + errorText(errno)});
    if (!S_ISREG(info.st_mode))
        return failed({StoreError::Io, "cannot insert " + path.string() + ": not a regular file"});
    if (StoreResult result = ejectMedium(); !result)
        return failed(std::move(result));

    const bool cdrom = mode == DriveMode::CdRom;
    const bool ro = cdrom || readOnly;
    // The host learns disk or CD-ROM at enumeration: a change of type needs
    // the gadget plugged in again once the medium is in.
    const bool typeChanges = readAttribute(lun_ / "cdrom") != (cdrom ? "1" : "0");
    for (const auto &[attribute, value] :
         {std::pair<const char *, std::string>{"cdrom", cdrom ? "1" : "0"},
          {"ro", ro ? "1" : "0"},
          {"removable", "1"},
          {"inquiry_string", inquiryString(mode)},
          {"file", path.string()}}) {
        if (StoreResult result = write(attribute, value); !result)
            return failed(std::move(result));
    }
    state_ = {true, name, static_cast<uint64_t>(info.st_size), mode, ro, ""};
    LOG_INFO(kLog, "%s: inserted %s as %s%s", lun_.c_str(), name.c_str(),
             cdrom ? "CD-ROM" : "flash drive", ro && !cdrom ? " (read-only)" : "");
    if (typeChanges) {
        if (StoreResult result = replug(); !result) {
            state_.problem = result.message;
            return result;
        }
    }
    return {};
}

std::filesystem::path ConfigfsDrive::udcAttribute() const {
    // .../usb_gadget/G/functions/mass_storage.N/lun.0 -> .../usb_gadget/G/UDC
    const std::filesystem::path functions = lun_.parent_path().parent_path();
    if (functions.filename() != "functions")
        return {};
    return functions.parent_path() / "UDC";
}

StoreResult ConfigfsDrive::replug() {
    const std::filesystem::path udcPath = udcAttribute();
    const std::string udc = udcPath.empty() ? std::string() : readAttribute(udcPath);
    if (udc.empty()) {
        LOG_INFO(kLog, "%s: the gadget is not bound; the host sees the new device type when it is",
                 lun_.c_str());
        return {};
    }
    LOG_INFO(kLog, "%s: plugging the gadget into the host again (%s) for the new device type",
             lun_.c_str(), udc.c_str());
    int error = writer_(udcPath, "");
    if (error == 0)
        error = writer_(udcPath, udc);
    if (error != 0)
        return {StoreError::Io,
                "plugging the gadget in again (" + udcPath.string() + "): " + errorText(error)};
    return {};
}

StoreResult ConfigfsDrive::eject() {
    if (!std::filesystem::is_directory(lun_))
        return failed({StoreError::Io, "no LUN at " + lun_.string()});
    if (StoreResult result = ejectMedium(); !result)
        return failed(std::move(result));
    LOG_INFO(kLog, "%s: ejected", lun_.c_str());
    return {};
}

}  // namespace kvmvnc::msd
