// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "kvmvnc/msd/image_store.h"

namespace kvmvnc::msd {

enum class DriveMode : uint8_t { CdRom = 0, Flash = 1 };

struct DriveState {
    bool inserted = false;
    std::string image;  // name in the store, when inserted
    uint64_t size = 0;
    DriveMode mode = DriveMode::CdRom;
    bool readOnly = true;
    // Why the last insert or eject did not happen, until the next one
    // succeeds: "the host holds the medium (EBUSY)", "no LUN at ...".
    std::string problem;
    bool operator==(const DriveState &) const = default;
};

// The seam to the USB drive the target sees: ConfigfsDrive writes a
// mass-storage function's LUN (file, cdrom, ro, removable,
// inquiry_string, forced_eject); target::VirtualDrive hands the image to the
// virtual target's machine. A CD-ROM is always read-only.
//
// Called from the control stage's threads, one call at a time (the caller
// serialises); implementations need no lock of their own beyond that.
class Drive {
public:
    virtual ~Drive() = default;

    // Inserts the image at `path` (named `name` in the store). An inserted
    // image is ejected first. Errors: Io (with the reason), Busy (the host
    // holds the medium and would not let go).
    virtual StoreResult insert(const std::filesystem::path &path, const std::string &name,
                               DriveMode mode, bool readOnly) = 0;
    // Ejects the medium, forcing it out when the host keeps it locked.
    virtual StoreResult eject() = 0;
    virtual DriveState state() const = 0;
    // "configfs LUN /sys/kernel/config/..." or "virtual target".
    virtual std::string description() const = 0;
};

}  // namespace kvmvnc::msd
