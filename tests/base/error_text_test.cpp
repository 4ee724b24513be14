// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/base/error_text.h"

#include <cerrno>

#include <gtest/gtest.h>

namespace kvmvnc {
namespace {

TEST(ErrorTextTest, NamesTheErrorEitherSign) {
    EXPECT_EQ(errorText(ENOENT), "No such file or directory");
    EXPECT_EQ(errorText(-EACCES), "Permission denied");
}

TEST(ErrorTextTest, UnknownValuesSayTheirNumber) {
    EXPECT_EQ(errorText(123456), "Unknown error 123456");
}

}  // namespace
}  // namespace kvmvnc
