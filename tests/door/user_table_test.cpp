// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/door/user_table.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace kvmvnc::door {

namespace {

// RFC 7914's scrypt vector (P "password", S "NaCl", N 1024, r 8, p 16), its
// key cut to 32 bytes: PBKDF2's output blocks do not depend on the length.
constexpr const char *kRfcHash =
    "scrypt$1024$8$16$TmFDbA==$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWI=";
// A well-formed hash of nothing in particular, for the parsing tests.
constexpr const char *kSomeHash =
    "scrypt$16384$8$1$AAECAwQFBgcICQoLDA0ODw==$jH2Q0DVu/biUHDn5RfgnP5UFEFC5iPDs9jIYmGfMTIE=";

std::string errorOf(std::string_view text) {
    try {
        UserTable::parse(text, "users");
    } catch (const std::runtime_error &error) {
        return error.what();
    }
    return "no error";
}

mode_t modeOf(const std::string &path) {
    struct stat status {};
    EXPECT_EQ(::stat(path.c_str(), &status), 0) << path;
    return status.st_mode & 07777;
}

// A fresh directory per test, so leftovers of save() show.
std::string freshDirectory(const char *name) {
    const std::filesystem::path directory = std::filesystem::path(testing::TempDir()) / name;
    std::filesystem::remove_all(directory);
    std::filesystem::create_directories(directory);
    return directory.string();
}

}  // namespace

// Every scrypt costs tens of milliseconds: the suite hashes its two users
// once and shares them.
class UserTableTest : public testing::Test {
protected:
    static void SetUpTestSuite() {
        table_ = new UserTable;
        table_->set("alice", "correct horse", Access::Full);
        // Any bytes but a newline's worth of file: NUL, newline, UTF-8.
        table_->set("bob", std::string_view("view\0only\n\xc3\xa9", 12), Access::ViewOnly);
    }
    static void TearDownTestSuite() {
        delete table_;
        table_ = nullptr;
    }
    static UserTable *table_;
};

UserTable *UserTableTest::table_ = nullptr;

TEST_F(UserTableTest, RightPasswordGivesTheUsersAccess) {
    EXPECT_EQ(table_->verify("alice", "correct horse"), Access::Full);
    EXPECT_EQ(table_->verify("bob", std::string_view("view\0only\n\xc3\xa9", 12)),
              Access::ViewOnly);
}

TEST_F(UserTableTest, WrongPasswordOrUnknownUserIsRefused) {
    EXPECT_EQ(table_->verify("alice", "correct horse "), std::nullopt);
    EXPECT_EQ(table_->verify("bob", "view"), std::nullopt);  // stops at the NUL
    EXPECT_EQ(table_->verify("carol", "correct horse"), std::nullopt);
    EXPECT_EQ(table_->verify("alice", ""), std::nullopt);
}

TEST_F(UserTableTest, HashesAreSaltedScryptAndNeverThePassword) {
    ASSERT_EQ(table_->entries().size(), 2u);
    const UserEntry &alice = table_->entries()[0];
    EXPECT_EQ(alice.name, "alice");
    EXPECT_TRUE(alice.hash.starts_with("scrypt$16384$8$1$")) << alice.hash;
    EXPECT_EQ(alice.hash.find("horse"), std::string::npos);
    EXPECT_EQ(table_->serialize().find("correct"), std::string::npos);
}

TEST_F(UserTableTest, SerializeParsesBackToTheSameTable) {
    const std::string text = table_->serialize();
    EXPECT_EQ(text.front(), '#');
    const UserTable copy = UserTable::parse(text, "copy");
    ASSERT_EQ(copy.entries().size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(copy.entries()[i].name, table_->entries()[i].name);
        EXPECT_EQ(copy.entries()[i].access, table_->entries()[i].access);
        EXPECT_EQ(copy.entries()[i].hash, table_->entries()[i].hash);
    }
    EXPECT_EQ(copy.serialize(), text);
    EXPECT_EQ(copy.verify("alice", "correct horse"), Access::Full);
}

