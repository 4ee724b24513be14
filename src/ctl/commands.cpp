// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/ctl/commands.h"

#include <fcntl.h>
#include <grp.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "kvmvnc/base/sha256.h"
#include "kvmvnc/base/unique_fd.h"
#include "kvmvnc/capture/edid.h"
#include "kvmvnc/config/config.h"
#include "kvmvnc/ctl/control_client.h"
#include "kvmvnc/ctl/known_hosts.h"
#include "kvmvnc/ctl/server_certificate.h"
#include "kvmvnc/doctor/certificate_info.h"
#include "kvmvnc/doctor/check_hardware.h"
#include "kvmvnc/door/user_table.h"
#include "kvmvnc/door/vnc_password_file.h"
#include "kvmvnc/health/throttle_flags.h"

namespace kvmvnc::ctl {

namespace {

using control::Request;
using control::Status;

constexpr const char *kUsage =
    "usage: kvmvncctl [--host HOST[:PORT]] [--passwd-file FILE | --user NAME]\n"
    "                 [--ca-file FILE | --known-hosts FILE [--accept-new]]\n"
    "                 [--insecure] COMMAND\n"
    "       kvmvncctl passwd [--users-file FILE] [--view-only] [--delete] USER\n"
    "\n"
    "  status                      everything below, as the server sees it\n"
    "  atx status | power | power-long | reset | wol\n"
    "  msd status | list | upload FILE [--name NAME] | delete NAME\n"
    "      | insert NAME [--cdrom | --flash] [--rw] | eject\n"
    "  type [--skip-untypable] TEXT  type TEXT (- reads standard input) on the\n"
    "                              target's keyboard; Ctrl+C stops it\n"
    "  type --cancel               stop what any connection is typing\n"
    "  edid show                   the EDID the capture device shows the target:\n"
    "                              the monitor's name and every mode it offers\n"
    "  doctor [--config FILE]      whether the server is reachable and its certificate\n"
    "                              good, then kvmvncd's check of each part its setup\n"
    "                              needs (USB gadget, capture device, EDID, GPIO...),\n"
    "                              one line each with the fix. On this machine without\n"
    "                              a running kvmvncd, checks it against FILE (default\n"
    "                              /etc/kvmvnc/kvmvncd.ini). Exit status 0 when\n"
    "                              everything needed is there, 1 when not\n"
    "  passwd USER                 add USER to kvmvncd's users file or change\n"
    "                              their password (asked twice); --view-only\n"
    "                              gives view-only access, --delete removes USER.\n"
    "                              Edits the file (default /etc/kvmvnc/users)\n"
    "                              without connecting; `systemctl reload kvmvncd`\n"
    "                              applies it\n"
    "\n"
    "HOST defaults to 127.0.0.1, PORT to 5900. FILE for --passwd-file is a\n"
    "TigerVNC vncpasswd file. --user NAME logs in as NAME with VeNCrypt's\n"
    "X509Plain or TLSPlain. Passwords for --user and passwd come from the\n"
    "environment variable KVMVNC_PASSWORD if set, else are asked on the terminal\n"
    "(passwd without a terminal reads one line of standard input). VeNCrypt's\n"
    "X509 subtypes verify the server with the CA file --ca-file FILE (the\n"
    "daemon's self-signed certificate works as one); on the device itself the\n"
    "daemon's own, /var/lib/kvmvnc/tls/cert.pem, is trusted as it is. Else the\n"
    "server's certificate is pinned, as ssh does: its SHA-256 fingerprint\n"
    "(kvmvncd logs it at start) is\n"
    "kept in --known-hosts FILE (default $XDG_CONFIG_HOME/kvmvnc/known_hosts or\n"
    "~/.config/kvmvnc/known_hosts). A server met for the first time is asked\n"
    "about when standard input is a terminal, trusted with --accept-new, and\n"
    "refused otherwise; a changed certificate is refused. Passwords go only to\n"
    "a server checked one of these ways; --insecure sends them over anonymous\n"
    "TLS or no TLS too, where a man in the middle can have them.\n"
    "Exit status: 0 done, 1 refused by the server (passwd: failed), 2 bad command\n"
    "line, 3 connection or authentication failed.\n";

constexpr const char *kLocalCertificateFile = "/var/lib/kvmvnc/tls/cert.pem";
constexpr const char *kDefaultUsersFile = "/etc/kvmvnc/users";
constexpr const char *kDefaultDaemonConfig = "/etc/kvmvnc/kvmvncd.ini";
constexpr const char *kPasswordVariable = "KVMVNC_PASSWORD";
// The group kvmvncd runs as (packaging/systemd): a users file root creates
// goes to it, or the daemon could not read it.
constexpr const char *kDaemonGroup = "kvmvnc";
// passwd talks to no server; its failures share status 1 with refusals.
constexpr int kExitFailed = kExitRefused;

struct Options {
    ConnectOptions connect;
    std::vector<std::string> words;
    std::string uploadName;
    bool cdrom = true;
    bool writable = false;
    bool skipUntypable = false;
    bool cancelTyping = false;
    std::string usersFile = kDefaultUsersFile;
    bool viewOnly = false;
    bool deleteUser = false;
    std::string daemonConfig;  // doctor without a daemon; empty: kDefaultDaemonConfig
    bool caFileGiven = false;
};

int usage(const std::string &problem) {
    if (!problem.empty())
        std::fprintf(stderr, "kvmvncctl: %s\n", problem.c_str());
    std::fputs(kUsage, stderr);
    return kExitUsage;
}

bool parseHost(const std::string &text, ConnectOptions &connect) {
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) {
        connect.host = text;  // a name, or IPv6 without a port
        return !text.empty();
    }
    connect.host = text.substr(0, colon);
    try {
        size_t used = 0;
        const int port = std::stoi(text.substr(colon + 1), &used);
        if (used != text.size() - colon - 1 || port < 1 || port > 65535)
            return false;
        connect.port = port;
    } catch (const std::exception &) {
        return false;
    }
    return !connect.host.empty();
}

std::string sizeText(uint64_t bytes) {
    char text[32];
    if (bytes >= (1ULL << 30))
        std::snprintf(text, sizeof(text), "%.1f GiB", static_cast<double>(bytes) / (1ULL << 30));
    else if (bytes >= (1ULL << 20))
        std::snprintf(text, sizeof(text), "%.1f MiB", static_cast<double>(bytes) / (1ULL << 20));
    else if (bytes >= 1024)
        std::snprintf(text, sizeof(text), "%.1f KiB", static_cast<double>(bytes) / 1024);
    else
        std::snprintf(text, sizeof(text), "%" PRIu64 " B", bytes);
    return text;
}

// Connects or says why not.
bool connect(ControlClient &client, const Options &options) {
    if (client.connect(options.connect))
        return true;
    std::fprintf(stderr, "kvmvncctl: %s\n", client.error().c_str());
    return false;
}

// The reply's status as an exit status, printing the server's message.
int check(const ControlClient &client, const std::optional<control::Reply> &reply,
          const char *what) {
    if (!reply) {
        std::fprintf(stderr, "kvmvncctl: %s: %s\n", what, client.error().c_str());
        return kExitConnection;
    }
    if (reply->status != Status::Ok) {
        std::fprintf(stderr, "kvmvncctl: %s: %s (%s)\n", what, reply->message.c_str(),
                     control::statusName(reply->status));
        return kExitRefused;
    }
    return kExitOk;
}

void printAtx(const control::AtxStateBody &state) {
    std::printf("power: %s\nhdd: %s\n%s", state.powerLed ? "on" : "off",
                state.hddLed ? "active" : "idle", state.busy ? "busy: an action is running\n" : "");
}

void printDrive(const control::DriveStateBody &state) {
    if (!state.inserted)
        std::printf("drive: ejected\n");
    else
        std::printf("drive: %s inserted as %s%s (%s)\n", state.name.c_str(),
                    state.mode == 0 ? "CD-ROM" : "flash drive",
                    state.writable ? ", writable" : ", read-only", sizeText(state.size).c_str());
    if (!state.problem.empty())
        std::printf("problem: %s\n", state.problem.c_str());
}

void printInput(const control::InputStateBody &state) {
    std::printf("keyboard: layout %s, %s%s\n", state.layout.c_str(),
                state.hostListening ? "the target is listening"
                                    : "the target is NOT listening (off, asleep or unplugged)",
                state.typing ? ", typing pasted text" : "");
}

void printHealth(const control::HealthStateBody &state) {
    static constexpr const char *kSignals[] = {"picture",      "NO SIGNAL", "NO SYNC",
                                               "OUT OF RANGE", "NO CABLE",  "NO CAPTURE DEVICE",
                                               "CAPTURE ERROR"};
    std::string board;
    if (state.temperatureKnown) {
        char text[64];
        std::snprintf(text, sizeof text, "SoC %.1f C%s", state.milliCelsius / 1000.0,
                      state.hot ? " (TOO HOT)" : "");
        board = text;
    }
    if (state.throttlingKnown) {
        namespace throttle = health::throttle;
        const std::string now = health::throttleFlagNames(state.throttled & throttle::kNowMask);
        const std::string past = health::throttleFlagNames(
            (state.throttled & throttle::kOccurredMask) >> throttle::kOccurredShift);
        board += board.empty() ? "" : ", ";
        board += now.empty() ? "power and clock fine" : now + " NOW";
        if (!past.empty())
            board += "; since boot: " + past;
    }
    std::printf("health: %s\n", board.empty() ? "no sensors" : board.c_str());
    if (state.signal == 0)
        std::printf("capture: picture %ux%u at %.1f fps\n", state.width, state.height,
                    state.fpsHundredths / 100.0);
    else
        std::printf("capture: %s\n", kSignals[std::min<size_t>(state.signal, 6)]);
    std::printf("viewers: %u connected\n", state.viewers);
}

int atxCommand(const Options &options) {
    if (options.words.size() != 2)
        return usage("atx takes one of: status, power, power-long, reset, wol");
    const std::string &verb = options.words[1];
    static const std::map<std::string, uint8_t> actions = {
        {"power", 1}, {"power-long", 2}, {"reset", 3}, {"wol", 4}};
    if (verb != "status" && !actions.contains(verb))
        return usage("unknown atx command '" + verb + "'");
    ControlClient client;
    if (!connect(client, options))
        return kExitConnection;
    if (verb == "status") {
        auto reply = client.request(Request::AtxGetState);
        if (int status = check(client, reply, "atx status"); status != kExitOk)
            return status;
        auto state = control::decodeAtxState(reply->result);
        if (!state)
            return check(client, std::nullopt, "atx status");
        printAtx(*state);
        return kExitOk;
    }
    auto reply = client.request(Request::AtxAction, {actions.at(verb)});
    return check(client, reply, ("atx " + verb).c_str());
}

std::optional<control::Reply> simple(ControlClient &client, Request opcode,
                                     const std::vector<uint8_t> &payload = {}) {
    return client.request(opcode, payload);
}

// A progress line on a terminal: bar, percentage, rate and time left.
class ProgressBar {
public:
    explicit ProgressBar(uint64_t total)
        : total_(total),
          enabled_(::isatty(STDERR_FILENO) == 1),
          start_(std::chrono::steady_clock::now()) {}
    void restart(uint64_t from) {
        base_ = from;
        start_ = std::chrono::steady_clock::now();
    }
    void show(uint64_t done) {
        if (!enabled_)
            return;
        const auto now = std::chrono::steady_clock::now();
        if (done < total_ && now - lastShown_ < std::chrono::milliseconds{200})
            return;
        lastShown_ = now;
        const double seconds = std::chrono::duration<double>(now - start_).count();
        const double rate = seconds > 0 ? static_cast<double>(done - base_) / seconds : 0;
        const double fraction = total_ ? static_cast<double>(done) / total_ : 1.0;
        constexpr int kWidth = 30;
        std::string bar(static_cast<size_t>(fraction * kWidth), '#');
        bar.resize(kWidth, '.');
        long eta = rate > 0 ? static_cast<long>(static_cast<double>(total_ - done) / rate) : 0;
        std::fprintf(stderr, "\r[%s] %3d%%  %s/s  ETA %ld:%02ld ", bar.c_str(),
                     static_cast<int>(fraction * 100),
                     sizeText(static_cast<uint64_t>(rate)).c_str(), eta / 60, eta % 60);
        std::fflush(stderr);
    }
    void finish() {
        if (enabled_)
            std::fputc('\n', stderr);
    }

private:
    uint64_t total_;
    uint64_t base_ = 0;
    bool enabled_;
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point lastShown_{};
};

enum class Attempt { Done, Refused, ConnectionLost, LocalError };

// One connection's worth of upload: begin (or resume), chunks with a window
// of requests in flight, finish.
Attempt uploadOnce(const Options &options, const std::string &path, const std::string &name,
                   uint64_t size, const Sha256Digest &digest, ProgressBar &progress) {
    ControlClient client;
    if (!client.connect(options.connect)) {
        std::fprintf(stderr, "kvmvncctl: %s\n", client.error().c_str());
        return Attempt::ConnectionLost;
    }
    control::UploadBeginBody begin;
    begin.size = size;
    begin.sha256 = digest;
    begin.name = name;
    auto reply = client.request(Request::UploadBegin, control::encode(begin));
    if (!reply)
        return Attempt::ConnectionLost;
    if (check(client, reply, "upload") != kExitOk)
        return Attempt::Refused;
    control::ByteReader result(reply->result);
    uint32_t id = 0;
    uint64_t offset = 0;
    if (!result.u32(id) || !result.u64(offset) || offset > size) {
        std::fprintf(stderr, "kvmvncctl: upload: the server's answer makes no sense\n");
        return Attempt::Refused;
    }
    if (offset > 0)
        std::fprintf(stderr, "kvmvncctl: resuming %s at %s\n", name.c_str(),
                     sizeText(offset).c_str());
    progress.restart(offset);

    std::ifstream file(path, std::ios::binary);
    file.seekg(static_cast<std::streamoff>(offset));
    if (!file) {
        std::fprintf(stderr, "kvmvncctl: %s: cannot read\n", path.c_str());
        return Attempt::LocalError;
    }
    const uint32_t chunkSize = std::min(client.hello().maxChunk, control::kMaxChunk);
    constexpr size_t kWindow = 8;
    std::deque<uint32_t> inFlight;
    std::vector<char> buffer(chunkSize);
    auto settleOldest = [&]() -> Attempt {
        auto answer = client.waitForReply(inFlight.front());
        inFlight.pop_front();
        if (!answer)
            return Attempt::ConnectionLost;
        if (check(client, answer, "upload") != kExitOk)
            return Attempt::Refused;
        return Attempt::Done;
    };
    while (offset < size) {
        const auto length = static_cast<uint32_t>(std::min<uint64_t>(chunkSize, size - offset));
        file.read(buffer.data(), length);
        if (static_cast<uint32_t>(file.gcount()) != length) {
            std::fprintf(stderr, "kvmvncctl: %s: changed while uploading\n", path.c_str());
            return Attempt::LocalError;
        }
        control::ByteWriter chunk;
        chunk.u32(id);
        chunk.u64(offset);
        chunk.raw(buffer.data(), length);
        const uint32_t requestId = client.send(Request::UploadChunk, chunk.bytes());
        if (requestId == 0)
            return Attempt::ConnectionLost;
        inFlight.push_back(requestId);
        offset += length;
        if (inFlight.size() >= kWindow) {
            if (Attempt attempt = settleOldest(); attempt != Attempt::Done)
                return attempt;
        }
        progress.show(offset);
    }
    while (!inFlight.empty()) {
        if (Attempt attempt = settleOldest(); attempt != Attempt::Done)
            return attempt;
    }
    control::ByteWriter finish;
    finish.u32(id);
    reply = client.request(Request::UploadFinish, finish.bytes());
    if (!reply)
        return Attempt::ConnectionLost;
    return check(client, reply, "upload") == kExitOk ? Attempt::Done : Attempt::Refused;
}

int upload(const Options &options) {
    if (options.words.size() != 3)
        return usage("msd upload takes a file");
    const std::string path = options.words[2];
    std::error_code error;
    const uint64_t size = std::filesystem::file_size(path, error);
    if (error) {
        std::fprintf(stderr, "kvmvncctl: %s: %s\n", path.c_str(), error.message().c_str());
        return kExitUsage;
    }
    const std::string name = options.uploadName.empty()
                                 ? std::filesystem::path(path).filename().string()
                                 : options.uploadName;
    std::string problem;
    const std::optional<Sha256Digest> digest = sha256File(path, problem);
    if (!digest) {
        std::fprintf(stderr, "kvmvncctl: %s\n", problem.c_str());
        return kExitUsage;
    }
    ProgressBar progress(size);
    // A dropped connection is resumed where the server's confirmed data ends.
    constexpr int kAttempts = 5;
    for (int attempt = 1; attempt <= kAttempts; ++attempt) {
        switch (uploadOnce(options, path, name, size, *digest, progress)) {
        case Attempt::Done:
            progress.finish();
            std::printf("uploaded %s (%s)\n", name.c_str(), sizeText(size).c_str());
            return kExitOk;
        case Attempt::Refused:
            progress.finish();
            return kExitRefused;
        case Attempt::LocalError:
            progress.finish();
            return kExitUsage;
        case Attempt::ConnectionLost:
            if (attempt < kAttempts) {
                std::fprintf(stderr, "\nkvmvncctl: connection lost, retrying\n");
                std::this_thread::sleep_for(std::chrono::seconds{attempt});
            }
            break;
        }
    }
    progress.finish();
    std::fprintf(stderr, "kvmvncctl: upload: gave up after %d connection failures\n", kAttempts);
    return kExitConnection;
}

int msdCommand(const Options &options) {
    if (options.words.size() < 2)
        return usage("msd takes one of: status, list, upload, delete, insert, eject");
    const std::string &verb = options.words[1];
    if (verb == "upload")
        return upload(options);
    const bool takesName = verb == "delete" || verb == "insert";
    if (verb != "status" && verb != "list" && verb != "eject" && !takesName)
        return usage("unknown msd command '" + verb + "'");
    if (options.words.size() != (takesName ? 3u : 2u))
        return usage(takesName ? "msd " + verb + " takes an image name"
                               : "msd " + verb + " takes no arguments");
    ControlClient client;
    if (!connect(client, options))
        return kExitConnection;
    const std::string what = "msd " + verb;
    if (verb == "status") {
        auto reply = simple(client, Request::DriveGetState);
        if (int status = check(client, reply, what.c_str()); status != kExitOk)
            return status;
        auto state = control::decodeDriveState(reply->result);
        if (!state)
            return check(client, std::nullopt, what.c_str());
        printDrive(*state);
        return kExitOk;
    }
    if (verb == "list") {
        auto reply = simple(client, Request::ImageList);
        if (int status = check(client, reply, what.c_str()); status != kExitOk)
            return status;
        auto images = control::decodeImageList(reply->result);
        if (!images)
            return check(client, std::nullopt, what.c_str());
        for (const control::ImageEntry &image : *images) {
            if (image.incomplete)
                std::printf("%s\t%" PRIu64 "\tincomplete upload, %" PRIu64 " bytes confirmed\n",
                            image.name.c_str(), image.size, image.confirmed);
            else
                std::printf("%s\t%" PRIu64 "\n", image.name.c_str(), image.size);
        }
        return kExitOk;
    }
    if (verb == "eject")
        return check(client, simple(client, Request::DriveEject), what.c_str());
    control::ByteWriter name;
    name.name(options.words[2]);
    if (options.words[2].size() > control::kMaxNameLength)
        return usage("image names are at most 255 bytes");
    if (verb == "delete")
        return check(client, simple(client, Request::ImageDelete, name.bytes()), what.c_str());
    control::DriveInsertBody insert;
    insert.mode = options.cdrom ? 0 : 1;
    insert.writable = options.writable;
    insert.name = options.words[2];
    return check(client, simple(client, Request::DriveInsert, control::encode(insert)),
                 what.c_str());
}

std::string readAll(std::FILE *file) {
    std::string text;
    char buffer[4096];
    size_t got = 0;
    while ((got = std::fread(buffer, 1, sizeof(buffer), file)) > 0)
        text.append(buffer, got);
    return text;
}

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

int statusCommand(const Options &options) {
    if (options.words.size() != 1)
        return usage("status takes no arguments");
    ControlClient client;
    if (!connect(client, options))
        return kExitConnection;
    const control::Hello &hello = client.hello();
    std::printf("server: protocol %u.%u, %s rights\n", hello.versionMajor, hello.versionMinor,
                hello.fullRights ? "full" : "view-only");
    struct Part {
        uint32_t feature;
        Request request;
        const char *what;
        const char *absent;
    };
    const Part parts[] = {
        {control::feature::kKeyboard, Request::InputGetState, "keyboard", "keyboard: none"},
        {control::feature::kAtx, Request::AtxGetState, "atx", "power: no ATX control"},
        {control::feature::kMassStorage, Request::DriveGetState, "drive",
         "drive: no virtual media"},
        {control::feature::kHealth, Request::HealthGetState, "health", "health: not monitored"},
    };
    for (const Part &part : parts) {
        if (!(hello.features & part.feature)) {
            std::printf("%s\n", part.absent);
            continue;
        }
        auto reply = client.request(part.request);
        if (int status = check(client, reply, part.what); status != kExitOk)
            return status;
        bool decoded = false;
        if (part.request == Request::InputGetState) {
            if (auto state = control::decodeInputState(reply->result);
                (decoded = state.has_value()))
                printInput(*state);
        } else if (part.request == Request::AtxGetState) {
            if (auto state = control::decodeAtxState(reply->result); (decoded = state.has_value()))
                printAtx(*state);
        } else if (part.request == Request::HealthGetState) {
            if (auto state = control::decodeHealthState(reply->result);
                (decoded = state.has_value()))
                printHealth(*state);
        } else if (auto state = control::decodeDriveState(reply->result);
                   (decoded = state.has_value())) {
            printDrive(*state);
        }
        if (!decoded)
            return check(client, std::nullopt, part.what);
    }
    return kExitOk;
}

// The capture device's EDID, parsed: what the target is offered. The
// server sends bytes; capture::Edid, the parser kvmvncd checks files with,
// describes them. 0, or 1 when loading failed or the EDID is invalid.
int printEdid(const control::EdidStateBody &state) {
    using State = control::EdidStateBody::State;
    const std::string setting = "[capture] edid = " + state.setting;
    switch (state.state) {
    case State::Unknown:
        std::printf("edid: not known yet: %s (%s)\n", state.detail.c_str(), setting.c_str());
        return kExitOk;
    case State::Empty:
        std::printf("edid: %s holds none: the target sees no monitor and sends no picture (%s)\n",
                    state.node.c_str(), setting.c_str());
        return kExitOk;
    case State::Unsupported:
        std::printf("edid: %s (%s)\n", state.detail.c_str(), setting.c_str());
        return kExitOk;
    case State::Failed:
        std::printf("edid: not loaded: %s (%s)\n", state.detail.c_str(), setting.c_str());
        if (state.edid.empty())
            return kExitRefused;
        std::printf("the device holds:\n");
        break;
    case State::Present:
        std::printf("edid: on %s (%s)\n", state.node.c_str(), setting.c_str());
        break;
    }
    std::string error;
    std::optional<capture::Edid> edid = capture::Edid::parse(state.edid, error);
    if (!edid) {
        std::printf("invalid EDID: %s\n", error.c_str());
        for (size_t i = 0; i < state.edid.size(); ++i)
            std::printf("%02x%c", state.edid[i], i % 16 == 15 ? '\n' : ' ');
        if (state.edid.size() % 16 != 0)
            std::printf("\n");
        return kExitRefused;
    }
    std::fputs(edid->describe().c_str(), stdout);
    return state.state == State::Present ? kExitOk : kExitRefused;
}

int edidCommand(const Options &options) {
    if (options.words.size() != 2 || options.words[1] != "show")
        return usage("edid takes: show");
    ControlClient client;
    if (!connect(client, options))
        return kExitConnection;
    auto reply = client.request(Request::EdidGetState);
    if (int status = check(client, reply, "edid show"); status != kExitOk)
        return status;
    auto state = control::decodeEdidState(reply->result);
    if (!state)
        return check(client, std::nullopt, "edid show");
    return printEdid(*state);
}

// --- doctor ----------------------------------------------------------------------------------

bool isLoopback(const std::string &host) {
    return host == "localhost" || host == "::1" || host.starts_with("127.");
}

// What kvmvncctl itself finds of the server's certificate: which one, how
// long it is good for, and whether it is the one trusted here.
doctor::HardwareCheck certificateSeen(const Options &options, const std::string &where) {
    const ConnectOptions &connect = options.connect;
    std::string problem;
    std::optional<ServerCertificate> certificate =
        fetchServerCertificate(connect.host, connect.port, connect.timeoutSeconds, problem);
    if (!certificate)
        return {"certificate seen",
                doctor::Status::Skipped,
                "no TLS certificate shown: " + problem,
                {}};
    std::optional<doctor::CertificateInfo> info =
        doctor::inspectCertificate(certificate->der(), problem);
    if (!info)
        return {"certificate seen", doctor::Status::Fail, where + " shows " + problem,
                "set [security] tls_cert to a certificate, or leave it empty for kvmvncd's own"};
    doctor::HardwareCheck check = doctor::certificateCheck(
        "certificate seen", *info, std::chrono::system_clock::now(), false, "shown by " + where,
        "renew it on the server (kvmvncctl doctor there says how)");
    if (options.caFileGiven) {
        check.finding += ", checked against --ca-file " + connect.caFile + " when logging in";
        return check;
    }
    if (auto local = ServerCertificate::fromPemFile(connect.localCertificateFile);
        local && sameFingerprint(local->fingerprint(), info->fingerprint)) {
        check.finding += ", this machine's own kvmvncd";
        return check;
    }
    try {
        const KnownHosts hosts = KnownHosts::load(connect.knownHostsFile);
        const std::vector<KnownHosts::Entry> entries =
            hosts.find(knownHostName(connect.host, connect.port));
        if (entries.empty()) {
            check.finding += ", not pinned yet: kvmvncctl asks the first time it logs in";
            return check;
        }
        for (const KnownHosts::Entry &entry : entries) {
            if (sameFingerprint(entry.fingerprint, info->fingerprint)) {
                check.finding += ", pinned in " + hosts.path();
                return check;
            }
        }
        const std::string line = std::to_string(entries.front().line);
        check.status = doctor::Status::Fail;
        check.finding += ", NOT the one pinned in " + hosts.path() + " line " + line + " (" +
                         entries.front().fingerprint + ")";
        check.fix =
            "someone may be in between; if the server has a new certificate (kvmvncd "
            "logs its fingerprint at start), delete line " +
            line + " of " + hosts.path();
    } catch (const std::exception &e) {
        check.finding += std::string(", the known hosts cannot be read: ") + e.what();
    }
    return check;
}

int printReport(const std::string &header, const std::vector<doctor::HardwareCheck> &checks) {
    std::printf("%s\n%s%s\n", header.c_str(), doctor::formatChecks(checks).c_str(),
                doctor::summaryLine(checks).c_str());
    return doctor::anyFailed(checks) ? kExitRefused : kExitOk;
}

// No kvmvncd answers on this machine: the checks run here, as kvmvncd
// --check-hardware runs them (their listen address line says it is not
// running).
int doctorHere(const Options &options) {
    std::string path = options.daemonConfig;
    std::error_code error;
    if (path.empty() && std::filesystem::exists(kDefaultDaemonConfig, error))
        path = kDefaultDaemonConfig;
    config::Config cfg;
    try {
        if (!path.empty())
            cfg = config::loadConfig(path);
    } catch (const config::ConfigError &e) {
        std::fprintf(stderr, "kvmvncctl: doctor: %s\n", e.what());
        return kExitUsage;
    }
    return printReport("nothing listens on " +
                           knownHostName(options.connect.host, options.connect.port) +
                           ": kvmvncd is not running here; this machine checked against " +
                           (path.empty() ? std::string("the built-in configuration") : path) + ":",
                       doctor::checkHardware(cfg, doctor::LinuxMachine()));
}

int doctorCommand(const Options &options) {
    if (options.words.size() != 1)
        return usage("doctor takes no arguments");
    const ConnectOptions &connect = options.connect;
    const std::string where = knownHostName(connect.host, connect.port);
    const doctor::ListenFacts reached =
        doctor::greetRfb(connect.host, connect.port, connect.timeoutSeconds * 1000);
    if (reached.state != doctor::ListenFacts::State::Rfb) {
        if (reached.state == doctor::ListenFacts::State::Refused && isLoopback(connect.host))
            return doctorHere(options);
        const std::string fix =
            reached.state == doctor::ListenFacts::State::Other
                ? "is " + where + " kvmvncd's address and port ([server] listen, port)?"
                : "is kvmvncd running there (systemctl status kvmvncd), and the address and "
                  "port right ([server] listen, port)?";
        printReport("kvmvncd at " + where + ":",
                    {{"connection", doctor::Status::Fail, reached.detail, fix}});
        return kExitConnection;
    }
    std::vector<doctor::HardwareCheck> checks = {
        {"connection", doctor::Status::Ok, where + " answers (" + reached.greeting + ")", {}},
        certificateSeen(options, where)};
    ControlClient client;
    if (!client.connect(connect)) {
        checks.push_back({"login", doctor::Status::Fail, client.error(),
                          "log in as for kvmvncctl status (--user, --passwd-file, --accept-new)"});
        printReport("kvmvncd at " + where + ":", checks);
        return kExitConnection;
    }
    auto reply = client.request(Request::HardwareCheck);
    if (!reply) {
        std::fprintf(stderr, "kvmvncctl: doctor: %s\n", client.error().c_str());
        return kExitConnection;
    }
    if (reply->status == Status::UnknownOpcode) {
        checks.push_back({"server checks", doctor::Status::Warning,
                          "this kvmvncd cannot check its hardware (it is older than kvmvncctl)",
                          "run kvmvncd --check-hardware on the device"});
        return printReport("kvmvncd at " + where + ":", checks);
    }
    if (int status = check(client, reply, "doctor"); status != kExitOk)
        return status;
    std::optional<control::HardwareReportBody> report =
        control::decodeHardwareReport(reply->result);
    if (!report)
        return check(client, std::nullopt, "doctor");
    for (control::HardwareCheckLine &line : report->checks)
        checks.push_back({std::move(line.name), static_cast<doctor::Status>(line.status),
                          std::move(line.finding), std::move(line.fix)});
    return printReport(
        "kvmvncd at " + where + ", configuration " +
            (report->configuration.empty() ? std::string("built in") : report->configuration) + ":",
        checks);
}

// The terminal whose echo readHidden() turned off, for restoreTerminal() to
// put back when a signal (Ctrl+C) ends kvmvncctl at the prompt. Globals
// because a signal handler can reach nothing else.
volatile std::sig_atomic_t gHiddenTerminal = -1;
termios gTerminalSettings{};

void restoreTerminal(int signal) {
    if (gHiddenTerminal >= 0)
        ::tcsetattr(gHiddenTerminal, TCSANOW, &gTerminalSettings);
    ::signal(signal, SIG_DFL);
    ::raise(signal);
}

// One line typed on the controlling terminal with echo off, after `prompt`
// on stderr. nullopt at end of input, or when there is no terminal
// (`terminal` says which).
std::optional<std::string> readHidden(const std::string &prompt, bool &terminal) {
    UniqueFd tty(::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC));
    termios settings{};
    terminal = tty.isValid() && ::tcgetattr(tty.get(), &settings) == 0;
    if (!terminal)
        return std::nullopt;
    std::fputs(prompt.c_str(), stderr);
    std::fflush(stderr);

