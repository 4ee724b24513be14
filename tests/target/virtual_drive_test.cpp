// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/target/virtual_drive.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>

namespace kvmvnc::target {
namespace {

namespace fs = std::filesystem;

class VirtualDriveTest : public testing::Test {
protected:
    void SetUp() override {
        char templ[] = "/tmp/kvmvnc-vdrive-XXXXXX";
        ASSERT_NE(::mkdtemp(templ), nullptr);
        dir = templ;
        image = dir / "boot.iso";
        std::ofstream file(image, std::ios::binary);
        for (int i = 0; i < 100; ++i)
            file.put(static_cast<char>(i));
    }
    void TearDown() override { fs::remove_all(dir); }

    fs::path dir, image;
    std::shared_ptr<VirtualMachine> machine = std::make_shared<VirtualMachine>(MachineOptions{});
};

TEST_F(VirtualDriveTest, InsertPlugsTheImageIntoTheMachine) {
    VirtualDrive drive(machine);
    EXPECT_EQ(drive.description(), "virtual target");
    ASSERT_TRUE(drive.insert(image, "boot.iso", msd::DriveMode::CdRom, false));
    std::optional<DriveView> view = machine->view().drive;
    ASSERT_TRUE(view);
    EXPECT_EQ(view->name, "boot.iso");
    EXPECT_EQ(view->size, 100u);
    EXPECT_TRUE(view->cdrom);
    EXPECT_TRUE(view->readOnly);
    ASSERT_EQ(view->firstBytes.size(), VirtualMachine::kDriveBytesShown);
    for (size_t i = 0; i < view->firstBytes.size(); ++i)
        EXPECT_EQ(view->firstBytes[i], i);
    EXPECT_EQ(drive.state(),
              (msd::DriveState{true, "boot.iso", 100, msd::DriveMode::CdRom, true, ""}));
}

TEST_F(VirtualDriveTest, FlashDriveMayBeWritable) {
    VirtualDrive drive(machine);
    ASSERT_TRUE(drive.insert(image, "stick.img", msd::DriveMode::Flash, false));
    ASSERT_TRUE(machine->view().drive);
    EXPECT_FALSE(machine->view().drive->cdrom);
    EXPECT_FALSE(machine->view().drive->readOnly);
    EXPECT_FALSE(drive.state().readOnly);
}

TEST_F(VirtualDriveTest, SmallImageShowsWhatItHas) {
    std::ofstream(dir / "tiny", std::ios::binary) << "abc";
    VirtualDrive drive(machine);
    ASSERT_TRUE(drive.insert(dir / "tiny", "tiny", msd::DriveMode::Flash, true));
    EXPECT_EQ(machine->view().drive->firstBytes, (std::vector<uint8_t>{'a', 'b', 'c'}));
}

TEST_F(VirtualDriveTest, EjectPullsItOut) {
    VirtualDrive drive(machine);
    ASSERT_TRUE(drive.insert(image, "boot.iso", msd::DriveMode::CdRom, true));
    ASSERT_TRUE(drive.eject());
    EXPECT_FALSE(machine->view().drive);
    EXPECT_EQ(drive.state(), msd::DriveState{});
}

TEST_F(VirtualDriveTest, UnreadableImageIsAnIoError) {
    VirtualDrive drive(machine);
    ASSERT_TRUE(drive.insert(image, "boot.iso", msd::DriveMode::CdRom, true));
    msd::StoreResult result =
        drive.insert(dir / "missing.iso", "missing.iso", msd::DriveMode::CdRom, true);
    EXPECT_EQ(result.error, msd::StoreError::Io);
    EXPECT_EQ(result.message,
              "cannot insert " + (dir / "missing.iso").string() + ": No such file or directory");
    EXPECT_EQ(drive.state().problem, result.message);
    // The medium that was in stays in.
    ASSERT_TRUE(machine->view().drive);
    EXPECT_EQ(machine->view().drive->name, "boot.iso");
    // A folder is no image either.
    EXPECT_EQ(drive.insert(dir, "dir", msd::DriveMode::CdRom, true).error, msd::StoreError::Io);
}

}  // namespace
}  // namespace kvmvnc::target
