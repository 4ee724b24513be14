// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <memory>

#include "kvmvnc/msd/drive.h"
#include "kvmvnc/target/virtual_machine.h"

namespace kvmvnc::target {

// The virtual target's USB port for the mass-storage seam: inserting reads
// the image's first bytes (as the machine's "operating system" would) and
// plugs a DriveView into the VirtualMachine; ejecting pulls it out. The
// machine never holds the medium, so nothing is ever Busy.
//
// Thread-bound like every Drive (the caller serialises); the machine is
// thread-safe and shared.
class VirtualDrive final : public msd::Drive {
public:
    explicit VirtualDrive(std::shared_ptr<VirtualMachine> machine);

    msd::StoreResult insert(const std::filesystem::path &path, const std::string &name,
                            msd::DriveMode mode, bool readOnly) override;
    msd::StoreResult eject() override;
    msd::DriveState state() const override { return state_; }
    std::string description() const override { return "virtual target"; }

private:
    std::shared_ptr<VirtualMachine> machine_;
    msd::DriveState state_;
};

}  // namespace kvmvnc::target
