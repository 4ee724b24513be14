// SPDX-License-Identifier: GPL-2.0-or-later
// kvmvncctl's command line without a server: options, the command table
// and the usage text it writes, and what each bad command line is told.
#include "kvmvnc/ctl/command_line.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "kvmvnc/ctl/commands.h"
#include "run_ctl.h"

namespace kvmvnc::ctl {
namespace {

using testing::runCtl;

ParsedCommandLine parse(std::vector<std::string> words) {
    std::vector<char *> arguments;
    for (std::string &word : words)
        arguments.push_back(word.data());
    return parseCommandLine(arguments);
}

TEST(CommandLineTest, ReadsEveryOption) {
    const ParsedCommandLine parsed = parse({"--host",
                                            "kvm.example:5901",
                                            "--passwd-file",
                                            "pw",
                                            "--ca-file",
                                            "ca.pem",
                                            "--known-hosts",
                                            "hosts",
                                            "--accept-new",
                                            "--insecure",
                                            "--users-file",
                                            "users",
                                            "--view-only",
                                            "--delete",
                                            "--name",
                                            "disk.img",
                                            "--flash",
                                            "--rw",
                                            "--skip-untypable",
                                            "--cancel",
                                            "--config",
                                            "kvmvncd.ini",
                                            "msd",
                                            "-",
                                            "upload"});
    ASSERT_EQ(parsed.problem, "");
    EXPECT_FALSE(parsed.help);
    const Options &options = parsed.options;
    EXPECT_EQ(options.connect.host, "kvm.example");
    EXPECT_EQ(options.connect.port, 5901);
    EXPECT_EQ(options.passwordFile, "pw");
    EXPECT_EQ(options.connect.caFile, "ca.pem");
    EXPECT_TRUE(options.caFileGiven);
    EXPECT_EQ(options.connect.knownHostsFile, "hosts");
    EXPECT_TRUE(options.acceptNew);
    EXPECT_TRUE(options.connect.allowUnverified);
    EXPECT_EQ(options.usersFile, "users");
    EXPECT_TRUE(options.viewOnly);
    EXPECT_TRUE(options.deleteUser);
    EXPECT_EQ(options.uploadName, "disk.img");
    EXPECT_FALSE(options.cdrom);
    EXPECT_TRUE(options.writable);
    EXPECT_TRUE(options.skipUntypable);
    EXPECT_TRUE(options.cancelTyping);
    EXPECT_EQ(options.daemonConfig, "kvmvncd.ini");
    EXPECT_EQ(options.words, (std::vector<std::string>{"msd", "-", "upload"}));
}

TEST(CommandLineTest, DefaultsWithoutOptions) {
    const ParsedCommandLine parsed = parse({"status"});
    ASSERT_EQ(parsed.problem, "");
    const Options &options = parsed.options;
    EXPECT_EQ(options.connect.host, "127.0.0.1");
    EXPECT_EQ(options.connect.port, 5900);
    EXPECT_FALSE(options.caFileGiven);
    EXPECT_FALSE(options.acceptNew);
    EXPECT_TRUE(options.cdrom);
    EXPECT_EQ(options.usersFile, "/etc/kvmvnc/users");
    EXPECT_EQ(options.words, std::vector<std::string>{"status"});
}

TEST(CommandLineTest, HostTakesANameAPortOrIpv6) {
    EXPECT_EQ(parse({"--host", "kvm"}).options.connect.host, "kvm");
    EXPECT_EQ(parse({"--host", "kvm"}).options.connect.port, 5900);
    EXPECT_EQ(parse({"--host", "fe80::1"}).options.connect.host, "fe80::1");
    EXPECT_EQ(parse({"--host", "10.0.0.2:65535"}).options.connect.port, 65535);
    for (const char *bad : {"", ":5900", "kvm:0", "kvm:65536", "kvm:59x", "kvm:"})
        EXPECT_EQ(parse({"--host", bad}).problem, "--host takes HOST or HOST:PORT") << bad;
}

TEST(CommandLineTest, AnOptionWithoutItsValueSaysWhatItTakes) {
    const std::pair<const char *, const char *> cases[] = {
        {"--host", "--host takes HOST or HOST:PORT"},
        {"--passwd-file", "--passwd-file takes a file"},
        {"--user", "--user takes a name"},
        {"--ca-file", "--ca-file takes a file"},
        {"--known-hosts", "--known-hosts takes a file"},
        {"--users-file", "--users-file takes a file"},
        {"--name", "--name takes a name"},
        {"--config", "--config takes a file"},
    };
    for (const auto &[option, problem] : cases)
        EXPECT_EQ(parse({"status", option}).problem, problem) << option;
    // Empty where a name or file must be given.
    EXPECT_EQ(parse({"--user", ""}).problem, "--user takes a name");
    EXPECT_EQ(parse({"--known-hosts", ""}).problem, "--known-hosts takes a file");
    EXPECT_EQ(parse({"--users-file", ""}).problem, "--users-file takes a file");
    EXPECT_EQ(parse({"--config", ""}).problem, "--config takes a file");
}

TEST(CommandLineTest, UnknownOptionsAreRefusedAndHelpStopsReading) {
    EXPECT_EQ(parse({"status", "--bogus"}).problem, "unknown option --bogus");
    EXPECT_EQ(parse({"-x", "status"}).problem, "unknown option -x");
    const ParsedCommandLine help = parse({"-h", "--bogus"});
    EXPECT_TRUE(help.help);
    EXPECT_EQ(help.problem, "");
    EXPECT_EQ(parse({"--bogus", "--help"}).problem, "unknown option --bogus");
}

TEST(CommandTableTest, NamesEachCommandOnceInTheUsageOrder) {
    std::vector<std::string> names;
    for (const Command &command : commands())
        names.emplace_back(command.name);
    EXPECT_EQ(names, (std::vector<std::string>{"status", "atx", "msd", "type", "edid", "doctor",
                                               "passwd"}));
    EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
    for (const Command &command : commands()) {
        EXPECT_EQ(findCommand(command.name), &command);
        EXPECT_TRUE(command.usage.starts_with("  " + std::string(command.name) + " "))
            << command.usage;
        EXPECT_TRUE(command.usage.ends_with("\n")) << command.usage;
        EXPECT_NE(command.run, nullptr);
        // Only passwd works without a server.
        EXPECT_EQ(command.connects, command.name != "passwd") << command.name;
    }
    EXPECT_EQ(findCommand("bogus"), nullptr);
    EXPECT_EQ(findCommand(""), nullptr);
}

TEST(CommandTableTest, TheUsageTextListsTheCommandsBetweenSynopsisAndDetails) {
    const std::string text = usageText();
    EXPECT_TRUE(text.starts_with("usage: kvmvncctl [--host HOST[:PORT]]")) << text;
    EXPECT_TRUE(text.ends_with("3 connection or authentication failed.\n")) << text;
    std::string listed;
    for (const Command &command : commands())
        listed += command.usage;
    EXPECT_NE(text.find("USER\n\n" + listed + "\nHOST defaults to 127.0.0.1"), std::string::npos)
        << text;
}

TEST(RunTest, HelpGoesToStandardOutput) {
    const testing::CtlRun run = runCtl({"--help"});
    EXPECT_EQ(run.status, kExitOk);
    EXPECT_EQ(run.out, usageText());
    EXPECT_EQ(run.err, "");
}

// Each bad command line: exit status 2, its problem on one line, then the
// usage text; nothing is connected to (nothing listens on the port).
TEST(RunTest, BadCommandLinesAreToldWhy) {
    const std::pair<std::vector<std::string>, std::string> cases[] = {
        {{}, "no command"},
        {{"--bogus"}, "unknown option --bogus"},
        {{"reboot"}, "unknown command 'reboot'"},
        {{"status", "now"}, "status takes no arguments"},
        {{"atx"}, "atx takes one of: status, power, power-long, reset, wol"},
        {{"atx", "explode"}, "unknown atx command 'explode'"},
        {{"msd"}, "msd takes one of: status, list, upload, delete, insert, eject"},
        {{"msd", "burn"}, "unknown msd command 'burn'"},
        {{"msd", "delete"}, "msd delete takes an image name"},
        {{"msd", "insert", "a", "b"}, "msd insert takes an image name"},
        {{"msd", "eject", "now"}, "msd eject takes no arguments"},
        {{"msd", "upload"}, "msd upload takes a file"},
        {{"type"}, "type takes TEXT, - (standard input), or --cancel"},
        {{"type", "--cancel", "text"}, "type takes TEXT, - (standard input), or --cancel"},
        {{"type", std::string(65537, 'x')}, "at most 65536 bytes of text at a time"},
        {{"edid"}, "edid takes: show"},
        {{"edid", "load"}, "edid takes: show"},
        {{"doctor", "now"}, "doctor takes no arguments"},
        {{"passwd"}, "passwd takes one user name"},
        {{"passwd", "--view-only", "--delete", "alice"},
         "passwd takes --view-only or --delete, not both"},
        {{"passwd", "a:b"},
         "bad user name: 1 to 64 bytes, no ':', whitespace or control characters, not starting "
         "with '#'"},
        {{"--passwd-file", "pw", "--user", "alice", "status"},
         "--passwd-file and --user exclude each other"},
    };
    for (const auto &[arguments, problem] : cases) {
        std::vector<std::string> words = {"--host", "127.0.0.1:1"};
        words.insert(words.end(), arguments.begin(), arguments.end());
        const testing::CtlRun run = runCtl(words);
        EXPECT_EQ(run.status, kExitUsage) << problem;
        EXPECT_EQ(run.err, "kvmvncctl: " + problem + "\n" + usageText()) << problem;
        EXPECT_EQ(run.out, "");
    }
}

TEST(RunTest, AnUnreadablePasswordFileIsALocalError) {
    const testing::CtlRun run = runCtl({"--passwd-file", "/nonexistent/passwd", "status"});
    EXPECT_EQ(run.status, kExitUsage);
    EXPECT_EQ(run.err,
              "kvmvncctl: /nonexistent/passwd: cannot open password file: No such file or "
              "directory\n");
}

TEST(RunTest, NothingListeningIsAConnectionFailure) {
    const testing::CtlRun run = runCtl({"--host", "127.0.0.1:1", "atx", "status"});
    EXPECT_EQ(run.status, kExitConnection);
    EXPECT_TRUE(run.err.starts_with("kvmvncctl: ")) << run.err;
    EXPECT_EQ(run.err.find("usage:"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace kvmvnc::ctl
