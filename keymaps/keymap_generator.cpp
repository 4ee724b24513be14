// SPDX-License-Identifier: GPL-2.0-or-later
// Generates kvmvnc's keysym tables from xkb-data with libxkbcommon: for each
// layout (and variant), which HID key and modifiers type each keysym on a
// target using that layout. Run at build time; the daemon reads the tables
// and needs no xkb at run time.
//
//   kvmvnc_keymapgen --out DIR [--xkb-root /usr/share/X11/xkb] [--all | LAYOUT[(VARIANT)] ...]
#include <xkbcommon/xkbcommon.h>

#include <bit>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "kvmvnc/input/hid_usage.h"

namespace {

using kvmvnc::input::usageForEvdev;
namespace modifier = kvmvnc::input::modifier;

struct Stroke {
    uint8_t usage;
    uint8_t modifiers;
    int cost;
};

bool isKeypad(uint8_t usage) { return usage >= 0x54 && usage <= 0x67; }

// The real xkb modifiers a level needs, as HID modifier bits; false when the
// level needs a lock (Caps, Num) or an unusual modifier we do not press.
bool hidModifiers(xkb_keymap *keymap, xkb_mod_mask_t mask, uint8_t &out) {
    struct {
        const char *name;
        uint8_t bit;
    } const usable[] = {{XKB_MOD_NAME_SHIFT, modifier::kLeftShift},
                        {XKB_MOD_NAME_CTRL, modifier::kLeftControl},
                        {XKB_MOD_NAME_ALT, modifier::kLeftAlt},
                        {"Mod5", modifier::kAltGr}};  // LevelThree (AltGr) in xkb's pc maps
    out = 0;
    for (xkb_mod_index_t i = 0; i < xkb_keymap_num_mods(keymap); ++i) {
        if (!(mask & (xkb_mod_mask_t{1} << i)))
            continue;
        const char *name = xkb_keymap_mod_get_name(keymap, i);
        bool found = false;
        for (const auto &entry : usable) {
            if (name && std::strcmp(name, entry.name) == 0) {
                out |= entry.bit;
                found = true;
            }
        }
        if (!found)
            return false;
    }
    return true;
}

bool generate(xkb_context *context, const std::string &layout, const std::string &variant,
              const std::string &outDir) {
    xkb_rule_names names{"evdev", "pc105", layout.c_str(), variant.c_str(), nullptr};
    xkb_keymap *keymap = xkb_keymap_new_from_names(context, &names, XKB_KEYMAP_COMPILE_NO_FLAGS);
    if (!keymap)
        return false;

    std::map<xkb_keysym_t, Stroke> best;
    auto offer = [&](xkb_keysym_t keysym, Stroke stroke) {
        auto it = best.find(keysym);
        if (it == best.end() || stroke.cost < it->second.cost)
            best[keysym] = stroke;
    };
    for (xkb_keycode_t key = xkb_keymap_min_keycode(keymap); key <= xkb_keymap_max_keycode(keymap);
         ++key) {
        if (key < 8)
            continue;
        auto usage = usageForEvdev(static_cast<uint16_t>(key - 8));
        if (!usage)
            continue;
        const xkb_level_index_t levels = xkb_keymap_num_levels_for_key(keymap, key, 0);
        for (xkb_level_index_t level = 0; level < levels; ++level) {
            const xkb_keysym_t *syms = nullptr;
            int count = xkb_keymap_key_get_syms_by_level(keymap, key, 0, level, &syms);
            if (count != 1)
                continue;
            xkb_mod_mask_t masks[32];
            size_t maskCount = xkb_keymap_key_get_mods_for_level(keymap, key, 0, level, masks, 32);
            for (size_t m = 0; m < maskCount; ++m) {
                uint8_t mods = 0;
                if (!hidModifiers(keymap, masks[m], mods))
                    continue;
                Stroke stroke{*usage, mods,
                              std::popcount(mods) * 10 + (isKeypad(*usage) ? 5 : 0) +
                                  static_cast<int>(level)};
                offer(syms[0], stroke);
                // Viewers send either the legacy keysym or its Unicode form.
                uint32_t cp = xkb_keysym_to_utf32(syms[0]);
                if (cp >= 0x100)
                    offer(0x01000000 | cp, stroke);
            }
        }
    }
    xkb_keymap_unref(keymap);

    const std::string name = variant.empty() ? layout : layout + "(" + variant + ")";
    std::ofstream out(outDir + "/" + name + ".kmap");
    out << "# kvmvnc keymap for xkb layout " << name << ", generated from xkb-data by\n"
        << "# kvmvnc_keymapgen. Columns: keysym, HID usage, HID modifier bits\n"
        << "# (0x02 Shift, 0x40 AltGr, 0x01 Control, 0x04 Alt) needed to type it.\n";
    char line[64];
    for (const auto &[keysym, stroke] : best) {
        std::snprintf(line, sizeof(line), "0x%08x 0x%02x 0x%02x\n", keysym, stroke.usage,
                      stroke.modifiers);
        out << line;
    }
    return static_cast<bool>(out);
}

// Layouts and their variants from xkb's evdev.lst.
std::vector<std::pair<std::string, std::string>> allLayouts(const std::string &xkbRoot) {
    std::ifstream list(xkbRoot + "/rules/evdev.lst");
    std::vector<std::pair<std::string, std::string>> out;
    std::string line, section;
    while (std::getline(list, line)) {
        if (line.rfind("! ", 0) == 0) {
            section = line.substr(2);
            continue;
        }
        std::istringstream fields(line);
        std::string first, second;
        fields >> first >> second;
        if (first.empty())
            continue;
        if (section == "layout")
            out.emplace_back(first, "");
        else if (section == "variant" && second.size() > 1 && second.back() == ':')
            out.emplace_back(second.substr(0, second.size() - 1), first);
    }
    return out;
}

}  // namespace

