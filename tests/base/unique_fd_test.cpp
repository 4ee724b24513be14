// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/base/unique_fd.h"

#include <fcntl.h>
#include <gtest/gtest.h>

namespace kvmvnc {

namespace {
bool isOpen(int fd) { return fcntl(fd, F_GETFD) != -1; }
}  // namespace

TEST(UniqueFdTest, ClosesOnDestructionAndMovesOwnership) {
    int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(raw, 0);
    {
        UniqueFd first(raw);
        UniqueFd second(std::move(first));
        EXPECT_FALSE(first.isValid());
        EXPECT_EQ(second.get(), raw);
        EXPECT_TRUE(isOpen(raw));
    }
    EXPECT_FALSE(isOpen(raw));
}

TEST(UniqueFdTest, ReleaseGivesUpOwnership) {
    int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    {
        UniqueFd fd(raw);
        EXPECT_EQ(fd.release(), raw);
    }
    EXPECT_TRUE(isOpen(raw));
    ::close(raw);
}

}  // namespace kvmvnc
