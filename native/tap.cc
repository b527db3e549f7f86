// vrouter's TAP access: open a Linux TAP device (IFF_TAP | IFF_NO_PI), or a TUN device (IFF_TUN, for
// the Routing Engine's own IP stack), watch its fd with libuv and hand frames to JavaScript in
// batches (everything readable at once), never blocking the event loop. setns() moves the calling
// (main) thread into another network namespace: the sockets it opens afterwards live there.
#include <napi.h>
#include <uv.h>
#include <fcntl.h>
#include <unistd.h>
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <sched.h>

class Tap : public Napi::ObjectWrap<Tap> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    Napi::Function f = DefineClass(env, "Tap", {
      InstanceMethod("start", &Tap::Start),
      InstanceMethod("write", &Tap::Write),
      InstanceMethod("close", &Tap::Close),
      InstanceAccessor("name", &Tap::Name, nullptr),
      InstanceAccessor("stats", &Tap::Stats, nullptr),
    });
    exports.Set("Tap", f);
    return exports;
  }

  Tap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Tap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) { Napi::TypeError::New(env, "Tap(name): name is required").ThrowAsJavaScriptException(); return; }
    name_ = info[0].As<Napi::String>().Utf8Value();
    bool tun = info.Length() > 1 && info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
    if (name_.size() >= IFNAMSIZ) { Napi::Error::New(env, "TAP name too long: " + name_).ThrowAsJavaScriptException(); return; }
    fd_ = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd_ < 0) {
      int e = errno;
      std::string why = e == ENOENT ? "/dev/net/tun does not exist (no TUN/TAP support in this kernel or container)"
                      : e == EACCES || e == EPERM ? "permission denied opening /dev/net/tun (vrouter needs root, or CAP_NET_ADMIN)"
                      : std::string("cannot open /dev/net/tun: ") + strerror(e);
      Napi::Error::New(env, why).ThrowAsJavaScriptException();
      return;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = (tun ? IFF_TUN : IFF_TAP) | IFF_NO_PI;
    strncpy(ifr.ifr_name, name_.c_str(), IFNAMSIZ - 1);
    if (ioctl(fd_, TUNSETIFF, &ifr) < 0) {
      int e = errno;
      close(fd_); fd_ = -1;
      std::string why = e == EPERM ? "permission denied attaching TAP " + name_ + " (vrouter needs root, or CAP_NET_ADMIN)"
                                   : "cannot attach TAP " + name_ + ": " + strerror(e);
      Napi::Error::New(env, why).ThrowAsJavaScriptException();
      return;
    }
  }
  ~Tap() { Shutdown(); }

 private:
  std::string name_;
  int fd_ = -1;
  uv_poll_t* poll_ = nullptr;
  Napi::FunctionReference cb_;
  double rx_ = 0, tx_ = 0, txDrops_ = 0, batches_ = 0;
  unsigned char buf_[65536];

  void Shutdown() {
    if (poll_) {
      uv_poll_stop(poll_);
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
    }
    if (fd_ >= 0) { close(fd_); fd_ = -1; }
  }

  static void OnReadable(uv_poll_t* handle, int status, int events) {
    Tap* self = static_cast<Tap*>(handle->data);
    if (status < 0 || self->fd_ < 0) return;
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    Napi::Array frames = Napi::Array::New(env);
    uint32_t n = 0;
    while (n < 256) {
      ssize_t len = read(self->fd_, self->buf_, sizeof self->buf_);
      if (len <= 0) break;
      frames.Set(n++, Napi::Buffer<unsigned char>::Copy(env, self->buf_, static_cast<size_t>(len)));
    }
    if (n == 0) return;
    self->rx_ += n;
    self->batches_ += 1;
    self->cb_.MakeCallback(env.Global(), { frames });
  }

  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) { Napi::Error::New(env, "TAP is closed").ThrowAsJavaScriptException(); return env.Undefined(); }
    if (info.Length() < 1 || !info[0].IsFunction()) { Napi::TypeError::New(env, "start(onFrames)").ThrowAsJavaScriptException(); return env.Undefined(); }
    cb_ = Napi::Persistent(info[0].As<Napi::Function>());
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    poll_ = new uv_poll_t;
    uv_poll_init(loop, poll_, fd_);
    poll_->data = this;
    uv_poll_start(poll_, UV_READABLE, OnReadable);
    return env.Undefined();
  }

  Napi::Value Write(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0 || info.Length() < 1 || !info[0].IsBuffer()) return Napi::Boolean::New(env, false);
    auto b = info[0].As<Napi::Buffer<unsigned char>>();
    size_t len = b.Length();
    if (info.Length() > 1 && info[1].IsNumber()) {
      double l = info[1].As<Napi::Number>().DoubleValue();
      if (l >= 0 && l < static_cast<double>(len)) len = static_cast<size_t>(l);
    }
    ssize_t w = write(fd_, b.Data(), len);
    if (w < 0) { txDrops_ += 1; return Napi::Boolean::New(env, false); }
    tx_ += 1;
    return Napi::Boolean::New(env, true);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) { Shutdown(); cb_.Reset(); return info.Env().Undefined(); }
  Napi::Value Name(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), name_); }
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("rx", rx_); o.Set("tx", tx_); o.Set("txDrops", txDrops_); o.Set("batches", batches_);
    return o;
  }
};

// setns(path): the calling thread enters the network namespace at path (/run/netns/NAME).
static Napi::Value SetNs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) { Napi::TypeError::New(env, "setns(path): path is required").ThrowAsJavaScriptException(); return env.Undefined(); }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) { Napi::Error::New(env, "cannot open " + path + ": " + strerror(errno)).ThrowAsJavaScriptException(); return env.Undefined(); }
  int r = setns(fd, CLONE_NEWNET);
  int e = errno;
  close(fd);
  if (r < 0) { Napi::Error::New(env, "setns " + path + ": " + strerror(e)).ThrowAsJavaScriptException(); return env.Undefined(); }
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("setns", Napi::Function::New(env, SetNs));
  return Tap::Init(env, exports);
}
NODE_API_MODULE(vrouter_tap, Init)
