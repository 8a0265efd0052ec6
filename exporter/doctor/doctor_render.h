// The two faces of a doctor report: plain text for a person at an 80-column terminal, and JSON
// with the same content for scripts. Pure functions of Facts and their Diagnosis; thread safe.
#pragma once

#include <string>

#include "exporter/doctor/doctor_diagnose.h"
#include "exporter/doctor/doctor_facts.h"

namespace nfct::doctor {

inline constexpr size_t kTextColumns = 80;

std::string RenderText(const Facts& facts, const Diagnosis& diagnosis);
std::string RenderJson(const Facts& facts, const Diagnosis& diagnosis);

}  // namespace nfct::doctor
