// libbpf_log.cc - see libbpf_log.h.
#include "libbpf_log.h"

#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace xlb {

namespace {

thread_local LibbpfLogCapture* current_capture = nullptr;

bool DebugToStderr() {
  static const bool enabled = std::getenv("XDP_LB_LIBBPF_DEBUG") != nullptr;
  return enabled;
}

int PrintToCapture(enum libbpf_print_level level, const char* format, va_list args) {
  if (DebugToStderr()) {
    va_list copy;
    va_copy(copy, args);
    std::vfprintf(stderr, format, copy);
    va_end(copy);
  }
  if (current_capture == nullptr || level == LIBBPF_DEBUG) return 0;
  va_list copy;
  va_copy(copy, args);
  int needed = std::vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  if (needed <= 0) return 0;
  std::vector<char> buf(static_cast<size_t>(needed) + 1);
  std::vsnprintf(buf.data(), buf.size(), format, args);
  current_capture->Append(std::string(buf.data(), static_cast<size_t>(needed)));
  return needed;
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

}  // namespace

void InstallLibbpfPrint() { libbpf_set_print(PrintToCapture); }

LibbpfLogCapture::LibbpfLogCapture() : previous_(current_capture) { current_capture = this; }

LibbpfLogCapture::~LibbpfLogCapture() {
  current_capture = previous_;
  // A nested capture hands its text on, so an outer one still sees everything.
  if (previous_ != nullptr) previous_->text_ += text_;
}

std::string ExtractVerifierLog(const std::string& libbpfLog, std::string* programName) {
  static const std::string kBegin = "-- BEGIN PROG LOAD LOG --\n";
  static const std::string kEnd = "-- END PROG LOAD LOG --";
  size_t begin = libbpfLog.find(kBegin);
  if (begin == std::string::npos) return "";
  size_t body = begin + kBegin.size();
  size_t end = libbpfLog.find(kEnd, body);
  if (end == std::string::npos) end = libbpfLog.size();
  if (programName != nullptr) {
    // libbpf writes "libbpf: prog 'NAME': -- BEGIN PROG LOAD LOG --".
    size_t lineStart = libbpfLog.rfind('\n', begin);
    lineStart = lineStart == std::string::npos ? 0 : lineStart + 1;
    std::string line = libbpfLog.substr(lineStart, begin - lineStart);
    size_t q1 = line.find("prog '");
    if (q1 != std::string::npos) {
      size_t q2 = line.find('\'', q1 + 6);
      if (q2 != std::string::npos) *programName = line.substr(q1 + 6, q2 - q1 - 6);
    }
  }
  return libbpfLog.substr(body, end - body);
}

std::string VerifierLogTail(const std::string& verifierLog, size_t maxLines) {
  std::vector<std::string> lines = SplitLines(verifierLog);
  std::vector<std::string> picked;
  for (auto it = lines.rbegin(); it != lines.rend() && picked.size() < maxLines; ++it) {
    std::string line = Trim(*it);
    if (line.empty() || line.rfind("processed ", 0) == 0 || line.rfind("verification time", 0) == 0 ||
        line.rfind("stack depth", 0) == 0) {
      continue;
    }
    picked.insert(picked.begin(), line);
  }
  std::string joined;
  for (const auto& line : picked) {
    if (!joined.empty()) joined += " | ";
    joined += line;
  }
  return joined;
}

std::string LastLibbpfLine(const std::string& libbpfLog) {
  std::vector<std::string> lines = SplitLines(libbpfLog);
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    std::string line = Trim(*it);
    if (line.empty()) continue;
    if (line.rfind("libbpf: ", 0) == 0) line = line.substr(8);
    return line;
  }
  return "";
}

}  // namespace xlb