TEST(UserTableParseTest, VerifiesAHashOfAnotherScrypt) {
    const UserTable table = UserTable::parse(std::string("root:full:") + kRfcHash + "\n", "rfc");
    EXPECT_EQ(table.verify("root", "password"), Access::Full);
}

TEST(UserTableParseTest, SkipsCommentsBlankLinesAndCarriageReturns) {
    const std::string text =
        "# users\n\n   \n  # indented comment\r\nalice:view:" + std::string(kSomeHash) +
        "\r\n\tbob:full:" + kSomeHash;
    const UserTable table = UserTable::parse(text, "users");
    ASSERT_EQ(table.entries().size(), 2u);
    EXPECT_EQ(table.entries()[0].name, "alice");
    EXPECT_EQ(table.entries()[0].access, Access::ViewOnly);
    EXPECT_EQ(table.entries()[0].hash, kSomeHash);
    EXPECT_EQ(table.entries()[1].name, "bob");
    EXPECT_EQ(table.entries()[1].access, Access::Full);
    EXPECT_TRUE(UserTable::parse("# nobody\n", "users").empty());
}

TEST(UserTableParseTest, EachMalformedLineIsNamed) {
    const std::string good = std::string("alice:full:") + kSomeHash + "\n";
    const std::string hashHead = "bob:full:scrypt$";
    const std::string salt = "$AAECAwQFBgcICQoLDA0ODw==";
    const std::string key = "$jH2Q0DVu/biUHDn5RfgnP5UFEFC5iPDs9jIYmGfMTIE=";
    struct Case {
        std::string line;
        const char *reason;
    };
    const Case cases[] = {
        {"bob", "expected NAME:ACCESS:HASH"},
        {"bob:full", "expected NAME:ACCESS:HASH"},
        {":full:" + std::string(kSomeHash), "bad user name"},
        {"b b:full:" + std::string(kSomeHash), "bad user name"},
        {std::string(65, 'b') + ":full:" + kSomeHash, "bad user name"},
        {"alice:view:" + std::string(kSomeHash), "user 'alice' again (first on line 2)"},
        {"bob:admin:" + std::string(kSomeHash), "unknown access 'admin'"},
        {"bob:full:", "not scrypt$N$r$p$SALT$KEY"},
        {"bob:full:bcrypt$16384$8$1" + salt + key, "not scrypt$N$r$p$SALT$KEY"},
        {hashHead + "16384$8$1" + salt, "not scrypt$N$r$p$SALT$KEY"},
        {hashHead + "16000$8$1" + salt + key, "N must be a power of two"},
        {hashHead + "512$8$1" + salt + key, "N must be a power of two"},
        {hashHead + "2097152$1$1" + salt + key, "N must be a power of two"},
        {hashHead + "+16384$8$1" + salt + key, "N must be a power of two"},
        {hashHead + "16384$0$1" + salt + key, "r must be from 1 to 32"},
        {hashHead + "16384$33$1" + salt + key, "r must be from 1 to 32"},
        {hashHead + "16384$8$17" + salt + key, "p must be from 1 to 16"},
        {hashHead + "1048576$32$1" + salt + key, "need more than 256 MiB"},
        {hashHead + "16384$8$1$AAECAwQFBgcICQoLDA0ODw=" + key, "salt is not"},
        {hashHead + "16384$8$1$AAEC AwQFBgcICQoLDA0ODw=" + key, "salt is not"},
        {hashHead + "16384$8$1$AA==" + key, "salt is not"},
        {hashHead + "16384$8$1" + salt + "$jH2Q0DVu/biUHDn5RfgnP5UFEFC5iPDs9jIYmGfMTIF=",
         "key is not 32 bytes"},
        {hashHead + "16384$8$1" + salt + "$AAECAwQFBgcICQoLDA0ODw==", "key is not 32 bytes"},
        {hashHead + "16384$8$1" + salt + "$jH2Q0DVu/biUHDn5RfgnP5UFEFC5iPDs9jIYmGfMTI!=",
         "key is not 32 bytes"},
    };
    for (const Case &c : cases) {
        const std::string error = errorOf("# header\n" + good + "\n" + c.line + "\n");
        EXPECT_TRUE(error.starts_with("users: line 4: ")) << c.line << " -> " << error;
        EXPECT_NE(error.find(c.reason), std::string::npos) << c.line << " -> " << error;
    }
}