int main(int argc, char **argv) {
    std::string outDir, xkbRoot = "/usr/share/X11/xkb";
    std::vector<std::pair<std::string, std::string>> layouts;
    bool all = false;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--out" && i + 1 < argc) {
            outDir = argv[++i];
        } else if (arg == "--xkb-root" && i + 1 < argc) {
            xkbRoot = argv[++i];
        } else if (arg == "--all") {
            all = true;
        } else {
            size_t open = arg.find('(');
            if (open != std::string::npos && arg.back() == ')')
                layouts.emplace_back(arg.substr(0, open),
                                     arg.substr(open + 1, arg.size() - open - 2));
            else
                layouts.emplace_back(arg, "");
        }
    }
    if (outDir.empty()) {
        std::fprintf(stderr, "usage: kvmvnc_keymapgen --out DIR [--all | LAYOUT ...]\n");
        return 2;
    }
    if (all)
        layouts = allLayouts(xkbRoot);
    if (layouts.empty()) {
        std::fprintf(stderr, "kvmvnc_keymapgen: no layouts (is xkb-data installed?)\n");
        return 1;
    }
    xkb_context *context = xkb_context_new(XKB_CONTEXT_NO_ENVIRONMENT_NAMES);
    xkb_context_include_path_reset_defaults(context);
    int written = 0;
    for (const auto &[layout, variant] : layouts) {
        if (generate(context, layout, variant, outDir))
            ++written;
        else
            std::fprintf(stderr, "kvmvnc_keymapgen: skipping %s(%s): xkb cannot compile it\n",
                         layout.c_str(), variant.c_str());
    }
    xkb_context_unref(context);
    std::printf("kvmvnc_keymapgen: %d keymaps in %s\n", written, outDir.c_str());
    // The base layouts must all be there; a few exotic variants may not compile.
    return written > 0 ? 0 : 1;
}