    gTerminalSettings = settings;
    gHiddenTerminal = tty.get();
    constexpr int kSignals[] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP};
    struct sigaction restore {};
    restore.sa_handler = restoreTerminal;
    sigemptyset(&restore.sa_mask);
    struct sigaction previous[std::size(kSignals)] = {};
    for (size_t i = 0; i < std::size(kSignals); ++i)
        ::sigaction(kSignals[i], &restore, &previous[i]);
    termios hidden = settings;
    hidden.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    hidden.c_lflag |= ECHONL;  // Enter still ends the line on the screen
    ::tcsetattr(tty.get(), TCSAFLUSH, &hidden);

    std::string line;
    bool ended = false;
    for (char byte = 0;;) {
        const ssize_t got = ::read(tty.get(), &byte, 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        if (byte == '\n') {
            ended = true;
            break;
        }
        line += byte;
    }

    ::tcsetattr(tty.get(), TCSAFLUSH, &settings);
    gHiddenTerminal = -1;
    for (size_t i = 0; i < std::size(kSignals); ++i)
        ::sigaction(kSignals[i], &previous[i], nullptr);
    if (!ended) {
        std::fputc('\n', stderr);
        OPENSSL_cleanse(line.data(), line.size());
        return std::nullopt;
    }
    return line;
}

