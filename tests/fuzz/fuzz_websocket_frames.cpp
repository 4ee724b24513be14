// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target: the WebSocket frame decoder (client frames), fed in
// pieces whose sizes come from the input.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kvmvnc/door/websocket.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0)
        return 0;
    const size_t piece = static_cast<size_t>(data[0] % 64) + 1;
    std::vector<uint8_t> input(data + 1, data + size);  // decode() unmasks in place
    kvmvnc::door::WebSocketFrameDecoder decoder;
    using Kind = kvmvnc::door::WebSocketFrameDecoder::EventKind;
    size_t offset = 0;
    while (offset < input.size()) {
        const size_t length = std::min(piece, input.size() - offset);
        std::span<uint8_t> window(input.data() + offset, length);
        size_t used = 0;
        while (used < window.size()) {
            size_t consumed = 0;
            const auto event = decoder.decode(window.subspan(used), consumed);
            if (consumed > window.size() - used)
                __builtin_trap();
            used += consumed;
            if (event.kind == Kind::Close || event.kind == Kind::Error)
                return 0;
            if (event.kind == Kind::Data && event.payload.empty())
                __builtin_trap();
            if (event.kind == Kind::NeedMore)
                break;
        }
        offset += length;
    }
    return 0;
}
