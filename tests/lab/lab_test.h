// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>

#include "lab_vm.h"

namespace kvmvnc::lab {

// The fixture of every lab scenario: one guest per test (the scenarios stay
// independent; a boot costs about ten seconds), booted into
// guest/scenario-NAME.sh, its diagnostics printed when the test failed, and
// powered off at the end. Subclasses add their own set-up after
// LabTest::SetUp() and their own clean-up in beforePowerOff().
class LabTest : public ::testing::Test {
protected:
    explicit LabTest(std::string scenario) : scenario_(std::move(scenario)) {}

    void SetUp() override {
        LabCheck check = checkLab();
        if (check.skip)
            GTEST_SKIP() << "lab skipped: " << check.problem;
        ASSERT_TRUE(check.problem.empty()) << "the lab cannot run: " << check.problem;
        vm_ = std::make_unique<LabVm>(LabVm::Options{.scenario = scenario_});
        ASSERT_TRUE(vm_->boot()) << vm_->error() << "\n" << vm_->diagnostics();
        std::printf("lab guest ready in %.1f s\n", vm_->bootSeconds());
    }

    void TearDown() override {
        if (!vm_)
            return;
        if (HasFailure())
            std::printf("%s\n", vm_->diagnostics().c_str());
        beforePowerOff();
        EXPECT_TRUE(vm_->powerOff()) << "the guest did not power off";
        vm_.reset();
    }

    // Runs in TearDown while the guest is still up.
    virtual void beforePowerOff() {}

    // A scenario verb that must succeed.
    LabVm::Reply run(const std::string &command) {
        LabVm::Reply reply = vm_->command(command);
        EXPECT_EQ(reply.rc, 0) << command << ":\n" << reply.output;
        return reply;
    }

    std::unique_ptr<LabVm> vm_;

private:
    std::string scenario_;
};

}  // namespace kvmvnc::lab