std::optional<std::string> environmentPassword() {
    const char *value = std::getenv(kPasswordVariable);
    return value ? std::optional<std::string>(value) : std::nullopt;
}

// The password --user logs in with: KVMVNC_PASSWORD, else asked on the
// terminal.
std::optional<std::string> loginPassword(const ConnectOptions &connect) {
    if (auto password = environmentPassword())
        return password;
    bool terminal = false;
    return readHidden("Password for " + connect.user + "@" + connect.host + ": ", terminal);
}

// The new password for passwd: KVMVNC_PASSWORD; else typed twice on the
// terminal; else, when standard input is no terminal either, its first line.
bool newPassword(const std::string &user, std::string &password, std::string &problem) {
    bool terminal = false;
    if (auto value = environmentPassword()) {
        password = std::move(*value);
    } else if (auto first = readHidden("New password for " + user + ": ", terminal)) {
        auto second = readHidden("Retype the new password: ", terminal);
        const bool same = second && *second == *first;
        if (second)
            OPENSSL_cleanse(second->data(), second->size());
        if (!same) {
            OPENSSL_cleanse(first->data(), first->size());
            problem = "the passwords do not match";
            return false;
        }
        password = std::move(*first);
    } else if (terminal) {
        problem = "no password typed";
        return false;
    } else if (!::isatty(STDIN_FILENO)) {
        int byte = 0;
        bool any = false;
        while ((byte = std::fgetc(stdin)) != EOF && byte != '\n') {
            password += static_cast<char>(byte);
            any = true;
        }
        if (!any && byte == EOF) {
            problem = "no password on standard input";
            return false;
        }
        if (password.ends_with('\r'))  // a line from a DOS file
            password.pop_back();
    } else {
        problem = std::string("no terminal to ask for the password; set ") + kPasswordVariable;
        return false;
    }
    if (password.empty()) {
        problem = "empty password refused";
        return false;
    }
    return true;
}

