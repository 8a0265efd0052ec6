// `nf_conntrack_exporter doctor [flags]`: one diagnosis of the live kernel for a person at a
// terminal — gather, Diagnose, render — then exit 0 (OK), 1 (AT RISK) or 2 (DROPPING); 3 when it
// could not run (a bad flag). main.cc dispatches to it before any thread starts.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace nfct::doctor {

inline constexpr int kUsageError = 3;

// `args`: the arguments after "doctor". Writes the report to `out`, errors to `err`.
int RunDoctor(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace nfct::doctor
