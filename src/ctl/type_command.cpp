// SPDX-License-Identifier: GPL-2.0-or-later
// kvmvncctl type: text typed on the target's keyboard.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "kvmvnc/ctl/command_line.h"
#include "kvmvnc/ctl/command_support.h"
#include "kvmvnc/ctl/commands.h"

namespace kvmvnc::ctl {

namespace {

std::string readAll(std::FILE *file) {
    std::string text;
    char buffer[4096];
    size_t got = 0;
    while ((got = std::fread(buffer, 1, sizeof(buffer), file)) > 0)
        text.append(buffer, got);
    return text;
}

}  // namespace

using control::Request;

int typeCommand(const Options &options) {
    if (options.cancelTyping != (options.words.size() == 1))
        return usage("type takes TEXT, - (standard input), or --cancel");
    ControlClient client;
    if (options.cancelTyping) {
        if (!connect(client, options))
            return kExitConnection;
        return check(client, client.request(Request::TypeCancel), "type --cancel");
    }
    const std::string text = options.words[1] == "-" ? readAll(stdin) : options.words[1];
    if (text.size() > control::kMaxTypeText)
        return usage("at most " + std::to_string(control::kMaxTypeText) +
                     " bytes of text at a time");
    if (!connect(client, options))
        return kExitConnection;
    auto reply = client.request(
        Request::TypeText, control::encode(control::TypeTextBody{options.skipUntypable, text}));
    if (int status = check(client, reply, "type"); status != kExitOk)
        return status;
    auto result = control::decodeTypeTextResult(reply->result);
    if (!result)
        return check(client, std::nullopt, "type");
    if (!result->untypable.empty()) {
        std::string skipped;
        for (char32_t character : result->untypable) {
            char code[16];
            std::snprintf(code, sizeof(code), "U+%04X", static_cast<unsigned>(character));
            skipped += std::string(skipped.empty() ? "" : " ") + code;
        }
        std::fprintf(stderr, "kvmvncctl: type: skipped what the layout cannot type: %s\n",
                     skipped.c_str());
    }
    if (result->characters == 0)
        return kExitOk;
    // Progress may arrive before the reply; wait for the end of the job.
    const bool terminal = ::isatty(STDERR_FILENO);
    uint32_t shown = 0;
    const bool finished = client.readUntil([&] {
        const auto &progress = client.typeProgress();
        if (progress && terminal && progress->typed != shown) {
            shown = progress->typed;
            std::fprintf(stderr, "\rtyped %u of %u characters", progress->typed, progress->total);
        }
        return progress && progress->state != control::TypeProgressBody::State::Typing;
    });
    if (terminal && shown)
        std::fputc('\n', stderr);
    if (!finished) {
        std::fprintf(stderr, "kvmvncctl: type: %s\n", client.error().c_str());
        return kExitConnection;
    }
    const control::TypeProgressBody &progress = *client.typeProgress();
    switch (progress.state) {
    case control::TypeProgressBody::State::Done:
        return kExitOk;
    case control::TypeProgressBody::State::Cancelled:
        std::fprintf(stderr, "kvmvncctl: type: cancelled after %u of %u characters\n",
                     progress.typed, progress.total);
        return kExitRefused;
    default:
        std::fprintf(stderr,
                     "kvmvncctl: type: the target stopped listening after %u of %u characters\n",
                     progress.typed, progress.total);
        return kExitRefused;
    }
}

}  // namespace kvmvnc::ctl
