// libbpf_log.h - collect what libbpf prints, per thread, so it can go into an Error instead of stderr.
//
// libbpf reports the details of a failure (the verifier log, why a pinned map could not be reused)
// only through one process-wide print callback. A LibbpfLogCapture routes that output, for the
// calls made on the current thread while it lives, into a string; concurrent loads on pool threads
// therefore never mix their logs. Output outside any capture is dropped unless the environment
// variable XDP_LB_LIBBPF_DEBUG is set (then everything, debug level included, goes to stderr).
#pragma once

#include <string>

namespace xlb {

void InstallLibbpfPrint();

class LibbpfLogCapture {
 public:
  LibbpfLogCapture();
  ~LibbpfLogCapture();
  LibbpfLogCapture(const LibbpfLogCapture&) = delete;
  LibbpfLogCapture& operator=(const LibbpfLogCapture&) = delete;

  const std::string& Text() const { return text_; }
  void Append(const std::string& text) { text_ += text; }

 private:
  std::string text_;
  LibbpfLogCapture* previous_;
};

// The verifier log libbpf printed between "-- BEGIN PROG LOAD LOG --" and "-- END PROG LOAD LOG --",
// and the name of the program it belongs to; empty if there is none.
std::string ExtractVerifierLog(const std::string& libbpfLog, std::string* programName);

// The lines that say why the verifier refused: the last non-empty lines before its closing
// "processed N insns" statistics, joined with " | ".
std::string VerifierLogTail(const std::string& verifierLog, size_t maxLines);

// The last warning line libbpf printed, without the "libbpf: " prefix (a useful hint when there is
// no better one).
std::string LastLibbpfLine(const std::string& libbpfLog);

}  // namespace xlb
