// SPDX-License-Identifier: GPL-2.0-or-later
// The mass-storage stage on the kernel's real configfs LUN: ImageStore and
// ConfigfsDrive (through kvmvnc_msd_probe in the guest) against a gadget on
// dummy_hcd, read back by the guest's own USB host (usb-storage, sd, sr).
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "lab_test.h"

namespace kvmvnc::lab {
namespace {

class MsdLab : public LabTest {
protected:
    MsdLab() : LabTest("msd") {}

    // The probe's answer line, without the stage's log lines.
    static std::string answer(const LabVm::Reply &reply) {
        std::string last;
        size_t start = 0;
        while (start < reply.output.size()) {
            size_t end = reply.output.find('\n', start);
            if (end == std::string::npos)
                end = reply.output.size();
            const std::string line = reply.output.substr(start, end - start);
            if (line.rfind("I msd:", 0) != 0 && line.rfind("W msd:", 0) != 0)
                last = line;
            start = end + 1;
        }
        return last;
    }
};

// An image uploaded into an ImageStore (tmpfs) is inserted by ConfigfsDrive
// as a flash drive into a LUN the target has enumerated without a medium:
// the target's SCSI disk reads back exactly the image. Ejected, the disk
// has no medium. Inserted as a CD-ROM (the device type reaches the target
// at enumeration, so ConfigfsDrive plugs the gadget in again), the target's sr
// device reads back the same bytes (1 MiB, a multiple of 2048). With the
// target holding the CD open (its driver locks the door: PREVENT MEDIUM
// REMOVAL), the plain eject gets EBUSY and forced_eject takes it out.
TEST_F(MsdLab, ConfigfsDriveInsertsFlashAndCdromIntoTheRealLun) {
    LabVm::Reply up = run("gadget-up");
    ASSERT_EQ(up.rc, 0);
    EXPECT_NE(up.output.find("block=/dev/sd"), std::string::npos) << up.output;
    EXPECT_EQ(run("make-image 1048576").output, "size=1048576\n");
    EXPECT_EQ(answer(run("upload disk.img")), "ok");
    EXPECT_EQ(answer(run("store list")), "disk.img 1048576");

    // Flash, writable.
    LabVm::Reply insert = run("probe insert /srv/images/disk.img flash");
    EXPECT_EQ(answer(insert), "ok") << insert.output;
    EXPECT_EQ(insert.output.find("plugging"), std::string::npos) << "already a disk: no re-plug";
    EXPECT_EQ(run("probe state").output,
              "inserted=1 image=disk.img size=1048576 mode=flash ro=0 problem=\n");
    EXPECT_EQ(run("sh cat $LUN/ro $LUN/cdrom $LUN/removable $LUN/file").output,
              "0\n0\n1\n/srv/images/disk.img\n");
    EXPECT_EQ(run("device-equals sd").output, "equal=1\n");

    EXPECT_EQ(answer(run("probe eject")), "ok");
    EXPECT_EQ(run("probe state").output, "inserted=0 image= size=0 mode=cdrom ro=1 problem=\n");
    EXPECT_EQ(run("medium-absent sd").output, "absent=1\n");

    // CD-ROM: ConfigfsDrive plugs the gadget in again by itself, so the
    // target sees the new device type.
    insert = run("probe insert /srv/images/disk.img cdrom");
    EXPECT_EQ(answer(insert), "ok") << insert.output;
    EXPECT_NE(insert.output.find("plugging the gadget into the host again"), std::string::npos)
        << insert.output;
    EXPECT_EQ(run("sh cat $LUN/ro $LUN/cdrom $LUN/inquiry_string").output,
              "1\n1\nkvmvnc  Virtual CD-ROM  1.00\n");
    EXPECT_EQ(run("device-equals sr").output, "equal=1\n");

    // The target holds the medium: forced out.
    run("hold sr");
    LabVm::Reply eject = run("probe eject");
    EXPECT_EQ(answer(eject), "ok") << eject.output;
    EXPECT_NE(eject.output.find("the host holds the medium; forcing it out"), std::string::npos)
        << eject.output;
    EXPECT_EQ(run("sh cat $LUN/file").output, "");  // no medium: empty
    run("release");
    EXPECT_EQ(run("medium-absent sr").output, "absent=1\n");
}

}  // namespace
}  // namespace kvmvnc::lab
