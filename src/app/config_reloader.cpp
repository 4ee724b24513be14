// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/app/config_reloader.h"

#include <exception>
#include <optional>
#include <stdexcept>

#include "kvmvnc/app/security_setup.h"
#include "kvmvnc/base/log.h"
#include "kvmvnc/door/front_door.h"
#include "kvmvnc/input/input_router.h"
#include "kvmvnc/input/keysym_map.h"
#include "kvmvnc/input/text_typer.h"
#include "kvmvnc/rfb/rfb_server.h"

namespace kvmvnc::app {

namespace {

constexpr const char *kLog = "reload";

const char *shown(const std::string &value) { return value.empty() ? "(unset)" : value.c_str(); }

}  // namespace

std::shared_ptr<const input::KeysymMap> loadKeyboardLayout(const config::HidSection &hid) {
    std::vector<std::string> dirs;
    if (!hid.keymapsDir.empty())
        dirs.push_back(hid.keymapsDir);
    else
        dirs = {KVMVNC_KEYMAPS_INSTALL_DIR, KVMVNC_KEYMAPS_BUILD_DIR};
    auto layout =
        std::make_shared<const input::KeysymMap>(input::KeysymMap::forLayout(hid.layout, dirs));
    LOG_INFO("daemon", "keyboard layout %s (%zu keysyms)", layout->name().c_str(), layout->size());
    return layout;
}

capture::EdidRequest loadEdidRequest(const config::CaptureSection &capture) {
    if (capture.edid == "keep")
        return {std::nullopt, "keep"};
    if (capture.edid == "default")
        return {capture::Edid::kvmvncDefault(), "default"};
    std::string error;
    std::optional<capture::Edid> edid = capture::Edid::load(capture.edid, error);
    if (!edid)
        throw std::runtime_error("[capture] edid: " + error);
    return {std::move(edid), capture.edid};
}

ConfigReloader::ConfigReloader(config::Config running, ReloadTargets targets,
                               std::shared_ptr<const door::Credentials> credentials)
    : running_(std::move(running)), targets_(targets), credentials_(std::move(credentials)) {}

ReloadResult ConfigReloader::reload() {
    ReloadResult result;
    if (running_.path.empty()) {
        result.error = "kvmvncd runs without --config: there is no file to read again";
        LOG_WARN(kLog, "%s", result.error.c_str());
        return result;
    }
    LOG_INFO(kLog, "reading %s again", running_.path.c_str());

    // Everything that can fail, before anything changes.
    config::ReloadPlan plan;
    std::shared_ptr<const door::Credentials> credentials;
    std::shared_ptr<const input::KeysymMap> layout;
    std::optional<capture::EdidRequest> edid;
    try {
        plan = config::planReload(running_, config::loadConfig(running_.path));
        credentials = loadCredentials(plan.config);
        if (targets_.edid)
            edid = loadEdidRequest(plan.config.capture);
        if (plan.config.hid.layout != running_.hid.layout) {
            layout = targets_.router.usedLayout(plan.config.hid.layout);
            if (!layout)
                layout = loadKeyboardLayout(plan.config.hid);
        }
    } catch (const std::exception &error) {
        result.error = error.what();
        LOG_ERROR(kLog, "%s", result.error.c_str());
        LOG_ERROR(kLog, "nothing changed: kvmvncd keeps running with the configuration it had");
        return result;
    }

    // Applying: nothing here fails.
    log::setLevel(plan.config.log.level);
    // planReload keeps a removed password or users file as it runs, so a
    // reload never opens the door wider than it was.
    if (!credentials->none()) {
        const int unauthenticated = credentials_->none() ? targets_.server.clientCount() : 0;
        if (unauthenticated > 0)
            LOG_WARN(kLog,
                     "viewers that connect from now on need a password; the %d connected "
                     "without one stay (restart kvmvncd to drop them)",
                     unauthenticated);
        result.credentialsChanged = !sameCredentials(*credentials, *credentials_);
        LOG_INFO(kLog, "new viewers are checked against %s%s%s (%s)",
                 plan.config.server.passwdFile.c_str(),
                 plan.config.server.passwdFile.empty() || plan.config.security.usersFile.empty()
                     ? ""
                     : " and ",
                 plan.config.security.usersFile.c_str(),
                 result.credentialsChanged ? "changed" : "unchanged");
        targets_.door.setCredentials(credentials);
        credentials_ = credentials;
    }
    targets_.door.setPolicy(securityPolicyOf(plan.config.security));
    targets_.server.setDesktopName(plan.config.server.desktopName);
    targets_.server.setMaxClients(plan.config.server.maxClients);
    if (layout) {
        // A text being typed was planned for the old layout: stop it, and
        // wait until it has, so none of its keys follows the switch.
        if (targets_.typer.busy())
            LOG_WARN(kLog, "cancelling the text being typed: it was planned for layout %s",
                     running_.hid.layout.c_str());
        targets_.typer.cancelAndWait();
        if (targets_.router.setLayout(layout))
            LOG_INFO(kLog, "released the keys viewers held, for the new layout");
    }
    targets_.typer.setInterval(std::chrono::milliseconds{plan.config.hid.typeIntervalMs});
    // Only a changed EDID: loading one makes the target see its monitor
    // unplugged and plugged in again.
    if (edid && *edid != targets_.edid->requested()) {
        if (edid->edid)
            LOG_INFO(kLog, "the EDID changed (%s): the capture device loads it",
                     edid->setting.c_str());
        else
            LOG_INFO(kLog, "[capture] edid = keep: the capture device keeps the EDID it holds");
        targets_.edid->request(std::move(*edid));
        result.edidChanged = true;
    }

    for (const config::KeyChange &change : plan.applied)
        LOG_INFO(kLog, "applied: %s = %s (was %s)", change.key.c_str(), shown(change.to),
                 shown(change.from));
    for (const config::KeyChange &change : plan.needsRestart)
        LOG_WARN(kLog, "needs a restart: %s = %s (running with %s)", change.key.c_str(),
                 shown(change.to), shown(change.from));
    LOG_INFO(kLog, "done: %zu keys applied, %zu need a restart", plan.applied.size(),
             plan.needsRestart.size());
    running_ = std::move(plan.config);
    result.ok = true;
    result.applied = std::move(plan.applied);
    result.needsRestart = std::move(plan.needsRestart);
    return result;
}

}  // namespace kvmvnc::app