int passwdCommand(const Options &options) {
    if (options.words.size() != 2)
        return usage("passwd takes one user name");
    if (options.deleteUser && options.viewOnly)
        return usage("passwd takes --view-only or --delete, not both");
    const std::string &user = options.words[1];
    if (!door::UserTable::isValidName(user))
        return usage(
            "bad user name: 1 to 64 bytes, no ':', whitespace or control characters, not "
            "starting with '#'");
    const std::string &path = options.usersFile;
    auto fail = [](const std::string &problem) {
        std::fprintf(stderr, "kvmvncctl: passwd: %s\n", problem.c_str());
        return kExitFailed;
    };

    // A missing file is an empty one; anything else wrong with it is an error.
    door::UserTable table;
    struct stat status {};
    const bool existed = ::stat(path.c_str(), &status) == 0;
    const bool missing = !existed && errno == ENOENT;
    try {
        if (!missing)
            table = door::UserTable::load(path);
    } catch (const std::exception &e) {
        return fail(e.what());
    }

    std::string done;
    if (options.deleteUser) {
        if (!table.remove(user))
            return fail("no user " + user + " in " + path);
        done = "deleted";
    } else {
        const bool known =
            std::any_of(table.entries().begin(), table.entries().end(),
                        [&](const door::UserEntry &entry) { return entry.name == user; });
        std::string password;
        std::string problem;
        if (!newPassword(user, password, problem))
            return fail(problem);
        try {
            table.set(user, password,
                      options.viewOnly ? door::Access::ViewOnly : door::Access::Full);
        } catch (const std::exception &e) {
            OPENSSL_cleanse(password.data(), password.size());
            return fail(e.what());
        }
        OPENSSL_cleanse(password.data(), password.size());
        done = std::string(known ? "updated" : "added") +
               (options.viewOnly ? " (view-only access)" : " (full access)");
    }
    try {
        table.save(path);
    } catch (const std::exception &e) {
        return fail(e.what());
    }
    // save() gives a new file the creator's group; root's would be one the
    // daemon cannot read.
    if (!existed && ::geteuid() == 0) {
        if (const group *daemonGroup = ::getgrnam(kDaemonGroup);
            daemonGroup && ::chown(path.c_str(), static_cast<uid_t>(-1), daemonGroup->gr_gid) != 0)
            std::fprintf(stderr, "kvmvncctl: passwd: %s: cannot give it to group %s: %s\n",
                         path.c_str(), kDaemonGroup, std::strerror(errno));
    }
    std::printf("user %s %s\n`systemctl reload kvmvncd` applies it\n", user.c_str(), done.c_str());
    return kExitOk;
}

