// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/base/utf8.h"

#include <gtest/gtest.h>

namespace kvmvnc {

TEST(Utf8Test, DecodesOneToFourByteSequences) {
    EXPECT_EQ(decodeUtf8Strict("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"), U"aé€😀");
    EXPECT_EQ(decodeUtf8Strict(""), U"");
}

TEST(Utf8Test, StrictDecodingRefusesWhatIsNotWellFormed) {
    EXPECT_FALSE(decodeUtf8Strict("caf\xc3"));           // cut short
    EXPECT_FALSE(decodeUtf8Strict("\x80"));              // a lone continuation byte
    EXPECT_FALSE(decodeUtf8Strict("\xc0\xaf"));          // overlong '/'
    EXPECT_FALSE(decodeUtf8Strict("\xe0\x80\xaf"));      // overlong '/' again
    EXPECT_FALSE(decodeUtf8Strict("\xed\xa0\x80"));      // a UTF-16 surrogate
    EXPECT_FALSE(decodeUtf8Strict("\xf4\x90\x80\x80"));  // past U+10FFFF
    EXPECT_FALSE(decodeUtf8Strict("\xff"));
}

TEST(Utf8Test, LenientDecodingReplacesEachBrokenSequenceOnce) {
    EXPECT_EQ(decodeUtf8("a\xc0\xafz"), U"a\uFFFDz");
    EXPECT_EQ(decodeUtf8("\xe2\x94"), U"\uFFFD");
}

TEST(Utf8Test, EncodingRoundTrips) {
    std::string text;
    for (char32_t c : std::u32string(U"aé€😀"))
        appendUtf8(text, c);
    EXPECT_EQ(text, "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    EXPECT_EQ(decodeUtf8Strict(text), U"aé€😀");
}

}  // namespace kvmvnc
