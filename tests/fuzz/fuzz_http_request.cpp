// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target: the HTTP request head parser, fed in pieces whose sizes
// come from the input itself, so every split point gets exercised.
#include <cstddef>
#include <cstdint>
#include <span>

#include "kvmvnc/door/http.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0)
        return 0;
    // The first byte picks the piece size (1..256).
    const size_t piece = static_cast<size_t>(data[0]) + 1;
    std::span<const uint8_t> input(data + 1, size - 1);
    kvmvnc::door::HttpRequestParser parser;
    size_t offset = 0;
    while (offset < input.size()) {
        const size_t length = std::min(piece, input.size() - offset);
        size_t consumed = 0;
        const auto state = parser.feed(input.subspan(offset, length), consumed);
        if (consumed > length)
            __builtin_trap();
        offset += consumed;
        if (state != kvmvnc::door::HttpRequestParser::State::NeedMore)
            break;
        if (consumed == 0)
            __builtin_trap();  // NeedMore must take what it was given
    }
    if (parser.state() == kvmvnc::door::HttpRequestParser::State::Done) {
        const auto &request = parser.request();
        (void)request.header("Upgrade");
        if (request.headers.size() > kvmvnc::door::HttpRequestParser::kMaxHeaders)
            __builtin_trap();
    }
    return 0;
}
