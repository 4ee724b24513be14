// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/msd/configfs_drive.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <iterator>
#include <set>

namespace kvmvnc::msd {
namespace {

namespace fs = std::filesystem;

std::string readFile(const fs::path &path) {
    std::ifstream file(path);
    return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

// A folder of plain files standing in for a configfs LUN, and a writer that
// logs every attribute write and answers EBUSY like the kernel does: for
// `file` while the host prevents medium removal, for `cdrom` and `ro`
// while a medium is in.
class ConfigfsDriveTest : public testing::Test {
protected:
    void SetUp() override {
        char templ[] = "/tmp/kvmvnc-lun-XXXXXX";
        ASSERT_NE(::mkdtemp(templ), nullptr);
        dir = templ;
        lun = dir / "lun.0";
        fs::create_directory(lun);
        for (const char *attribute :
             {"file", "cdrom", "ro", "removable", "inquiry_string", "forced_eject", "nofua"})
            std::ofstream(lun / attribute).flush();
        image = dir / "debian.iso";
        std::ofstream(image) << std::string(4096, 'i');
        other = dir / "other.img";
        std::ofstream(other) << std::string(1024, 'o');
    }
    void TearDown() override { fs::remove_all(dir); }

    ConfigfsDrive::AttributeWriter kernelLike() {
        return [this](const fs::path &path, const std::string &value) {
            const std::string attribute = path.filename().string();
            writes.push_back(attribute + "=" + value);
            const std::string file = readFile(lun / "file");
            const bool open = !file.empty() && file != "\n";
            if (attribute == "file" && open && hostLocks)
                return EBUSY;
            if ((attribute == "cdrom" || attribute == "ro") && open)
                return EBUSY;
            if (attribute == "forced_eject") {
                if (forcedEjectFails)
                    return EBUSY;
                return ConfigfsDrive::writeAttribute(lun / "file", "");
            }
            return ConfigfsDrive::writeAttribute(path, value);
        };
    }

    fs::path dir, lun, image, other;
    std::vector<std::string> writes;
    bool hostLocks = false;
    bool forcedEjectFails = false;
};

TEST_F(ConfigfsDriveTest, InquiryStringHasTheSizedFields) {
    const std::string cdrom = ConfigfsDrive::inquiryString(DriveMode::CdRom);
    ASSERT_EQ(cdrom.size(), 28u);
    EXPECT_EQ(cdrom.substr(0, 8), "kvmvnc  ");
    EXPECT_EQ(cdrom.substr(8, 16), "Virtual CD-ROM  ");
    EXPECT_EQ(cdrom.substr(24), "1.00");
    EXPECT_EQ(ConfigfsDrive::inquiryString(DriveMode::Flash), "kvmvnc  Virtual Flash   1.00");
}

TEST_F(ConfigfsDriveTest, InsertWritesTheLunAttributes) {
    ConfigfsDrive drive(lun);
    EXPECT_EQ(drive.description(), "configfs LUN " + lun.string());
    EXPECT_FALSE(drive.state().inserted);
    StoreResult result = drive.insert(image, "debian.iso", DriveMode::CdRom, false);
    ASSERT_TRUE(result) << result.message;
    EXPECT_EQ(readFile(lun / "file"), image.string() + "\n");
    EXPECT_EQ(readFile(lun / "cdrom"), "1\n");
    EXPECT_EQ(readFile(lun / "ro"), "1\n");  // a CD-ROM is read-only
    EXPECT_EQ(readFile(lun / "removable"), "1\n");
    EXPECT_EQ(readFile(lun / "inquiry_string"), "kvmvnc  Virtual CD-ROM  1.00\n");
    EXPECT_EQ(drive.state(), (DriveState{true, "debian.iso", 4096, DriveMode::CdRom, true, ""}));
}

TEST_F(ConfigfsDriveTest, InsertEjectsFirstThenWritesFileLast) {
    ConfigfsDrive drive(lun, kernelLike());
    ASSERT_TRUE(drive.insert(image, "debian.iso", DriveMode::CdRom, true));
    writes.clear();
    StoreResult result = drive.insert(other, "other.img", DriveMode::Flash, false);
    ASSERT_TRUE(result) << result.message;
    EXPECT_EQ(writes, (std::vector<std::string>{"file=", "cdrom=0", "ro=0", "removable=1",
                                                "inquiry_string=kvmvnc  Virtual Flash   1.00",
                                                "file=" + other.string()}));
    EXPECT_EQ(drive.state(), (DriveState{true, "other.img", 1024, DriveMode::Flash, false, ""}));
}

// A LUN inside a gadget: switching between flash and CD-ROM plugs the
// gadget in again, after the medium is in; the same type again does not.
TEST_F(ConfigfsDriveTest, ChangingTheDeviceTypePlugsTheGadgetInAgain) {
    const fs::path gadget = dir / "usb_gadget" / "kvmvnc";
    fs::create_directories(gadget / "functions" / "mass_storage.usb0");
    fs::rename(lun, gadget / "functions" / "mass_storage.usb0" / "lun.0");
    lun = gadget / "functions" / "mass_storage.usb0" / "lun.0";
    std::ofstream(lun / "cdrom") << "1\n";
    std::ofstream(gadget / "UDC") << "fe980000.usb\n";

    ConfigfsDrive drive(lun, kernelLike());
    ASSERT_TRUE(drive.insert(image, "debian.iso", DriveMode::CdRom, true));
    EXPECT_EQ(std::count(writes.begin(), writes.end(), "UDC="), 0) << "still a CD-ROM";
    writes.clear();
    ASSERT_TRUE(drive.insert(other, "other.img", DriveMode::Flash, false));
    EXPECT_EQ(writes,
              (std::vector<std::string>{"file=", "cdrom=0", "ro=0", "removable=1",
                                        "inquiry_string=kvmvnc  Virtual Flash   1.00",
                                        "file=" + other.string(), "UDC=", "UDC=fe980000.usb"}));
    EXPECT_EQ(readFile(gadget / "UDC"), "fe980000.usb\n");

    writes.clear();
    std::ofstream(gadget / "UDC") << "\n";  // unbound: left alone
    ASSERT_TRUE(drive.insert(image, "debian.iso", DriveMode::CdRom, true));
    EXPECT_EQ(writes.back(), "file=" + image.string());
}

TEST_F(ConfigfsDriveTest, AFailedReplugIsReported) {
    const fs::path gadget = dir / "g";
    fs::create_directories(gadget / "functions" / "mass_storage.usb0");
    fs::rename(lun, gadget / "functions" / "mass_storage.usb0" / "lun.0");
    lun = gadget / "functions" / "mass_storage.usb0" / "lun.0";
    std::ofstream(gadget / "UDC") << "dummy_udc.0\n";
    ConfigfsDrive drive(lun, [&](const fs::path &path, const std::string &value) {
        if (path.filename() == "UDC" && !value.empty())
            return ENODEV;  // the UDC went away in between
        return ConfigfsDrive::writeAttribute(path, value);
    });
    StoreResult result = drive.insert(image, "debian.iso", DriveMode::Flash, false);
    EXPECT_EQ(result.error, StoreError::Io);
    EXPECT_NE(result.message.find("plugging the gadget in again"), std::string::npos)
        << result.message;
    EXPECT_TRUE(drive.state().inserted) << "the medium is in; the host has not seen it yet";
    EXPECT_EQ(drive.state().problem, result.message);
}

TEST_F(ConfigfsDriveTest, EjectEmptiesTheFile) {
    ConfigfsDrive drive(lun, kernelLike());
    ASSERT_TRUE(drive.insert(image, "debian.iso", DriveMode::Flash, true));
    EXPECT_EQ(readFile(lun / "ro"), "1\n");
    ASSERT_TRUE(drive.eject());
    EXPECT_EQ(readFile(lun / "file"), "\n");
    EXPECT_EQ(readFile(lun / "forced_eject"), "");
    EXPECT_EQ(drive.state(), DriveState{});
    // Nothing in: nothing to write.
    writes.clear();
    ASSERT_TRUE(drive.eject());
    EXPECT_TRUE(writes.empty());
}

TEST_F(ConfigfsDriveTest, EjectForcesAMediumTheHostHolds) {
    ConfigfsDrive drive(lun, kernelLike());
    ASSERT_TRUE(drive.insert(image, "debian.iso", DriveMode::CdRom, true));
    hostLocks = true;
    writes.clear();
    StoreResult result = drive.eject();
    ASSERT_TRUE(result) << result.message;
    EXPECT_EQ(writes, (std::vector<std::string>{"file=", "forced_eject=1"}));
    EXPECT_EQ(readFile(lun / "file"), "\n");
    EXPECT_FALSE(drive.state().inserted);
}

TEST_F(ConfigfsDriveTest, HostThatWillNotLetGoIsBusy) {
    ConfigfsDrive drive(lun, kernelLike());
    ASSERT_TRUE(drive.insert(image, "debian.iso", DriveMode::CdRom, true));
    hostLocks = true;
    forcedEjectFails = true;
    StoreResult result = drive.eject();
    EXPECT_EQ(result.error, StoreError::Busy);
    EXPECT_NE(drive.state().problem.find("the host holds the medium"), std::string::npos);
    EXPECT_TRUE(drive.state().inserted);  // still in

    result = drive.insert(other, "other.img", DriveMode::Flash, false);
    EXPECT_EQ(result.error, StoreError::Busy);
    EXPECT_EQ(result.message, "the host holds the medium (EBUSY)");
    EXPECT_EQ(drive.state().problem, "the host holds the medium (EBUSY)");
    EXPECT_EQ(drive.state().image, "debian.iso");
    EXPECT_EQ(readFile(lun / "file"), image.string() + "\n");

    // The host lets go: the next insert succeeds and clears the problem.
    hostLocks = false;
    ASSERT_TRUE(drive.insert(other, "other.img", DriveMode::Flash, false));
    EXPECT_EQ(drive.state().problem, "");
}

TEST_F(ConfigfsDriveTest, InsertHittingEbusyOnAnAttributeIsBusy) {
    // A medium the drive does not know about (inserted behind its back) and
    // a kernel that refuses ro while it is in.
    ConfigfsDrive drive(lun, [&](const fs::path &path, const std::string &value) {
        if (path.filename() == "ro")
            return EBUSY;
        return ConfigfsDrive::writeAttribute(path, value);
    });
    StoreResult result = drive.insert(image, "debian.iso", DriveMode::Flash, false);
    EXPECT_EQ(result.error, StoreError::Busy);
    EXPECT_NE(drive.state().problem.find("the host holds the medium"), std::string::npos);
    EXPECT_FALSE(drive.state().inserted);
}

TEST_F(ConfigfsDriveTest, PicksUpAMediumLeftIn) {
    ConfigfsDrive::writeAttribute(lun / "file", image.string());
    ConfigfsDrive::writeAttribute(lun / "cdrom", "0");
    ConfigfsDrive::writeAttribute(lun / "ro", "1");
    ConfigfsDrive drive(lun);
    EXPECT_EQ(drive.state(), (DriveState{true, "debian.iso", 4096, DriveMode::Flash, true, ""}));
}

TEST_F(ConfigfsDriveTest, MissingLunIsAnIoError) {
    ConfigfsDrive drive(dir / "no-such-lun");
    EXPECT_EQ(drive.state().problem, "no LUN at " + (dir / "no-such-lun").string());
    StoreResult result = drive.insert(image, "debian.iso", DriveMode::CdRom, true);
    EXPECT_EQ(result.error, StoreError::Io);
    EXPECT_EQ(result.message, "no LUN at " + (dir / "no-such-lun").string());
    EXPECT_EQ(drive.eject().error, StoreError::Io);
    EXPECT_FALSE(drive.state().inserted);
}

TEST_F(ConfigfsDriveTest, MissingImageLeavesTheMediumIn) {
    ConfigfsDrive drive(lun);
    ASSERT_TRUE(drive.insert(image, "debian.iso", DriveMode::CdRom, true));
    StoreResult result = drive.insert(dir / "gone.iso", "gone.iso", DriveMode::CdRom, true);
    EXPECT_EQ(result.error, StoreError::Io);
    EXPECT_EQ(result.message,
              "cannot insert " + (dir / "gone.iso").string() + ": No such file or directory");
    EXPECT_EQ(drive.state().image, "debian.iso");
    EXPECT_EQ(readFile(lun / "file"), image.string() + "\n");
}

TEST_F(ConfigfsDriveTest, OtherWriteErrorsNameTheAttribute) {
    ConfigfsDrive drive(lun, [](const fs::path &path, const std::string &value) {
        if (path.filename() == "inquiry_string")
            return EINVAL;
        return ConfigfsDrive::writeAttribute(path, value);
    });
    StoreResult result = drive.insert(image, "debian.iso", DriveMode::CdRom, true);
    EXPECT_EQ(result.error, StoreError::Io);
    EXPECT_EQ(result.message,
              "writing " + (lun / "inquiry_string").string() + ": Invalid argument");
}

}  // namespace
}  // namespace kvmvnc::msd
