// SPDX-License-Identifier: GPL-2.0-or-later
#include "workload.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "kvmvnc/gfx/canvas.h"
#include "virtual_target_picture.h"

namespace kvmvnc::bench {

namespace {

constexpr int kCellWidth = 9;  // VGA text cells, as a Linux console draws them
constexpr int kLineHeight = 16;
constexpr int kVideoFrames = 8;

const gfx::Color kTerminalBackground = gfx::rgb(0x10, 0x10, 0x10);
const gfx::Color kTerminalText = gfx::rgb(0xc8, 0xd0, 0xc8);

// The words the scrolling text and the typist use.
constexpr const char *kWords[] = {
    "kernel", "panic",         "mount",   "root", "device", "usb",  "hid",   "gadget", "frame",
    "the",    "quick",         "brown",   "fox",  "jumps",  "over", "lazy",  "dog",    "0x7f3a",
    "ok",     "[  12.345678]", "systemd", "eth0", "link",   "up",   "error", "retry"};

std::string textLine(uint32_t k, size_t maxChars) {
    std::string line;
    uint32_t state = k * 2654435761u + 12345u;
    while (line.size() + 14 < maxChars) {
        state = state * 1664525u + 1013904223u;
        line += kWords[(state >> 16) % std::size(kWords)];
        line += ' ';
    }
    return line;
}

void copyRect(const capture::Frame &from, capture::Frame &to, Rect r) {
    for (int y = r.y; y < r.bottom(); ++y)
        std::memcpy(to.row(y) + r.x * 4, from.row(y) + r.x * 4, static_cast<size_t>(r.width) * 4);
}

Rect clip(Rect r, Size size) {
    const int x1 = std::clamp(r.x, 0, size.width);
    const int y1 = std::clamp(r.y, 0, size.height);
    const int x2 = std::clamp(r.right(), 0, size.width);
    const int y2 = std::clamp(r.bottom(), 0, size.height);
    return {x1, y1, x2 - x1, y2 - y1};
}

}  // namespace

const char *workloadName(WorkloadKind kind) {
    switch (kind) {
    case WorkloadKind::Static:
        return "static";
    case WorkloadKind::Typing:
        return "typing";
    case WorkloadKind::Scrolling:
        return "scrolling";
    case WorkloadKind::WindowDrag:
        return "window-drag";
    case WorkloadKind::Video:
        return "video";
    }
    return "";
}

std::optional<WorkloadKind> parseWorkload(std::string_view name) {
    for (WorkloadKind kind : kAllWorkloads)
        if (name == workloadName(kind))
            return kind;
    return std::nullopt;
}

Workload::Workload(WorkloadKind kind, Size size) : kind_(kind), size_(size) {
    first_.allocate(size.width, size.height);
    first_.pixels = testing::stillPicture(target::MachinePhase::Desktop, size);
    gfx::Canvas desktop(first_.pixels.data(), size.width, size.height, first_.stride);
    terminal_ = clip({96, 160, 100 * kCellWidth, 30 * kLineHeight}, size);
    textWindow_ = clip({size.width / 2 - 600, 140, 1200, 50 * kLineHeight}, size);

    if (kind == WorkloadKind::Typing)
        desktop.fillRect(terminal_, kTerminalBackground);
    if (kind == WorkloadKind::Scrolling) {
        desktop.fillRect(textWindow_, kTerminalBackground);
        const size_t chars = static_cast<size_t>(textWindow_.width / kCellWidth);
        for (int line = 0; line < textWindow_.height / kLineHeight; ++line)
            desktop.drawText(textWindow_.x, textWindow_.y + line * kLineHeight,
                             textLine(static_cast<uint32_t>(line), chars), kTerminalText, 1,
                             kCellWidth);
    }
    if (kind == WorkloadKind::WindowDrag) {
        window_.allocate(std::min(640, size.width), std::min(400, size.height));
        gfx::Canvas window(window_.pixels.data(), window_.width, window_.height, window_.stride);
        window.fill(gfx::rgb(0xf4, 0xf4, 0xf0));
        window.fillRect({0, 0, window_.width, 28}, gfx::rgb(0x2a, 0x5d, 0xa8));
        window.drawText(10, 6, "Terminal - root@target", gfx::rgb(0xff, 0xff, 0xff));
        for (int line = 0; line < (window_.height - 40) / kLineHeight; ++line)
            window.drawText(10, 36 + line * kLineHeight,
                            textLine(static_cast<uint32_t>(1000 + line), 68),
                            gfx::rgb(0x20, 0x20, 0x20), 1, kCellWidth);
    }
    if (kind == WorkloadKind::Video) {
        // A moving colour field with grain: smooth areas and fine detail,
        // as camera video has; every pixel differs from frame to frame.
        uint8_t wave[1024];
        for (int i = 0; i < 1024; ++i)
            wave[i] = static_cast<uint8_t>(127.5 + 127.5 * std::sin(i * 2 * M_PI / 1024));
        videoFrames_.resize(kVideoFrames);
        uint32_t grain = 2463534242u;
        for (int t = 0; t < kVideoFrames; ++t) {
            capture::Frame &frame = videoFrames_[static_cast<size_t>(t)];
            frame.allocate(size.width, size.height);
            for (int y = 0; y < size.height; ++y) {
                uint8_t *p = frame.row(y);
                for (int x = 0; x < size.width; ++x, p += 4) {
                    grain ^= grain << 13;
                    grain ^= grain >> 17;
                    grain ^= grain << 5;
                    const int noise = static_cast<int>(grain & 15) - 8;
                    const int a = wave[(x * 3 + t * 40) & 1023];
                    const int b = wave[(y * 4 - t * 28) & 1023];
                    const int c = wave[((x + y) * 2 + t * 56) & 1023];
                    p[0] = static_cast<uint8_t>(std::clamp((a + c) / 2 + noise, 0, 255));
                    p[1] = static_cast<uint8_t>(std::clamp((b + c) / 2 + noise, 0, 255));
                    p[2] = static_cast<uint8_t>(std::clamp((a + b) / 2 + noise, 0, 255));
                    p[3] = 0;
                }
            }
        }
    }
}

void Workload::advance(capture::Frame &frame, uint32_t n, std::vector<Rect> &dirty) const {
    gfx::Canvas canvas(frame.pixels.data(), frame.width, frame.height, frame.stride);
    switch (kind_) {
    case WorkloadKind::Static:
        return;
    case WorkloadKind::Typing: {
        static constexpr std::string_view kText = "the quick brown fox jumps over the lazy dog ";
        const int columns = terminal_.width / kCellWidth;
        const int rows = terminal_.height / kLineHeight;
        const uint32_t index = n - 1;
        const int column = static_cast<int>(index % static_cast<uint32_t>(columns));
        const int row =
            static_cast<int>(index / static_cast<uint32_t>(columns) % static_cast<uint32_t>(rows));
        if (index > 0 && column == 0 && row == 0) {
            canvas.fillRect(terminal_, kTerminalBackground);  // the screen is full: clear
            dirty.push_back(terminal_);
        }
        const Rect cell{terminal_.x + column * kCellWidth, terminal_.y + row * kLineHeight,
                        kCellWidth, kLineHeight};
        canvas.drawText(cell.x, cell.y, kText.substr(index % kText.size(), 1), kTerminalText, 1,
                        kCellWidth);
        dirty.push_back(cell);
        break;
    }
    case WorkloadKind::Scrolling: {
        const Rect w = textWindow_;
        for (int y = w.y; y + kLineHeight < w.bottom(); ++y)
            std::memcpy(frame.row(y) + w.x * 4, frame.row(y + kLineHeight) + w.x * 4,
                        static_cast<size_t>(w.width) * 4);
        const int lines = w.height / kLineHeight;
        const Rect last{w.x, w.y + (lines - 1) * kLineHeight, w.width, kLineHeight};
        canvas.fillRect(last, kTerminalBackground);
        canvas.drawText(
            last.x, last.y,
            textLine(static_cast<uint32_t>(lines) + n, static_cast<size_t>(w.width / kCellWidth)),
            kTerminalText, 1, kCellWidth);
        dirty.push_back(w);
        break;
    }
    case WorkloadKind::WindowDrag: {
        auto place = [&](uint32_t k) {
            const int span = std::max(1, size_.width - window_.width - 80);
            const int t = static_cast<int>(k * 8 % static_cast<uint32_t>(2 * span));
            const int x = 40 + (t < span ? t : 2 * span - t);
            const int ySpan = std::max(1, size_.height - window_.height - 200);
            const int y = 120 + static_cast<int>(k * 2 % static_cast<uint32_t>(ySpan));
            return Rect{x, y, window_.width, window_.height};
        };
        const Rect before = clip(place(n - 1), size_);
        const Rect after = clip(place(n), size_);
        copyRect(first_, frame, before);  // what the window covered shows again
        for (int y = 0; y < after.height; ++y)
            std::memcpy(frame.row(after.y + y) + after.x * 4, window_.row(y),
                        static_cast<size_t>(after.width) * 4);
        dirty.push_back(before);
        dirty.push_back(after);
        break;
    }
    case WorkloadKind::Video: {
        const capture::Frame &next = videoFrames_[n % videoFrames_.size()];
        std::memcpy(frame.pixels.data(), next.pixels.data(), next.pixels.size());
        dirty.push_back({0, 0, size_.width, size_.height});
        break;
    }
    }
    stampCounter(frame, n);
    dirty.push_back(clip(kCounterArea, size_));
}

void Workload::stampCounter(capture::Frame &frame, uint32_t n) const {
    gfx::Canvas canvas(frame.pixels.data(), frame.width, frame.height, frame.stride);
    for (int bit = 0; bit < kCounterBits; ++bit) {
        const bool one = (n >> (kCounterBits - 1 - bit)) & 1;
        const gfx::Color white = gfx::rgb(0xff, 0xff, 0xff);
        const gfx::Color black = gfx::rgb(0, 0, 0);
        canvas.fillRect({bit * kCounterCell, 0, kCounterCell, kCounterCell}, one ? white : black);
        canvas.fillRect({bit * kCounterCell, kCounterCell, kCounterCell, kCounterCell},
                        one ? black : white);
    }
}

std::optional<uint32_t> readFrameCounter(const uint8_t *pixels, int stride, Size size) {
    if (!pixels || size.width < kCounterArea.width || size.height < kCounterArea.height)
        return std::nullopt;
    auto luma = [&](int x, int y) {
        const uint8_t *p = pixels + static_cast<size_t>(y) * stride + static_cast<size_t>(x) * 4;
        return (p[0] * 29 + p[1] * 150 + p[2] * 77) >> 8;  // B, G, R
    };
    uint32_t n = 0;
    for (int bit = 0; bit < kCounterBits; ++bit) {
        const int x = bit * kCounterCell + kCounterCell / 2;
        const int top = luma(x, kCounterCell / 2);
        const int bottom = luma(x, kCounterCell + kCounterCell / 2);
        // Clearly black over clearly white, or the other way round.
        if (top > 170 && bottom < 85)
            n = n << 1 | 1;
        else if (top < 85 && bottom > 170)
            n = n << 1;
        else
            return std::nullopt;
    }
    return n;
}

}  // namespace kvmvnc::bench
