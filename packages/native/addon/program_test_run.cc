// program_test_run.cc - BpfProgram.testRun()/testRunAsync(): BPF_PROG_TEST_RUN.
//
// testRun is synchronous on purpose: one run is a single fast syscall, a benchmark wants no thread
// hop, and a live-frames run that resolves ctx.ingress_ifindex must happen on the thread that
// inNetns() moved into the namespace. testRunAsync is for long runs (many repeats) in the process's
// own namespace: it runs on a pool thread, which never changes namespace.
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "args.h"
#include "bpf_program.h"
#include "errors.h"
#include "promise_worker.h"

namespace xlb {

namespace {

// Kernel-side test runs handle at most a page of XDP data; 4 KiB of room covers any growth.
constexpr uint32_t kDefaultOutputRoom = 4096;

struct TestRunRequest {
  Bytes data;
  Bytes ctx;
  bool hasCtx = false;
  uint32_t repeat = 1;
  uint32_t flags = 0;
  uint32_t batchSize = 0;
  uint32_t cpu = 0;
  uint32_t dataSizeOut = 0;
  bool live = false;
};

struct TestRunOutcome {
  int err = 0;
  uint32_t retval = 0;
  uint32_t duration = 0;
  std::vector<uint8_t> data;
  std::vector<uint8_t> ctx;
};

TestRunRequest ParseRequest(const Napi::CallbackInfo& info, const std::string& what) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) ThrowType(env, what + ": options must be an object with a data Buffer");
  Napi::Object options = info[0].As<Napi::Object>();
  TestRunRequest req;
  req.data = ExpectBytes(options.Get("data"), what + ": options.data");
  Napi::Value ctx = options.Get("ctx");
  if (!ctx.IsUndefined()) {
    req.ctx = ExpectBytes(ctx, what + ": options.ctx");
    req.hasCtx = true;
  }
  req.repeat = OptionalU32(options, "repeat", what + ": options").value_or(1);
  req.flags = OptionalU32(options, "flags", what + ": options").value_or(0);
  req.batchSize = OptionalU32(options, "batchSize", what + ": options").value_or(0);
  std::optional<uint32_t> cpu = OptionalU32(options, "cpu", what + ": options");
  if (cpu) {
    req.cpu = *cpu;
    req.flags |= BPF_F_TEST_RUN_ON_CPU;
  }
  req.live = (req.flags & BPF_F_TEST_XDP_LIVE_FRAMES) != 0;
  req.dataSizeOut = OptionalU32(options, "dataSizeOut", what + ": options")
                        .value_or(static_cast<uint32_t>(req.data.size) + kDefaultOutputRoom);
  return req;
}

// Pool-thread safe: no napi.
void RunTest(int fd, const TestRunRequest& req, TestRunOutcome& out) {
  LIBBPF_OPTS(bpf_test_run_opts, opts);
  opts.data_in = req.data.data;
  opts.data_size_in = static_cast<__u32>(req.data.size);
  opts.repeat = static_cast<int>(req.repeat);
  opts.flags = req.flags;
  opts.cpu = req.cpu;
  opts.batch_size = req.batchSize;
  if (req.hasCtx) {
    opts.ctx_in = req.ctx.data;
    opts.ctx_size_in = static_cast<__u32>(req.ctx.size);
  }
  // Live frames are sent, not returned: the kernel refuses output buffers in that mode.
  if (!req.live) {
    out.data.resize(req.dataSizeOut);
    opts.data_out = out.data.data();
    opts.data_size_out = req.dataSizeOut;
    if (req.hasCtx) {
      out.ctx.resize(req.ctx.size);
      opts.ctx_out = out.ctx.data();
      opts.ctx_size_out = static_cast<__u32>(req.ctx.size);
    }
  }
  if (bpf_prog_test_run_opts(fd, &opts) != 0) {
    out.err = errno;
    return;
  }
  out.retval = opts.retval;
  out.duration = opts.duration;
  out.data.resize(req.live ? 0 : opts.data_size_out);
  out.ctx.resize(req.live || !req.hasCtx ? 0 : opts.ctx_size_out);
}

SysFailure Failure(const std::string& name, const TestRunRequest& req, int err) {
  SysFailure f;
  f.err = err;
  f.syscall = "bpf_prog_test_run_opts";
  f.action = "test run of program '" + name + "'";
  switch (err) {
    case EPERM: f.hint = kHintBpfCaps; break;
    case ENOSPC: f.hint = "the output is larger than dataSizeOut (" + std::to_string(req.dataSizeOut) + ")"; break;
    case ENODEV:
      f.hint = "ctx.ingress_ifindex names no interface in the calling thread's network namespace";
      break;
    case EINVAL:
      f.hint = req.hasCtx ? "an xdp_md ctx needs data_end equal to the data length and no metadata"
                          : "check the data size (XDP needs at least 14 bytes)";
      break;
    case E2BIG: f.hint = "data or batchSize too big for a test run"; break;
    default: break;
  }
  return f;
}

Napi::Object OutcomeToJs(Napi::Env env, const TestRunRequest& req, const TestRunOutcome& out) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("retval", Napi::Number::New(env, out.retval));
  result.Set("durationNs", Napi::Number::New(env, out.duration));
  result.Set("data", req.live ? env.Null() : Napi::Buffer<uint8_t>::Copy(env, out.data.data(), out.data.size()).As<Napi::Value>());
  if (req.hasCtx && !req.live) result.Set("ctx", Napi::Buffer<uint8_t>::Copy(env, out.ctx.data(), out.ctx.size()));
  return result;
}

class TestRunWorker : public PromiseWorker {
 public:
  TestRunWorker(Napi::Env env, BpfProgram* prog, int fd, TestRunRequest req)
      : PromiseWorker(env, "BpfProgramTestRunWorker"), prog_(prog), fd_(fd), req_(req), name_(prog->Name()) {
    // The request points into JS memory; the pool thread gets its own copies.
    data_.assign(req.data.data, req.data.data + req.data.size);
    ctx_.assign(req.ctx.data, req.ctx.data + req.ctx.size);
    req_.data = Bytes{data_.data(), data_.size()};
    req_.ctx = Bytes{ctx_.data(), ctx_.size()};
    prog_->EnterOperation();
  }
  ~TestRunWorker() override { prog_->LeaveOperation(); }

 protected:
  void Run() override {
    RunTest(fd_, req_, out_);
    if (out_.err != 0) Fail(Failure(name_, req_, out_.err));
  }

  Napi::Value Result(Napi::Env env) override { return OutcomeToJs(env, req_, out_); }

 private:
  BpfProgram* prog_;
  int fd_;
  TestRunRequest req_;
  std::string name_;
  std::vector<uint8_t> data_;
  std::vector<uint8_t> ctx_;
  TestRunOutcome out_;
};

}  // namespace

Napi::Value BpfProgram::TestRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TestRunRequest req = ParseRequest(info, "testRun");
  int fd = UsableFd(env, "testRun");
  TestRunOutcome out;
  RunTest(fd, req, out);
  if (out.err != 0) ThrowSys(env, Failure(Name(), req, out.err));
  return OutcomeToJs(env, req, out);
}

Napi::Value BpfProgram::TestRunAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return AsPromise(env, [&]() -> Napi::Value {
    TestRunRequest req = ParseRequest(info, "testRunAsync");
    int fd = UsableFd(env, "testRunAsync");
    auto* worker = new TestRunWorker(env, this, fd, req);
    return worker->Start();
  });
}

}  // namespace xlb
