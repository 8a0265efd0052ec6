#include "exporter/http/landing_page.h"

#include <sstream>

#include "exporter/version.h"

namespace nfct {
namespace {

std::string HtmlEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

void WriteHead(std::ostringstream& html, std::string_view telemetry_path) {
  html << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>nf_conntrack_exporter"
          "</title></head>\n<body>\n<h1>nf_conntrack_exporter</h1>\n"
       << "<p>Version " << HtmlEscape(kVersion) << " (revision " << HtmlEscape(kRevision)
       << "). A Prometheus exporter for the Linux conntrack table; read-only.</p>\n"
       << "<p><a href=\"" << HtmlEscape(telemetry_path) << "\">Metrics</a> · "
       << "<a href=\"/-/healthy\">Health</a> · <a href=\"/-/ready\">Readiness</a></p>\n"
       << "<h2>Collectors</h2>\n<table border=\"1\" cellpadding=\"4\">\n"
       << "<tr><th>collector</th><th>enabled</th><th>last status</th><th>reason</th>"
          "<th>what it reads</th></tr>\n";
}

void WriteRow(std::ostringstream& html, const CollectorListing& item,
              const std::vector<CollectorState>& states) {
  std::string status = item.enabled ? "not scraped yet" : "-";
  std::string reason;
  for (const auto& state : states) {
    if (state.name == item.name && state.scraped) {
      status = std::string(state.status.CodeName());
      reason = state.status.reason();
    }
  }
  html << "<tr><td>" << HtmlEscape(item.name) << "</td><td>" << (item.enabled ? "yes" : "no")
       << "</td><td>" << HtmlEscape(status) << "</td><td>" << HtmlEscape(reason) << "</td><td>"
       << HtmlEscape(item.help) << "</td></tr>\n";
}

}  // namespace

std::string RenderLandingPage(std::string_view telemetry_path,
                              const std::vector<CollectorListing>& listing,
                              const std::vector<CollectorState>& states) {
  std::ostringstream html;
  WriteHead(html, telemetry_path);
  for (const auto& item : listing) WriteRow(html, item, states);
  html << "</table>\n</body></html>\n";
  return html.str();
}

}  // namespace nfct
