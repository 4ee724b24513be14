// SPDX-License-Identifier: GPL-2.0-or-later
#include "soak_report.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>

namespace kvmvnc::soak {

const char *verdictName(Verdict verdict) {
    switch (verdict) {
    case Verdict::Ok:
        return "ok";
    case Verdict::Note:
        return "note";
    case Verdict::Fail:
        return "FAIL";
    case Verdict::Info:
        return "";
    }
    return "?";
}

std::string format(const char *fmt, ...) {
    char text[512];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(text, sizeof(text), fmt, args);
    va_end(args);
    return text;
}

ScenarioReport::ScenarioReport(std::string name, std::string description)
    : name_(std::move(name)), description_(std::move(description)) {}

void ScenarioReport::add(std::string figure, std::string value, Verdict verdict, std::string why) {
    rows_.push_back({std::move(figure), std::move(value), verdict, std::move(why)});
}

bool ScenarioReport::failed() const {
    return std::any_of(rows_.begin(), rows_.end(),
                       [](const Row &row) { return row.verdict == Verdict::Fail; });
}

void ScenarioReport::print() const {
    size_t figureWidth = 6, valueWidth = 5;
    for (const Row &row : rows_) {
        figureWidth = std::max(figureWidth, row.figure.size());
        valueWidth = std::max(valueWidth, row.value.size());
    }
    std::printf("\n%s: %s (%.0f s)\n", name_.c_str(), description_.c_str(), seconds_);
    std::printf("  %-*s  %-*s  %s\n", static_cast<int>(figureWidth), "figure",
                static_cast<int>(valueWidth), "value", "verdict");
    for (const Row &row : rows_) {
        std::string verdict = verdictName(row.verdict);
        if (!row.why.empty())
            verdict += (verdict.empty() ? "" : ": ") + row.why;
        std::printf("  %-*s  %-*s  %s\n", static_cast<int>(figureWidth), row.figure.c_str(),
                    static_cast<int>(valueWidth), row.value.c_str(), verdict.c_str());
    }
    std::fflush(stdout);
}

std::string ScenarioReport::toJson() const {
    std::vector<std::string> rows;
    for (const Row &row : rows_)
        rows.push_back(bench::JsonObject()
                           .add("figure", row.figure)
                           .add("value", row.value)
                           .add("verdict", verdictName(row.verdict))
                           .add("why", row.why)
                           .str());
    bench::JsonObject out;
    out.add("scenario", name_)
        .add("description", description_)
        .add("failed", failed())
        .add("seconds", seconds_)
        .raw("figures", json_.str())
        .raw("rows", bench::jsonArray(rows));
    return out.str();
}

}  // namespace kvmvnc::soak