// NewHostPolicy::Ask: the question on stderr, the answer a line of
// standard input (a terminal, or the policy would not be Ask).
bool confirmNewHost(const std::string &host, const std::string &fingerprint) {
    std::fprintf(stderr,
                 "The certificate of %s is not known yet. Its fingerprint is\n  %s\n"
                 "kvmvncd logs its own at start: compare the two.\n"
                 "Trust it from now on (yes/no)? ",
                 host.c_str(), fingerprint.c_str());
    std::fflush(stderr);
    std::string answer;
    for (int byte = 0; (byte = std::fgetc(stdin)) != EOF && byte != '\n';)
        answer += static_cast<char>(byte);
    return answer == "yes" || answer == "y";
}

}  // namespace

int run(int argc, char **argv) {
    Options options;
    std::string passwordFile;
    bool caFileGiven = false;
    bool acceptNew = false;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&](std::string &out) {
            if (i + 1 >= argc)
                return false;
            out = argv[++i];
            return true;
        };
        if (arg == "--help" || arg == "-h") {
            std::fputs(kUsage, stdout);
            return kExitOk;
        } else if (arg == "--host") {
            std::string host;
            if (!value(host) || !parseHost(host, options.connect))
                return usage("--host takes HOST or HOST:PORT");
        } else if (arg == "--passwd-file") {
            if (!value(passwordFile))
                return usage("--passwd-file takes a file");
        } else if (arg == "--user") {
            if (!value(options.connect.user) || options.connect.user.empty())
                return usage("--user takes a name");
        } else if (arg == "--ca-file") {
            if (!value(options.connect.caFile))
                return usage("--ca-file takes a file");
            caFileGiven = true;
        } else if (arg == "--known-hosts") {
            if (!value(options.connect.knownHostsFile) || options.connect.knownHostsFile.empty())
                return usage("--known-hosts takes a file");
        } else if (arg == "--accept-new") {
            acceptNew = true;
        } else if (arg == "--insecure") {
            options.connect.allowUnverified = true;
        } else if (arg == "--users-file") {
            if (!value(options.usersFile) || options.usersFile.empty())
                return usage("--users-file takes a file");
        } else if (arg == "--view-only") {
            options.viewOnly = true;
        } else if (arg == "--delete") {
            options.deleteUser = true;
        } else if (arg == "--name") {
            if (!value(options.uploadName))
                return usage("--name takes a name");
        } else if (arg == "--cdrom") {
            options.cdrom = true;
        } else if (arg == "--flash") {
            options.cdrom = false;
        } else if (arg == "--rw") {
            options.writable = true;
        } else if (arg == "--skip-untypable") {
            options.skipUntypable = true;
        } else if (arg == "--cancel") {
            options.cancelTyping = true;
        } else if (arg == "--config") {
            if (!value(options.daemonConfig) || options.daemonConfig.empty())
                return usage("--config takes a file");
        } else if (arg.starts_with("--") || (arg.starts_with("-") && arg != "-")) {
            return usage("unknown option " + arg);
        } else {
            options.words.push_back(arg);
        }
    }
    if (options.words.empty())
        return usage("no command");
    const std::string &command = options.words[0];
    if (command == "passwd")
        return passwdCommand(options);  // local: no connection, no credentials
    if (command != "atx" && command != "msd" && command != "type" && command != "status" &&
        command != "edid" && command != "doctor")
        return usage("unknown command '" + command + "'");

    if (!passwordFile.empty() && !options.connect.user.empty())
        return usage("--passwd-file and --user exclude each other");
    if (!passwordFile.empty()) {
        try {
            options.connect.password = door::loadVncPasswordFile(passwordFile).full;
        } catch (const std::exception &e) {
            std::fprintf(stderr, "kvmvncctl: %s\n", e.what());
            return kExitUsage;
        }
    }
    if (!options.connect.user.empty()) {
        auto password = loginPassword(options.connect);
        if (!password) {
            std::fprintf(stderr,
                         "kvmvncctl: --user needs a password: set %s or run on a terminal\n",
                         kPasswordVariable);
            return kExitUsage;
        }
        options.connect.password = std::move(*password);
    }
    // On the device itself the daemon's own certificate is trusted as it is;
    // any other server's is pinned (a CA file silently taken from this
    // machine would fail every other kvmvncd with a certificate error).
    options.caFileGiven = caFileGiven;
    if (!caFileGiven)
        options.connect.localCertificateFile = kLocalCertificateFile;
    if (options.connect.knownHostsFile.empty())
        options.connect.knownHostsFile = defaultKnownHostsFile();
    // Never a question nobody can answer: scripts and CI have no terminal.
    options.connect.newHosts = acceptNew                ? NewHostPolicy::Accept
                               : ::isatty(STDIN_FILENO) ? NewHostPolicy::Ask
                                                        : NewHostPolicy::Refuse;
    options.connect.confirmNewHost = confirmNewHost;
    options.connect.notice = [](const std::string &text) {
        std::fprintf(stderr, "kvmvncctl: %s\n", text.c_str());
    };

    if (command == "atx")
        return atxCommand(options);
    if (command == "msd")
        return msdCommand(options);
    if (command == "type")
        return typeCommand(options);
    if (command == "edid")
        return edidCommand(options);
    if (command == "doctor")
        return doctorCommand(options);
    return statusCommand(options);
}

}  // namespace kvmvnc::ctl
