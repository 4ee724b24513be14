// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/app/command_line.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace kvmvnc::app {

TEST(CommandLineTest, DefaultsToRunningWithoutAConfig) {
    CommandLine line = parseCommandLine({});
    EXPECT_EQ(line.action, CommandLine::Action::Run);
    EXPECT_TRUE(line.configPath.empty());
}

TEST(CommandLineTest, TakesTheConfigInBothForms) {
    EXPECT_EQ(parseCommandLine({"--config", "/etc/kvmvnc/kvmvnc.ini"}).configPath,
              "/etc/kvmvnc/kvmvnc.ini");
    EXPECT_EQ(parseCommandLine({"--config=a.ini"}).configPath, "a.ini");
    EXPECT_EQ(parseCommandLine({"-c", "b.ini", "--check-config"}).action,
              CommandLine::Action::CheckConfig);
}

TEST(CommandLineTest, ChecksTheHardwareWithTheConfig) {
    CommandLine line = parseCommandLine({"--check-hardware", "--config", "k.ini"});
    EXPECT_EQ(line.action, CommandLine::Action::CheckHardware);
    EXPECT_EQ(line.configPath, "k.ini");
}

TEST(CommandLineTest, HelpActions) {
    EXPECT_EQ(parseCommandLine({"--help"}).action, CommandLine::Action::Help);
    EXPECT_EQ(parseCommandLine({"--help-config"}).action, CommandLine::Action::HelpConfig);
    EXPECT_EQ(parseCommandLine({"--version"}).action, CommandLine::Action::Version);
}

TEST(CommandLineTest, HidDescriptorNamesTheFunction) {
    CommandLine line = parseCommandLine({"--hid-descriptor", "mouse"});
    EXPECT_EQ(line.action, CommandLine::Action::HidDescriptor);
    EXPECT_EQ(line.descriptor, "mouse");
    EXPECT_EQ(parseCommandLine({"--hid-descriptor", "relative-mouse"}).descriptor,
              "relative-mouse");
    EXPECT_THROW(parseCommandLine({"--hid-descriptor", "joystick"}), std::invalid_argument);
    EXPECT_THROW(parseCommandLine({"--hid-descriptor"}), std::invalid_argument);
}

TEST(CommandLineTest, RejectsUnknownAndIncompleteArguments) {
    EXPECT_THROW(parseCommandLine({"--port", "5900"}), std::invalid_argument);
    EXPECT_THROW(parseCommandLine({"--config"}), std::invalid_argument);
}

}  // namespace kvmvnc::app
