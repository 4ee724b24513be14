// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/rfb/viewer_clipboard.h"

#include <gtest/gtest.h>

namespace kvmvnc::rfb {

namespace {

using Outcome = ViewerClipboard::Outcome;
constexpr size_t kMax = ViewerClipboard::kMaxBytes;

TEST(ViewerClipboardTest, Latin1BecomesUtf8) {
    ViewerClipboard clipboard;
    EXPECT_EQ(clipboard.setLatin1("caf\xe9 \xdf!"), Outcome::Kept);
    EXPECT_EQ(clipboard.text(), "caf\xc3\xa9 \xc3\x9f!");
}

TEST(ViewerClipboardTest, Utf8IsKeptAsItIs) {
    ViewerClipboard clipboard;
    EXPECT_EQ(clipboard.setUtf8("\xe2\x82\xac 5\r\nok"), Outcome::Kept);
    EXPECT_EQ(clipboard.text(), "\xe2\x82\xac 5\r\nok");
}

TEST(ViewerClipboardTest, TheExtendedClipboardsEndingNulIsNotText) {
    ViewerClipboard clipboard;
    EXPECT_EQ(clipboard.setUtf8(std::string("echo Hi\0", 8)), Outcome::Kept);
    EXPECT_EQ(clipboard.text(), "echo Hi");
}

TEST(ViewerClipboardTest, BrokenUtf8EmptiesTheClipboard) {
    ViewerClipboard clipboard;
    clipboard.setUtf8("old secret");
    EXPECT_EQ(clipboard.setUtf8("ab\xc3"), Outcome::NotUtf8);
    EXPECT_EQ(clipboard.text(), "");
    EXPECT_EQ(clipboard.setUtf8("\xed\xa0\x80"), Outcome::NotUtf8) << "a surrogate";
}

TEST(ViewerClipboardTest, ExactlyTheBoundIsKept) {
    ViewerClipboard clipboard;
    EXPECT_EQ(clipboard.setUtf8(std::string(kMax, 'x')), Outcome::Kept);
    EXPECT_EQ(clipboard.text().size(), kMax);
    EXPECT_EQ(clipboard.setUtf8(std::string(kMax, 'x') + '\0'), Outcome::Kept);
    EXPECT_EQ(clipboard.text().size(), kMax);
    EXPECT_EQ(clipboard.setLatin1(std::string(kMax, 'x')), Outcome::Kept);
    EXPECT_EQ(clipboard.text().size(), kMax);
}

// Typed in part, a script would run its first lines: refused whole, and
// the clipboard emptied so the text before it is not typed either.
TEST(ViewerClipboardTest, LongerTextIsRefusedAndEmptiesTheClipboard) {
    ViewerClipboard clipboard;
    clipboard.setUtf8("old");
    EXPECT_EQ(clipboard.setUtf8(std::string(kMax + 1, 'x')), Outcome::TooLong);
    EXPECT_EQ(clipboard.text(), "");
    clipboard.setUtf8("old");
    // Latin-1 grows in UTF-8: e acute takes two bytes.
    EXPECT_EQ(clipboard.setLatin1(std::string(kMax - 1, 'x') + "\xe9"), Outcome::TooLong);
    EXPECT_EQ(clipboard.text(), "");
}

}  // namespace

}  // namespace kvmvnc::rfb
