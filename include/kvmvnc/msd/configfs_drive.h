// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "kvmvnc/msd/drive.h"

namespace kvmvnc::msd {

// The LUN of a USB mass-storage gadget function in configfs
// (.../functions/mass_storage.usb0/lun.0), or a folder of plain files
// standing in for its attributes.
//
// insert() ejects whatever is in, then writes cdrom, ro, removable and
// inquiry_string (the kernel refuses cdrom and ro while a medium is in),
// then the image's path to `file`. eject() writes an empty `file`; when
// the host has locked the medium (PREVENT MEDIUM REMOVAL, EBUSY) it writes
// `forced_eject`. A user asked for the change, so insert() forces too.
//
// The host's SCSI layer reads the device type (disk or CD-ROM) when it
// enumerates the gadget: when an insert switches between Flash and CdRom,
// insert() plugs the gadget in again (writes the gadget's UDC empty, then
// its name back), which briefly unplugs its keyboard and mouse too. A gadget
// that is not bound is left alone: the host sees the type when it is.
//
// Thread-bound like every Drive: the caller serialises calls.
class ConfigfsDrive final : public Drive {
public:
    // Writes `value` to the attribute file `path`; returns 0 or an errno.
    using AttributeWriter =
        std::function<int(const std::filesystem::path &path, const std::string &value)>;

    // `writer` defaults to writeAttribute(); tests pass one that fails like
    // the kernel does. Reads the LUN's current medium, if any.
    explicit ConfigfsDrive(std::filesystem::path lun, AttributeWriter writer = {});

    StoreResult insert(const std::filesystem::path &path, const std::string &name, DriveMode mode,
                       bool readOnly) override;
    StoreResult eject() override;
    DriveState state() const override { return state_; }
    std::string description() const override;

    // One write(2) of `value` and a newline, as `echo` would (configfs takes
    // an attribute in a single write).
    static int writeAttribute(const std::filesystem::path &path, const std::string &value);

    // The inquiry_string for a mode: vendor (8), product (16), revision (4).
    static std::string inquiryString(DriveMode mode);

private:
    StoreResult write(const char *attribute, const std::string &value);
    StoreResult ejectMedium();
    StoreResult failed(StoreResult result);
    std::filesystem::path udcAttribute() const;  // empty: LUN not in a gadget
    StoreResult replug();

    std::filesystem::path lun_;
    AttributeWriter writer_;
    DriveState state_;
};

}  // namespace kvmvnc::msd
