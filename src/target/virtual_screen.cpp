// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/target/virtual_screen.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <numbers>
#include <thread>
#include <vector>

#include "kvmvnc/base/utf8.h"
#include "kvmvnc/gfx/canvas.h"
#include "kvmvnc/input/hid_usage.h"

namespace kvmvnc::target {

namespace {

using gfx::Canvas;
using gfx::Color;
using gfx::rgb;
using std::chrono::milliseconds;

constexpr int kCellWidth = 9;  // VGA text mode cell: 9x16
constexpr int kCellHeight = 16;

void biosLine(Canvas &canvas, int row, int column, const std::string &text,
              Color color = rgb(0xaa, 0xaa, 0xaa)) {
    canvas.drawText(column * kCellWidth, row * kCellHeight, text, color, 1, kCellWidth);
}

void renderBios(const MachineView &view, Canvas &canvas) {
    canvas.fill(0);
    const double p = view.biosProgress;
    const Color white = rgb(0xff, 0xff, 0xff);
    const Color yellow = rgb(0xff, 0xff, 0x55);

    // An "energy star"-like logo box in the top right corner.
    biosLine(canvas, 0, 66, "┌───────────┐", rgb(0x55, 0xff, 0x55));
    biosLine(canvas, 1, 66, "│  kvmvnc   │", rgb(0x55, 0xff, 0x55));
    biosLine(canvas, 2, 66, "│ virtual █ │", rgb(0x55, 0xff, 0x55));
    biosLine(canvas, 3, 66, "└───────────┘", rgb(0x55, 0xff, 0x55));

    biosLine(canvas, 0, 0, "kvmvnc Virtual BIOS v1.04", white);
    biosLine(canvas, 1, 0, "Copyright (C) 2026 The kvmvnc authors");
    biosLine(canvas, 3, 0, "Virtual Target Board KVM-01, Revision 1.0", yellow);
    biosLine(canvas, 5, 0, "Main Processor : Virtual x86-64 CPU @ 1.00 GHz");

    constexpr unsigned kMemoryKiB = 4194304;
    constexpr unsigned kMemoryMiB = kMemoryKiB / 1024;
    const double memoryPart = std::min(1.0, p / 0.5);
    unsigned tested = static_cast<unsigned>(memoryPart * kMemoryMiB) * 1024;
    char memory[64];
    std::snprintf(memory, sizeof(memory), "Memory Testing : %uK%s", tested,
                  memoryPart >= 1.0 ? " OK" : "");
    biosLine(canvas, 6, 0, memory);
    if (p >= 0.55)
        biosLine(canvas, 8, 0, "Detecting Primary Master ... None");
    const bool cdrom = view.drive && view.drive->cdrom;
    if (p >= 0.65)
        biosLine(canvas, 9, 0,
                 std::string("Detecting USB Devices    ... 1 Keyboard, 1 Mouse") +
                     (view.drive ? (cdrom ? ", 1 CD-ROM" : ", 1 Flash Drive") : ""));
    if (p >= 0.8)
        biosLine(canvas, 11, 0,
                 view.drive ? (cdrom ? "Booting from USB CD-ROM ..." : "Booting from USB Drive ...")
                            : "Booting from Hard Disk ...",
                 white);
    char boot[48];
    std::snprintf(boot, sizeof(boot), "Boot #%u", view.bootCount);
    biosLine(canvas, 13, 0, boot);

    biosLine(canvas, 23, 0, "Press DEL to enter SETUP, ESC to skip the memory test", white);
    biosLine(canvas, 24, 0, "11/22/2026-KVM01-VT-01");
}

// Position along a back-and-forth path of `length` at `speed` units/s.
int bounce(milliseconds t, int length, int speed) {
    if (length <= 0)
        return 0;
    long long travelled = t.count() * speed / 1000 % (2LL * length);
    return static_cast<int>(travelled < length ? travelled : 2LL * length - travelled);
}

void drawPointer(Canvas &canvas, int x, int y, int scale);

// A wallpaper whose colour changes along both axes, with the fine grain of
// a photo (a fixed per-pixel dither): content that is expensive for
// lossless encodings and that Tight reliably sends as JPEG, as it would a
// real desktop's. Computed once per size and thread.
const std::vector<Color> &wallpaper(Size size) {
    thread_local Size cachedSize;
    thread_local std::vector<Color> pixels;
    if (cachedSize == size)
        return pixels;
    pixels.resize(static_cast<size_t>(size.width) * size.height);
    for (int y = 0; y < size.height; ++y) {
        const int dy = size.height > 1 ? y * 255 / (size.height - 1) : 0;
        for (int x = 0; x < size.width; ++x) {
            const int dx = size.width > 1 ? x * 255 / (size.width - 1) : 0;
            const uint32_t hash =
                (static_cast<uint32_t>(x) * 73856093u) ^ (static_cast<uint32_t>(y) * 19349663u);
            const int grain = static_cast<int>((hash >> 7) % 5) - 2;
            pixels[static_cast<size_t>(y) * size.width + x] =
                rgb(static_cast<uint8_t>(0x1d - dy * 0x12 / 255 + dx * 0x18 / 255 + grain),
                    static_cast<uint8_t>(0x4e - dy * 0x30 / 255 + dx * 0x10 / 255 + grain),
                    static_cast<uint8_t>(0x6f - dy * 0x43 / 255 - dx * 0x20 / 255 + grain));
        }
    }
    cachedSize = size;
    return pixels;
}

void renderDesktop(const ScreenInputs &in, Canvas &canvas, capture::Frame &out) {
    const int width = canvas.width();
    const int height = canvas.height();
    // Layout in units of a 960x540 screen, scaled to the real one.
    const int s = std::max(1, std::min(width / 960, height / 540));
    const int logicalWidth = width / s;
    const int logicalHeight = height / s;
    auto rect = [s](int x, int y, int w, int h) { return Rect{x * s, y * s, w * s, h * s}; };
    auto text = [&](int x, int y, const std::string &t, Color c) {
        canvas.drawText(x * s, y * s, t, c, s);
    };

    const std::vector<Color> &background = wallpaper({width, height});
    for (int y = 0; y < height; ++y)
        std::memcpy(out.row(y), &background[static_cast<size_t>(y) * width],
                    static_cast<size_t>(width) * sizeof(Color));

    // Top bar with title and clock.
    canvas.fillRect(rect(0, 0, logicalWidth, 22), rgb(0x14, 0x16, 0x1a));
    text(8, 3, "kvmvnc virtual target", rgb(0xf0, 0xf0, 0xf0));
    text(logicalWidth - 8 - 8 * static_cast<int>(in.clock.size()), 3, in.clock,
         rgb(0xf0, 0xf0, 0xf0));

    // A terminal window.
    const Color terminalText = rgb(0xc8, 0xd0, 0xc8);
    canvas.fillRect(rect(20, 40, 560, 20), rgb(0x3a, 0x3f, 0x47));
    text(28, 42, "root@virtual-target: ~", rgb(0xe0, 0xe0, 0xe0));
    canvas.fillRect(rect(20, 60, 560, 200), rgb(0x0c, 0x0c, 0x0c));
    const char *motd[] = {
        "root@virtual-target:~# uname -srm",
        "Linux 6.1.0-kvmvnc x86_64",
        "root@virtual-target:~# cat /etc/motd",
        "This machine is simulated by kvmvncd. It stands in",
        "for the server behind a real KVM over IP.",
    };
    const std::string prompt = "root@virtual-target:~# ";
    int y = 66;
    for (const char *line : motd) {
        text(28, y, line, terminalText);
        y += 18;
    }
    for (const std::string &command : in.view.input.terminal) {
        text(28, y, prompt + command, terminalText);
        y += 18;
    }
    text(28, y, prompt + in.view.input.commandLine, terminalText);
    const int typed = static_cast<int>(decodeUtf8(prompt + in.view.input.commandLine).size());
    const bool cursorOn = in.animationTime.count() / 500 % 2 == 0;
    if (cursorOn)
        canvas.fillRect(rect(28 + 8 * typed, y, 8, 16), terminalText);
    if (in.view.shuttingDown)
        text(28, y + 18, "The system is going down for power-off NOW!", rgb(0xff, 0x80, 0x60));

    // Keyboard LEDs, as the target's keyboard shows them.
    const struct {
        const char *label;
        uint8_t bit;
    } leds[] = {{"NUM", input::led::kNumLock},
                {"CAPS", input::led::kCapsLock},
                {"SCRL", input::led::kScrollLock}};
    int ledX = logicalWidth - 16 - 8 * static_cast<int>(in.clock.size()) - 3 * 44;
    for (const auto &ledInfo : leds) {
        const bool on = in.view.input.leds & ledInfo.bit;
        canvas.fillRect(rect(ledX, 5, 8, 12), on ? rgb(0x4c, 0xe0, 0x5a) : rgb(0x3a, 0x3f, 0x47));
        text(ledX + 10, 3, ledInfo.label, on ? rgb(0xf0, 0xf0, 0xf0) : rgb(0x70, 0x76, 0x80));
        ledX += 44;
    }

    // System panel.
    const int panelX = std::max(600, logicalWidth - 360);
    canvas.fillRect(rect(panelX, 40, 340, 20), rgb(0x3a, 0x3f, 0x47));
    text(panelX + 8, 42, "System", rgb(0xe0, 0xe0, 0xe0));
    canvas.fillRect(rect(panelX, 60, 340, 160), rgb(0xec, 0xee, 0xf0));
    char line[96];
    std::snprintf(line, sizeof(line), "Display  %dx%d @ %d Hz", width, height, in.refreshRate);
    text(panelX + 10, 68, line, rgb(0x20, 0x20, 0x20));
    const long long seconds = in.view.sincePowerOn.count() / 1000;
    std::snprintf(line, sizeof(line), "Uptime   %02lld:%02lld:%02lld", seconds / 3600,
                  seconds / 60 % 60, seconds % 60);
    text(panelX + 10, 88, line, rgb(0x20, 0x20, 0x20));
    std::snprintf(line, sizeof(line), "Boots    %u", in.view.bootCount);
    text(panelX + 10, 108, line, rgb(0x20, 0x20, 0x20));
    const InputView &input = in.view.input;
    std::snprintf(line, sizeof(line), "Pointer  %d,%d  clicks %u  wheel %d",
                  input.pointerX * width / 32768, input.pointerY * height / 32768, input.clicks,
                  input.wheel);
    text(panelX + 10, 128, line, rgb(0x20, 0x20, 0x20));
    // The USB drive the KVM inserted, and what the machine read from it.
    const auto &drive = in.view.drive;
    if (drive) {
        std::snprintf(line, sizeof(line), "Drive    %.20s %.1f MiB %s%s", drive->name.c_str(),
                      static_cast<double>(drive->size) / (1 << 20), drive->cdrom ? "CD" : "USB",
                      drive->readOnly ? " ro" : " rw");
    } else {
        std::snprintf(line, sizeof(line), "Drive    none");
    }
    text(panelX + 10, 148, line, rgb(0x20, 0x20, 0x20));
    if (drive) {
        // As many as fit the panel.
        std::string bytes = "Reads   ";
        const size_t shown = std::min<size_t>(drive->firstBytes.size(), 10);
        for (uint8_t byte :
             std::vector<uint8_t>(drive->firstBytes.begin(), drive->firstBytes.begin() + shown)) {
            char hex[4];
            std::snprintf(hex, sizeof(hex), " %02x", byte);
            bytes += hex;
        }
        text(panelX + 10, 168, bytes, rgb(0x20, 0x20, 0x20));
    }
    // The HDD LED of the front panel.
    canvas.fillRect(rect(panelX + 10, 192, 10, 10),
                    in.view.hddLed ? rgb(0xf0, 0xa0, 0x20) : rgb(0x90, 0x94, 0x9a));
    text(panelX + 26, 189, "HDD", rgb(0x20, 0x20, 0x20));

    // The moving element: a ball bouncing through the lower part.
    constexpr int kRadius = 20;
    const int areaTop = 290;
    const int areaHeight = std::max(0, logicalHeight - areaTop - 2 * kRadius - 10);
    const int areaWidth = std::max(0, logicalWidth - 40 - 2 * kRadius);
    const int ballX = 20 + kRadius + bounce(in.animationTime, areaWidth, 240);
    const int ballY = areaTop + kRadius + bounce(in.animationTime, areaHeight, 130);
    canvas.fillCircle(ballX * s, ballY * s, kRadius * s, rgb(0xf5, 0xa6, 0x23));
    canvas.fillCircle((ballX - 6) * s, (ballY - 6) * s, 5 * s, rgb(0xff, 0xd8, 0x8a));

    if (in.view.input.pointerSeen)
        drawPointer(canvas, in.view.input.pointerX * width / 32768,
                    in.view.input.pointerY * height / 32768, s);
}

// The video player's picture: three waves of colour drifting at their own
// speeds over the whole screen, with a fixed fine grain, a moving disc and
// the position in a bar at the bottom. Every pixel changes from one frame
// to the next but nothing merely moves, so neither the differ nor the
// scroll finder can shortcut it: the load of a film or an installer's
// animation. Tables make it cheap (a few additions and lookups a pixel).
void renderVideo(const VideoView &video, Canvas &canvas, capture::Frame &out) {
    const int width = canvas.width();
    const int height = canvas.height();
    const int s = std::max(1, std::min(width / 960, height / 540));
    constexpr int kWave = 1024;  // table length, one period
    thread_local std::vector<int> wave;
    if (wave.empty()) {
        wave.resize(kWave);
        for (int i = 0; i < kWave; ++i)
            wave[i] = static_cast<int>(63.5 + 63.5 * std::sin(i * 2 * std::numbers::pi / kWave));
    }
    const long long ms = video.position.count();
    const int shiftA = static_cast<int>(ms * 160 / 1000 % kWave);
    const int shiftB = static_cast<int>(kWave - ms * 110 / 1000 % kWave);
    const int shiftC = static_cast<int>(ms * 70 / 1000 % kWave);
    const int hue = static_cast<int>(ms * 150 / 1000);
    // Positions along the waves: about two periods across the screen and
    // one and a half down it, whatever its size.
    std::vector<int> columnPhase(static_cast<size_t>(width));
    std::vector<int> columnValue(static_cast<size_t>(width));
    for (int x = 0; x < width; ++x) {
        columnPhase[x] = x * 2 * kWave / std::max(width, 1);
        columnValue[x] = wave[(columnPhase[x] + shiftA) % kWave];
    }
    Color palette[3 * 128];
    for (int i = 0; i < 3 * 128; ++i) {
        const int k = (i + hue) % (3 * 128);
        palette[i] = rgb(static_cast<uint8_t>(wave[k * kWave / 384] * 2),
                         static_cast<uint8_t>(wave[(k * kWave / 384 + kWave / 3) % kWave] * 2),
                         static_cast<uint8_t>(wave[(k * kWave / 384 + 2 * kWave / 3) % kWave] * 2));
    }
    // Each row is made in a buffer of pixels, then copied: the frame's rows
    // are bytes, with no promise of a pixel's alignment.
    std::vector<Color> row(static_cast<size_t>(width));
    for (int y = 0; y < height; ++y) {
        const int rowPhase = y * 3 * kWave / 2 / std::max(height, 1);
        const int rowValue = wave[(rowPhase + shiftB) % kWave];
        for (int x = 0; x < width; ++x) {
            const int diagonal = wave[(columnPhase[x] + rowPhase + shiftC) % kWave];
            const int grain = static_cast<int>(((x * 73856093u) ^ (y * 19349663u)) >> 7 & 7);
            row[x] = palette[std::min(columnValue[x] + rowValue + diagonal + grain, 3 * 128 - 1)];
        }
        std::memcpy(out.row(y), row.data(), row.size() * sizeof(Color));
    }
    const int logicalWidth = width / s;
    const int logicalHeight = height / s;
    constexpr int kRadius = 40;
    const int discX = kRadius + bounce(video.position, logicalWidth - 2 * kRadius, 300);
    const int discY = kRadius + bounce(video.position, logicalHeight - 60 - 2 * kRadius, 170);
    canvas.fillCircle(discX * s, discY * s, kRadius * s, rgb(0xf0, 0xf0, 0xf0));

    canvas.fillRect({0, (logicalHeight - 40) * s, width, 40 * s}, rgb(0x10, 0x10, 0x10));
    const long long tenths = ms / 100;
    char label[64];
    std::snprintf(label, sizeof(label), "%s %02lld:%02lld.%lld   Space pauses, Esc stops",
                  video.paused ? "||" : "|>", tenths / 600, tenths / 10 % 60, tenths % 10);
    canvas.drawText(10 * s, (logicalHeight - 32) * s, label, rgb(0xf0, 0xf0, 0xf0), s);
    constexpr long long kLength = 600'000;  // the bar's length: ten minutes
    const int barWidth = logicalWidth - 440;
    canvas.fillRect({420 * s, (logicalHeight - 24) * s, std::max(barWidth, 0) * s, 6 * s},
                    rgb(0x50, 0x50, 0x50));
    canvas.fillRect({420 * s, (logicalHeight - 24) * s,
                     static_cast<int>(std::max(barWidth, 0) * (ms % kLength) / kLength) * s, 6 * s},
                    rgb(0xe0, 0x40, 0x40));
}

// The classic arrow: B border, W fill, tip at the top left.
void drawPointer(Canvas &canvas, int x, int y, int scale) {
    // clang-format off
    static const char *const kArrow[] = {
        "B",
        "BB",
        "BWB",
        "BWWB",
        "BWWWB",
        "BWWWWB",
        "BWWWWWB",
        "BWWWWWWB",
        "BWWWWWWWB",
        "BWWWWWWWWB",
        "BWWWWWBBBBB",
        "BWWBWWB",
        "BWB BWWB",
        "BB  BWWB",
        "B    BWWB",
        "     BWWB",
        "      BB",
    };
    // clang-format on
    int row = 0;
    for (const char *line : kArrow) {
        for (int column = 0; line[column] != '\0'; ++column) {
            if (line[column] == ' ')
                continue;
            canvas.fillRect({x + column * scale, y + row * scale, scale, scale},
                            line[column] == 'B' ? rgb(0, 0, 0) : rgb(0xff, 0xff, 0xff));
        }
        ++row;
    }
}

std::string clockText() {
    std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char text[32];
    std::strftime(text, sizeof(text), "%a %d %b %H:%M:%S", &local);
    return text;
}

}  // namespace

void renderVirtualScreen(const ScreenInputs &inputs, capture::Frame &out) {
    Size size = inputs.view.outputSize;
    out.allocate(size.width, size.height);
    Canvas canvas(out.pixels.data(), out.width, out.height, out.stride);
    if (inputs.view.phase == MachinePhase::Bios)
        renderBios(inputs.view, canvas);
    else if (inputs.view.video)
        renderVideo(*inputs.view.video, canvas, out);
    else
        renderDesktop(inputs, canvas, out);
}

ScreenInputs stillInputs(const MachineView &view, int refreshRate) {
    ScreenInputs inputs;
    inputs.view = view;
    inputs.view.sincePowerOn = milliseconds{0};
    inputs.view.biosProgress = 1.0;
    inputs.clock = "--- -- --- --:--:--";
    inputs.refreshRate = refreshRate;
    return inputs;
}

// At least 1 fps: the period divides by it.
VirtualScreen::VirtualScreen(std::shared_ptr<const VirtualMachine> machine, int fps, bool animate)
    : machine_(std::move(machine)),
      fps_(std::max(fps, 1)),
      animate_(animate),
      period_(std::chrono::duration_cast<Clock::duration>(std::chrono::seconds{1}) / fps_),
      start_(Clock::now()),
      nextFrameAt_(start_) {}

capture::CaptureResult VirtualScreen::capture(capture::Frame &frame, milliseconds timeout) {
    Clock::time_point now = Clock::now();
    if (now < nextFrameAt_) {
        std::this_thread::sleep_for(std::min<Clock::duration>(nextFrameAt_ - now, timeout));
        now = Clock::now();
        if (now < nextFrameAt_)
            return capture::CaptureResult::Timeout;
    }
    nextFrameAt_ += period_;
    if (nextFrameAt_ < now)
        nextFrameAt_ = now + period_;

    MachineView view = machine_->view(now);
    if (view.phase == MachinePhase::Off) {
        status_ = {capture::SignalState::NoSignal, "the virtual target is powered off"};
        rendered_ = false;
        return capture::CaptureResult::Unavailable;
    }
    status_ = {};

    ScreenInputs inputs;
    if (animate_) {
        inputs.view = view;
        inputs.animationTime = std::chrono::duration_cast<milliseconds>(now - start_);
        inputs.clock = clockText();
        inputs.refreshRate = fps_;
    } else {
        inputs = stillInputs(view, fps_);
    }
    if (rendered_ && inputs == lastInputs_)
        return capture::CaptureResult::Timeout;
    renderVirtualScreen(inputs, frame);
    lastInputs_ = std::move(inputs);
    rendered_ = true;
    return capture::CaptureResult::Frame;
}

std::string VirtualScreen::description() const {
    return "virtual target at " + std::to_string(fps_) + " fps" + (animate_ ? "" : " (still)");
}

}  // namespace kvmvnc::target
