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
    // Broken past the bound still counts.
    std::string longText(kMax + 10, 'a');
    longText.back() = '\xff';
    EXPECT_EQ(clipboard.setUtf8(longText), Outcome::NotUtf8);
    EXPECT_EQ(clipboard.text(), "");
}

TEST(ViewerClipboardTest, ExactlyTheBoundIsKept) {
    ViewerClipboard clipboard;
    EXPECT_EQ(clipboard.setUtf8(std::string(kMax, 'x')), Outcome::Kept);
    EXPECT_EQ(clipboard.text().size(), kMax);
    EXPECT_EQ(clipboard.setLatin1(std::string(kMax, 'x')), Outcome::Kept);
    EXPECT_EQ(clipboard.text().size(), kMax);
}

TEST(ViewerClipboardTest, LongUtf8IsCutAtACharacter) {
    // A three-byte character straddles the bound.
    std::string text(kMax - 1, 'x');
    text += "\xe2\x82\xac tail";
    ViewerClipboard clipboard;
    EXPECT_EQ(clipboard.setUtf8(text), Outcome::Truncated);
    EXPECT_EQ(clipboard.text(), std::string(kMax - 1, 'x'));
}

TEST(ViewerClipboardTest, LongLatin1IsCutAtACharacter) {
    // Each e-acute takes two bytes in UTF-8: the one that would end one
    // byte past the bound is left out.
    std::string text(kMax - 1, 'x');
    text += "\xe9\xe9";
    ViewerClipboard clipboard;
    EXPECT_EQ(clipboard.setLatin1(text), Outcome::Truncated);
    EXPECT_EQ(clipboard.text(), std::string(kMax - 1, 'x'));
}

}  // namespace

}  // namespace kvmvnc::rfb