TEST(UserTableSetTest, RejectsBadNamesAndEmptyPasswords) {
    UserTable table;
    for (const char *name : {"", "a:b", "a b", "tab\there", "bell\a", "#alice", "del\x7f"})
        EXPECT_THROW(table.set(name, "secret", Access::Full), std::invalid_argument) << name;
    EXPECT_THROW(table.set(std::string(65, 'a'), "secret", Access::Full), std::invalid_argument);
    EXPECT_THROW(table.set("alice", "", Access::Full), std::invalid_argument);
    EXPECT_TRUE(table.empty());
    EXPECT_TRUE(UserTable::isValidName(std::string(64, 'a')));
    EXPECT_TRUE(UserTable::isValidName("j\xc3\xb6rg.o'brien@example"));
}

TEST(UserTableSetTest, ReplacingAUserChangesPasswordAndAccessAndRemoveDeletes) {
    UserTable table;
    table.set("alice", "first", Access::Full);
    table.set("alice", "second", Access::ViewOnly);
    ASSERT_EQ(table.entries().size(), 1u);
    EXPECT_EQ(table.verify("alice", "first"), std::nullopt);
    EXPECT_EQ(table.verify("alice", "second"), Access::ViewOnly);
    EXPECT_FALSE(table.remove("bob"));
    EXPECT_TRUE(table.remove("alice"));
    EXPECT_TRUE(table.empty());
    EXPECT_FALSE(table.remove("alice"));
    EXPECT_EQ(table.verify("alice", "second"), std::nullopt);
}

TEST_F(UserTableTest, SaveCreatesA0640FileThatLoadsBack) {
    const std::string directory = freshDirectory("kvmvnc-users-new");
    const std::string path = directory + "/users";
    const mode_t mask = ::umask(0);  // the mode must not depend on the umask
    table_->save(path);
    ::umask(mask);
    EXPECT_EQ(modeOf(path), 0640u);
    const UserTable loaded = UserTable::load(path);
    EXPECT_EQ(loaded.serialize(), table_->serialize());
    // Nothing but the file itself: the temporary was renamed, not left behind.
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(directory),
                            std::filesystem::directory_iterator()),
              1);
}

TEST(UserTableSaveTest, SaveKeepsAnExistingFilesMode) {
    const std::string path = freshDirectory("kvmvnc-users-old") + "/users";
    std::ofstream(path) << "# old\n";
    ASSERT_EQ(::chmod(path.c_str(), 0604), 0);
    UserTable::parse(std::string("alice:full:") + kSomeHash, "users").save(path);
    EXPECT_EQ(modeOf(path), 0604u);
    EXPECT_EQ(UserTable::load(path).entries().size(), 1u);
}

TEST(UserTableSaveTest, ErrorsNameThePath) {
    try {
        UserTable::load("/nonexistent/users");
        FAIL() << "no error";
    } catch (const std::runtime_error &error) {
        EXPECT_STREQ(error.what(), "/nonexistent/users: No such file or directory");
    }
    EXPECT_THROW(UserTable().save("/nonexistent/users"), std::runtime_error);
    const std::string path = freshDirectory("kvmvnc-users-bad") + "/users";
    std::ofstream(path) << "\nalice:root:" << kSomeHash << "\n";
    try {
        UserTable::load(path);
        FAIL() << "no error";
    } catch (const std::runtime_error &error) {
        EXPECT_EQ(std::string(error.what()),
                  path + ": line 2: unknown access 'root' (full or view)");
    }
}

}  // namespace kvmvnc::door
