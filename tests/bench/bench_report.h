// SPDX-License-Identifier: GPL-2.0-or-later
// What the benchmarks print: percentiles, a JSON object writer, the machine.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace kvmvnc::bench {

// The q-quantile (0..1) of `values` by nearest rank; NaN when empty.
inline double quantile(std::vector<double> values, double q) {
    if (values.empty())
        return std::nan("");
    const size_t rank = std::min(values.size() - 1, static_cast<size_t>(q * values.size()));
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(rank),
                     values.end());
    return values[rank];
}

// One flat JSON object, built field by field; NaN and infinity become null.
class JsonObject {
public:
    JsonObject &add(const std::string &key, const std::string &value) {
        std::string escaped;
        for (char c : value)
            escaped += (c == '"' || c == '\\') ? std::string{'\\', c} : std::string{c};
        return raw(key, "\"" + escaped + "\"");
    }
    JsonObject &add(const std::string &key, const char *value) {
        return add(key, std::string(value));
    }
    JsonObject &add(const std::string &key, double value) {
        if (!std::isfinite(value))
            return raw(key, "null");
        char text[64];
        std::snprintf(text, sizeof(text), "%.6g", value);
        return raw(key, text);
    }
    JsonObject &add(const std::string &key, bool value) {
        return raw(key, value ? "true" : "false");
    }
    JsonObject &raw(const std::string &key, const std::string &json) {
        text_ += (text_.empty() ? "{" : ",") + ("\"" + key + "\":") + json;
        return *this;
    }
    std::string str() const { return text_.empty() ? "{}" : text_ + "}"; }

private:
    std::string text_;
};

inline std::string jsonArray(const std::vector<std::string> &items) {
    std::string out = "[";
    for (size_t i = 0; i < items.size(); ++i)
        out += (i ? ",\n " : "") + items[i];
    return out + "]";
}

// Writes `json` and a newline to `path`; false (with a message) when it cannot.
inline bool writeJsonFile(const char *path, const std::string &json) {
    FILE *file = std::fopen(path, "w");
    bool written = file && std::fprintf(file, "%s\n", json.c_str()) >= 0;
    if (file && std::fclose(file) != 0)
        written = false;
    if (!written)
        std::fprintf(stderr, "cannot write %s\n", path);
    return written;
}

// "Intel(R) Xeon(R) ... (2 CPUs)": the model name from /proc/cpuinfo.
inline std::string machineDescription() {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    std::string model = "unknown CPU";
    int cpus = 0;
    while (std::getline(cpuinfo, line)) {
        if (line.rfind("model name", 0) == 0) {
            ++cpus;
            model = line.substr(line.find(':') + 2);
        }
    }
    return model + " (" + std::to_string(cpus) + " CPUs)";
}

// The fields every screen benchmark's JSON starts with.
inline JsonObject benchmarkHeader(const char *name, int fps, double seconds, int qualityLevel) {
    JsonObject header;
    header.add("benchmark", name)
        .add("machine", machineDescription())
        .add("fps", static_cast<double>(fps))
        .add("seconds", seconds)
        .add("quality_level", static_cast<double>(qualityLevel));
    return header;
}

}  // namespace kvmvnc::bench
