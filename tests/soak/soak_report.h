// SPDX-License-Identifier: GPL-2.0-or-later
// What the soak prints: per scenario a table of figures, each with a
// verdict, and the same figures as JSON.
#pragma once

#include <string>
#include <vector>

#include "bench_report.h"

namespace kvmvnc::soak {

// How a figure compares with what issue 16 asks for. Only Fail makes the
// run fail: crashes, leaks, bad shutdowns, lost or half-listed uploads.
// Note marks a figure that misses the goal (a frame rate, a login time)
// without failing, as speed depends on the machine.
enum class Verdict { Ok, Note, Fail, Info };

const char *verdictName(Verdict verdict);

// One scenario's results. Rows are for people (text values); json()
// carries the raw numbers under stable keys.
class ScenarioReport {
public:
    ScenarioReport(std::string name, std::string description);

    // A row of the table; `why` explains a Note or Fail.
    void add(std::string figure, std::string value, Verdict verdict = Verdict::Info,
             std::string why = {});
    // A hard failure that is not a figure (the daemon did not start).
    void fail(std::string what) { add("failure", std::move(what), Verdict::Fail); }
    bench::JsonObject &json() { return json_; }
    // How long the scenario took, start to end.
    void setSeconds(double seconds) { seconds_ = seconds; }

    const std::string &name() const { return name_; }
    bool failed() const;
    void print() const;
    std::string toJson() const;

private:
    struct Row {
        std::string figure;
        std::string value;
        Verdict verdict;
        std::string why;
    };
    std::string name_;
    std::string description_;
    std::vector<Row> rows_;
    bench::JsonObject json_;
    double seconds_ = 0;
};

// printf into a std::string.
std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace kvmvnc::soak
