// SPDX-License-Identifier: GPL-2.0-or-later
// Sanitizer settings for every test and benchmark that links the test
// support library, and for kvmvncctl in sanitizer builds (the tests run it),
// compiled in rather than passed through the environment
// (ctest's ENVIRONMENT lists do not survive gtest_discover_tests). Unused
// in builds without sanitizers.

extern "C" {

// Full allocation stacks, so that a suppression can match the library that
// called the allocator (fast unwinding often stops inside that library).
const char *__asan_default_options() { return "fast_unwind_on_malloc=0"; }

// A program whose output a test compares (kvmvncctl) prints nothing of the
// suppressions it used: a clean run says nothing.
const char *__lsan_default_options() { return "print_suppressions=0"; }

// Only leaks inside third-party libraries belong here, never our own.
const char *__lsan_default_suppressions() {
    // libvncclient 0.9.14: rfbClientCleanup() does not destroy the
    // TurboJPEG handle it creates for Tight JPEG, nor the GnuTLS
    // certificate credentials of a VeNCrypt X509 session.
    return "leak:libvncclient.so\n";
}

}  // extern "C"
