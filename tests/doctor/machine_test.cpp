// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/doctor/machine.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "kvmvnc/base/unique_fd.h"
#include "kvmvnc/doctor/certificate_info.h"
#include "kvmvnc/door/tls.h"

namespace kvmvnc::doctor {
namespace {

namespace fs = std::filesystem;

fs::path tree(const char *name) { return fs::path(KVMVNC_DOCTOR_TREES) / name; }

// A loopback listener on a free port that greets each connection with
// `greeting` (nothing when empty) and closes it.
class Greeter {
public:
    explicit Greeter(std::string greeting) : greeting_(std::move(greeting)) {
        socket_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof(address);
        if (::bind(socket_.get(), reinterpret_cast<sockaddr *>(&address), length) != 0 ||
            ::listen(socket_.get(), 4) != 0 ||
            ::getsockname(socket_.get(), reinterpret_cast<sockaddr *>(&address), &length) != 0)
            throw std::runtime_error("no loopback listener");
        port_ = ntohs(address.sin_port);
        thread_ = std::thread([this] {
            UniqueFd client(::accept4(socket_.get(), nullptr, nullptr, SOCK_CLOEXEC));
            if (client.isValid() && !greeting_.empty())
                (void)!::write(client.get(), greeting_.data(), greeting_.size());
            char byte;
            // Keeps the connection until the prober closes it.
            while (client.isValid() && ::read(client.get(), &byte, 1) > 0) {
            }
        });
    }
    ~Greeter() {
        ::shutdown(socket_.get(), SHUT_RDWR);
        thread_.join();
    }
    int port() const { return port_; }

private:
    std::string greeting_;
    UniqueFd socket_;
    int port_ = 0;
    std::thread thread_;
};

// A loopback port nothing listens on (bound a moment ago, then released).
int freePort() {
    UniqueFd socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    ::bind(socket.get(), reinterpret_cast<sockaddr *>(&address), length);
    ::getsockname(socket.get(), reinterpret_cast<sockaddr *>(&address), &length);
    return ntohs(address.sin_port);
}

TEST(MachineTest, AnRfbServerIsToldFromAnotherProgramAndFromNothing) {
    Greeter rfb("RFB 003.008\n");
    ListenFacts facts = greetRfb("127.0.0.1", rfb.port(), 2000);
    EXPECT_EQ(facts.state, ListenFacts::State::Rfb);
    EXPECT_EQ(facts.greeting, "RFB 003.008");

    // Only its first 12 bytes are read.
    Greeter ssh("SSH-2.0-OpenSSH_9.2\r\n");
    facts = LinuxMachine().probeListen("127.0.0.1", ssh.port());
    EXPECT_EQ(facts.state, ListenFacts::State::Other);
    EXPECT_EQ(facts.detail,
              "127.0.0.1:" + std::to_string(ssh.port()) + " answered \"SSH-2.0-Open\"");

    Greeter silent("");
    facts = greetRfb("127.0.0.1", silent.port(), 300);
    EXPECT_EQ(facts.state, ListenFacts::State::Other);
    EXPECT_NE(facts.detail.find("accepted the connection and said nothing"), std::string::npos);
}

TEST(MachineTest, APortNobodyListensOnIsFreeOnThisMachinesAddressesOnly) {
    const int port = freePort();
    EXPECT_EQ(greetRfb("127.0.0.1", port, 2000).state, ListenFacts::State::Refused);
    EXPECT_EQ(LinuxMachine().probeListen("0.0.0.0", port).state, ListenFacts::State::Free);
    // TEST-NET-1: no machine's own address.
    const ListenFacts facts = LinuxMachine().probeListen("192.0.2.7", port);
    EXPECT_EQ(facts.state, ListenFacts::State::NotLocal);
    EXPECT_EQ(facts.detail, "192.0.2.7 is not an address of this machine");
}

TEST(MachineTest, FilesAreReadUnderTheRoot) {
    LinuxMachine machine(tree("pi4"));
    EXPECT_EQ(machine.hostPath("/sys/class/udc"), tree("pi4") / "sys/class/udc");
    // Device tree strings end in NUL.
    EXPECT_EQ(machine.readLine("/proc/device-tree/model"), "Raspberry Pi 4 Model B Rev 1.4");
    EXPECT_EQ(machine.readLine("/sys/class/udc/fe980000.usb/state"), "configured");
    EXPECT_EQ(machine.readLine("/nowhere"), std::nullopt);
    EXPECT_EQ(machine.listDirectory("/sys/kernel/config/usb_gadget/kvmvnc/functions"),
              (std::vector<std::string>{"hid.usb0", "hid.usb1", "hid.usb2", "mass_storage.usb0"}));
    // Hidden entries are git's stand-ins for empty folders.
    EXPECT_TRUE(machine.listDirectory("/sys/class/hwmon").empty());
    EXPECT_TRUE(machine.exists("/sys/kernel/config/usb_gadget/kvmvnc/configs/c.1/hid.usb0"));
    const FileFacts facts = machine.stat("/boot/firmware/config.txt");
    EXPECT_EQ(facts.error, 0);
    EXPECT_FALSE(facts.characterDevice);
    EXPECT_EQ(machine.stat("/dev/hidg0").error, ENOENT);
    EXPECT_EQ(LinuxMachine().stat("/dev/null").characterDevice, true);
}

TEST(MachineTest, WithoutTheServiceUserTheCheckingUserStandsIn) {
    const Account account = LinuxMachine("/", "kvmvnc-no-such-user").serviceAccount();
    EXPECT_EQ(account.root, ::geteuid() == 0);
    EXPECT_FALSE(account.groups.empty());
    EXPECT_EQ(account.note, "no user kvmvnc-no-such-user here: the user running this check");
}

TEST(MachineTest, AGpioChipThatIsNotThereSaysSo) {
    const GpioFacts facts = LinuxMachine().probeGpio("/nonexistent/gpiochip99", {1});
    EXPECT_NE(facts.openError, 0);
    EXPECT_TRUE(facts.lines.empty());
}

TEST(MachineTest, ACaptureDeviceThatIsNotThereSaysSo) {
    const V4l2Facts facts = LinuxMachine(tree("pi4")).probeV4l2("/dev/video0", -1, std::nullopt);
    EXPECT_EQ(facts.openError, ENOENT);
}

TEST(CertificateInfoTest, TheFingerprintIsTheOneKvmvncdLogs) {
    const fs::path file = tree("pi4") / "var/lib/kvmvnc/tls/cert.pem";
    std::ifstream in(file);
    const std::string pem{std::istreambuf_iterator<char>(in), {}};
    std::string error;
    std::optional<CertificateInfo> info = inspectCertificate(
        std::span(reinterpret_cast<const uint8_t *>(pem.data()), pem.size()), error);
    ASSERT_TRUE(info) << error;
    EXPECT_EQ(info->fingerprint, door::certificateFingerprint(file.string()));
    EXPECT_TRUE(info->selfSigned);
    EXPECT_EQ(dateText(info->notBefore), "2026-12-07");
    EXPECT_EQ(dateText(info->notAfter), "2036-12-04");
    const std::string garbage = "-----BEGIN CERTIFICATE-----\nnot base64\n";
    EXPECT_FALSE(inspectCertificate(
        std::span(reinterpret_cast<const uint8_t *>(garbage.data()), garbage.size()), error));
    EXPECT_EQ(error, "not a certificate (PEM or DER)");
}

}  // namespace
}  // namespace kvmvnc::doctor
