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
#include <sys/uio.h>
#include <vector>
#include <memory>
#include <string>

// struct virtio_net_hdr of <linux/virtio_net.h> (which C++ cannot include: a member is named `class`),
// in the CPU's byte order (a TAP's default)
struct virtio_net_hdr { uint8_t flags, gso_type; uint16_t hdr_len, gso_size, csum_start, csum_offset; };
static_assert(sizeof(virtio_net_hdr) == 10, "virtio_net_hdr is 10 bytes");
// segments one offloaded frame may become: Linux's smallest MSS (tcp_min_snd_mss, 48) less 12 bytes
// of timestamps cuts a 64 KB frame into at most 1,811 segments; a tinier gso_size is no real host's
enum { MAX_SEGMENTS = 2048 };
enum { VIRTIO_NET_HDR_F_NEEDS_CSUM = 1, VIRTIO_NET_HDR_GSO_NONE = 0, VIRTIO_NET_HDR_GSO_TCPV4 = 1, VIRTIO_NET_HDR_GSO_ECN = 0x80 };


// network byte order and the Internet checksum, for Gro, Finish and TxPath
static uint32_t Sum(const unsigned char* p, size_t len, uint32_t s = 0) {
  for (; len > 1; p += 2, len -= 2) s += (uint32_t)p[0] << 8 | p[1];
  if (len) s += (uint32_t)p[0] << 8;
  return s;
}
static uint16_t Fold(uint32_t s) { while (s >> 16) s = (s & 0xffff) + (s >> 16); return (uint16_t)s; }
static void Put16(unsigned char* p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
static uint16_t Get16(const unsigned char* p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t Get32(const unsigned char* p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static void Put32(unsigned char* p, uint32_t v) { p[0] = v >> 24; p[1] = (v >> 16) & 0xff; p[2] = (v >> 8) & 0xff; p[3] = v & 0xff; }
/** the header of a frame written as it is: no offload asked of the kernel */
static const virtio_net_hdr kNoOffload = {};

// GRO on write: consecutive TCP segments of one flow that the PFE writes in one turn go to the
// kernel as one large segment (a virtio-net header with GSO TCPv4), as a NIC's GRO would hand them
// up: one write, one trip through the bridge, one segment for the receiving host's TCP. Only what
// Linux's own GRO would merge is merged (tcp_gro_receive): IPv4 without options, no fragment, the same
// addresses, ports, TOS, TTL, DF, ACK number, window and TCP options byte for byte, IP IDs and
// sequence numbers counted on, flags ACK alone (PSH on the last), every segment but the last of the
// first one's size, and both checksums whole (a segment that fails its checksum is written as it
// came, for the host to drop). Finish cuts such a segment back into exactly the frames merged.
struct Gro {
  enum { MAX_SEGS = 64 };
  unsigned char buf[14 + 65535];
  size_t len = 0, hl = 0, mss = 0;
  unsigned segs = 0;
  uint32_t nextSeq = 0;
  uint16_t nextId = 0;
  bool closed = false;


  /** A frame GRO may take: its header length, or 0. */
  static size_t Candidate(const unsigned char* f, size_t n) {
    if (n < 14 + 20 + 20 || Get16(f + 12) != 0x0800) return 0;
    const unsigned char* ip = f + 14;
    if (ip[0] != 0x45 || ip[9] != 6 || Get16(ip + 2) != n - 14 || (Get16(ip + 6) & ~0x4000 & 0xffff) != 0) return 0;   // any bit but DF (inet_gro_receive)
    const unsigned char* tcp = ip + 20;
    size_t doff = (tcp[12] >> 4) * 4u, hl = 14 + 20 + doff;
    if (doff < 20 || hl >= n) return 0;                        // a payload, or nothing to merge
    if ((tcp[13] & ~0x08) != 0x10 || Get16(tcp + 18) != 0) return 0;   // ACK, maybe PSH; no urgent data
    if (Fold(Sum(ip, 20)) != 0xffff) return 0;
    uint32_t ps = Sum(ip + 12, 8) + 6 + (uint32_t)(n - 34);
    if (Fold(Sum(tcp, n - 34, ps)) != 0xffff) return 0;
    return hl;
  }
  /** Frame f (header length fhl) continues what is held. */
  bool Joins(const unsigned char* f, size_t n, size_t fhl) const {
    if (!len || closed || fhl != hl || segs >= MAX_SEGS) return false;
    size_t p = n - fhl;
    if (p > mss || len + p > sizeof buf) return false;
    const unsigned char *a = buf + 14, *b = f + 14;
    if (memcmp(buf, f, 14) || a[1] != b[1] || a[6] != b[6] || a[8] != b[8] || memcmp(a + 12, b + 12, 8)) return false;
    if (Get16(b + 4) != nextId) return false;
    a += 20; b += 20;
    if (memcmp(a, b, 4) || Get32(b + 4) != nextSeq || memcmp(a + 8, b + 8, 4) || a[12] != b[12] || memcmp(a + 14, b + 14, 2)) return false;
    return memcmp(a + 20, b + 20, hl - 34 - 20) == 0;      // options byte for byte (timestamps too)
  }
  void Start(const unsigned char* f, size_t n, size_t fhl) {
    memcpy(buf, f, n);
    len = n; hl = fhl; mss = n - fhl; segs = 1;
    nextSeq = Get32(f + 34 + 4) + (uint32_t)mss;
    nextId = (uint16_t)(Get16(f + 14 + 4) + 1);
    closed = (f[34 + 13] & 0x08) != 0;
  }
  void Append(const unsigned char* f, size_t n) {
    size_t p = n - hl;
    memcpy(buf + len, f + hl, p);
    len += p; segs++; nextSeq += (uint32_t)p; nextId++;
    if (f[34 + 13] & 0x08) { buf[34 + 13] |= 0x08; closed = true; }
    if (p < mss) closed = true;
  }
  /** What is held as one frame and its virtio-net header (a lone segment goes as it came). */
  void Seal(virtio_net_hdr* h) {
    memset(h, 0, sizeof *h);
    if (segs < 2) return;
    unsigned char* ip = buf + 14;
    Put16(ip + 2, (uint16_t)(len - 14));
    Put16(ip + 10, 0);
    Put16(ip + 10, (uint16_t)~Fold(Sum(ip, 20)));
    // a partial checksum: the field holds the pseudo-header's sum, the kernel or host completes it
    Put16(ip + 20 + 16, Fold(Sum(ip + 12, 8) + 6 + (uint32_t)(len - 34)));
    h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM; h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    h->hdr_len = (uint16_t)hl; h->gso_size = (uint16_t)mss; h->csum_start = 34; h->csum_offset = 16;
  }
  /** Hands what is held to out(header, frame, length, segments) and holds nothing. */
  template <typename Out> bool Release(Out out) {
    if (!len) return true;
    virtio_net_hdr h;
    Seal(&h);
    size_t n = len; unsigned s = segs;
    len = 0; segs = 0;
    return out(h, buf, n, s);
  }
  /**
   * Frame f written: what must go now goes to out, in order (what was held first). true: f is held
   * (Release before the turn ends); false: nothing of f is held. *ok: false when an out() failed.
   */
  template <typename Out> bool Feed(const unsigned char* f, size_t n, Out out, bool* ok) {
    size_t fhl = n <= sizeof buf ? Candidate(f, n) : 0;
    if (fhl && Joins(f, n, fhl)) Append(f, n);
    else {
      *ok = Release(out) && *ok;
      if (!fhl) {
        *ok = out(kNoOffload, const_cast<unsigned char*>(f), n, 1u) && *ok;
        return false;
      }
      Start(f, n, fhl);
    }
    if (closed) { *ok = Release(out) && *ok; return false; }
    return true;
  }
};

/**
 * One frame as read with its virtio-net header: emitted as the frames the host would have sent
 * without offloads. false: a header this TAP did not ask for, or a frame too short for it (dropped).
 */
template <typename Emit>
static bool Finish(const virtio_net_hdr& h, unsigned char* f, size_t n, unsigned char* seg, Emit emit) {
  unsigned gso = h.gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
  if (gso == VIRTIO_NET_HDR_GSO_NONE) {
    if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
      size_t start = h.csum_start, at = start + h.csum_offset;
      if (start >= n || at + 2 > n) return false;
      // the field holds the pseudo-header's sum: the checksum is the folded sum from csum_start on
      uint16_t c = (uint16_t)~Fold(Sum(f + start, n - start));
      if (c == 0 && h.csum_offset == 6) c = 0xffff;   // UDP: 0 means no checksum
      Put16(f + at, c);
    }
    emit(f, n);
    return true;
  }
  if (gso != VIRTIO_NET_HDR_GSO_TCPV4 || n < 14 + 20 + 20 || Get16(f + 12) != 0x0800) return false;
  unsigned char* ip = f + 14;
  size_t ihl = (ip[0] & 15) * 4u;
  if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != 6 || 14 + ihl + 20 > n) return false;
  unsigned char* tcp = ip + ihl;
  size_t doff = (tcp[12] >> 4) * 4u, hl = 14 + ihl + doff, mss = h.gso_size;
  if (doff < 20 || hl > n || mss == 0 || ihl + doff + mss > 65535) return false;   // every segment's IP length fits 16 bits
  // the IP length is the frame's (no bytes beyond it taken as payload), and no fragment is segmented
  if (Get16(ip + 2) != n - 14 || (Get16(ip + 6) & 0x3fff) != 0) return false;
  size_t payload = n - hl;
  // a sender chooses gso_size: a tiny one would turn one 64 KB read into tens of thousands of
  // frames (the main thread's time and memory)
  if ((payload + mss - 1) / mss > MAX_SEGMENTS) return false;
  uint32_t seq = Get32(tcp + 4);
  uint16_t id = Get16(ip + 4);
  uint8_t flags = tcp[13];
  uint32_t addrs = Sum(ip + 12, 8);
  for (size_t off = 0, i = 0; off < payload || (payload == 0 && i == 0); off += mss, i++) {
    size_t len = payload - off < mss ? payload - off : mss;
    memcpy(seg, f, hl);
    memcpy(seg + hl, f + hl + off, len);
    unsigned char* sip = seg + 14;
    unsigned char* st = sip + ihl;
    Put16(sip + 2, (uint16_t)(ihl + doff + len));
    Put16(sip + 4, (uint16_t)(id + i));
    Put16(sip + 10, 0);
    Put16(sip + 10, (uint16_t)~Fold(Sum(sip, ihl)));
    Put32(st + 4, seq + (uint32_t)off);
    uint8_t fl = flags;
    if (off + len < payload) fl &= ~(0x01 | 0x08);   // FIN and PSH only on the last
    if (i > 0) fl &= ~0x80;                          // CWR only on the first
    st[13] = fl;
    Put16(st + 16, 0);
    uint32_t s = addrs + 6 + (uint32_t)(doff + len);
    Put16(st + 16, (uint16_t)~Fold(Sum(st, doff + len, s)));
    emit(seg, hl + len);
    if (payload == 0) break;
  }
  return true;
}


/**
 * A TAP's write side with GRO: what Tap does with a frame the PFE writes, over one system call
 * (sys: 0 written, or the errno), so that tests drive the same code with a kernel that refuses.
 * A large segment the kernel refuses with EINVAL, ENOMEM or ENOBUFS is cut back into its frames
 * (Finish) and they are written one by one, so a refusal costs no more than it would have without
 * GRO; EINVAL turns GRO off for this TAP, and from then on nothing is held. Any other refusal (the
 * link is gone: EIO) drops the segment's frames, counted, without trying each.
 */
struct TxPath {
  typedef int (*Sys)(void* ctx, const virtio_net_hdr& h, const unsigned char* p, size_t n);
  Sys sys; void* ctx;
  double tx = 0, txDrops = 0, gro = 0, groSegs = 0, groFailed = 0;
  bool groOff = false;
  std::unique_ptr<Gro> held;
  std::unique_ptr<unsigned char[]> seg;
  TxPath(Sys s, void* c) : sys(s), ctx(c) {}

  bool Out(const virtio_net_hdr& h, unsigned char* p, size_t n, unsigned segs) {
    int e = sys(ctx, h, p, n);
    if (e == 0) {
      tx += segs;
      if (segs > 1) { gro += 1; groSegs += segs; }
      return true;
    }
    if (segs < 2) { txDrops += 1; return false; }
    groFailed += 1;
    if (e != EINVAL && e != ENOMEM && e != ENOBUFS) { txDrops += segs; return false; }
    if (e == EINVAL) groOff = true;
    if (!seg) seg.reset(new unsigned char[65536 + 64]);
    bool all = true;
    unsigned cut = 0;
    bool whole = Finish(h, p, n, seg.get(), [&](const unsigned char* q, size_t m) {
      cut++;
      if (sys(ctx, kNoOffload, q, m) == 0) tx += 1; else { txDrops += 1; all = false; }
    });
    if (!whole) { txDrops += segs - cut; return false; }   // never: Seal makes only what Finish cuts
    return all;
  }
  /** A frame as it came, with no offload asked of the kernel. */
  bool Plain(const unsigned char* f, size_t n) {
    if (sys(ctx, kNoOffload, f, n) != 0) { txDrops += 1; return false; }
    tx += 1;
    return true;
  }
  /** Writes what GRO holds; false when the kernel refused some of it (counted as drops). */
  bool Held() {
    if (!held) return true;
    return held->Release([this](const virtio_net_hdr& h, unsigned char* p, size_t n, unsigned s) { return Out(h, p, n, s); });
  }
  /**
   * 2: something is held (Held() before the turn ends; a refusal of an earlier write may have been
   * counted too), 1: everything written, 0: nothing held and a write of this call (the frame, or
   * what was held before it) was refused. Frames reach the kernel in the order they were given.
   */
  int WriteGro(const unsigned char* f, size_t n) {
    if (groOff) { bool ok = Held(); ok = Plain(f, n) && ok; return ok ? 1 : 0; }
    if (!held) held.reset(new Gro());
    bool ok = true;
    bool isHeld = held->Feed(f, n, [this](const virtio_net_hdr& h, unsigned char* p, size_t m, unsigned s) { return Out(h, p, m, s); }, &ok);
    // GRO went off while f was taken: nothing may wait for a merge any more (or a later frame,
    // written straight away, would overtake it)
    if (isHeld && groOff) { ok = Held() && ok; isHeld = false; }
    return isHeld ? 2 : ok ? 1 : 0;
  }
};

class Tap : public Napi::ObjectWrap<Tap> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    Napi::Function f = DefineClass(env, "Tap", {
      InstanceMethod("start", &Tap::Start),
      InstanceMethod("write", &Tap::Write),
      InstanceMethod("writeGro", &Tap::WriteGro),
      InstanceMethod("flush", &Tap::Flush),
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
    bool offload = !tun && info.Length() > 2 && info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
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
    ifr.ifr_flags = (tun ? IFF_TUN : IFF_TAP) | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0);
    strncpy(ifr.ifr_name, name_.c_str(), IFNAMSIZ - 1);
    if (ioctl(fd_, TUNSETIFF, &ifr) < 0) {
      int e = errno;
      close(fd_); fd_ = -1;
      std::string why = e == EPERM ? "permission denied attaching TAP " + name_ + " (vrouter needs root, or CAP_NET_ADMIN)"
                                   : "cannot attach TAP " + name_ + ": " + strerror(e);
      Napi::Error::New(env, why).ThrowAsJavaScriptException();
      return;
    }
    if (offload) {
      int sz = sizeof(virtio_net_hdr);
      // without the offloads the header alone buys nothing: then the TAP goes on as a plain one
      if (ioctl(fd_, TUNSETVNETHDRSZ, &sz) == 0 && ioctl(fd_, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4)) == 0) vnet_ = true;
      else {
        close(fd_);
        fd_ = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
        if (fd_ < 0 || ioctl(fd_, TUNSETIFF, &ifr) < 0) { if (fd_ >= 0) close(fd_); fd_ = -1; Napi::Error::New(env, "cannot attach TAP " + name_).ThrowAsJavaScriptException(); return; }
      }
    }
  }
  ~Tap() { Shutdown(); }

 private:
  std::string name_;
  int fd_ = -1;
  uv_poll_t* poll_ = nullptr;
  Napi::FunctionReference cb_;
  double rx_ = 0, batches_ = 0, gso_ = 0, bad_ = 0;
  TxPath tx_{ &Tap::Sys, this };
  bool vnet_ = false;
  unsigned char buf_[sizeof(virtio_net_hdr) + 65536 + 64];
  unsigned char seg_[65536 + 64];

  void Shutdown() {
    if (poll_) {
      uv_poll_stop(poll_);
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
    }
    if (fd_ >= 0) { tx_.Held(); close(fd_); fd_ = -1; }
    tx_.held.reset();
  }

  /** One write, with the virtio-net header when the TAP has one: 0, or the errno. */
  static int Sys(void* ctx, const virtio_net_hdr& h, const unsigned char* p, size_t n) {
    Tap* self = static_cast<Tap*>(ctx);
    if (self->fd_ < 0) return EBADF;
    ssize_t w;
    if (self->vnet_) {
      iovec iov[2] = { { const_cast<virtio_net_hdr*>(&h), sizeof h }, { const_cast<unsigned char*>(p), n } };
      w = writev(self->fd_, iov, 2);
    } else w = write(self->fd_, p, n);
    return w >= 0 ? 0 : errno ? errno : EIO;
  }

  static void OnReadable(uv_poll_t* handle, int status, int events) {
    Tap* self = static_cast<Tap*>(handle->data);
    if (status < 0 || self->fd_ < 0) return;
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    Napi::Array frames = Napi::Array::New(env);
    uint32_t n = 0, reads = 0;
    auto emit = [&](const unsigned char* p, size_t len) { frames.Set(n++, Napi::Buffer<unsigned char>::Copy(env, p, len)); };
    while (reads < 256 && n < 1024) {
      ssize_t len = read(self->fd_, self->buf_, sizeof self->buf_);
      if (len <= 0) break;
      reads++;
      if (!self->vnet_) { emit(self->buf_, static_cast<size_t>(len)); continue; }
      if (static_cast<size_t>(len) < sizeof(virtio_net_hdr)) { self->bad_ += 1; continue; }
      virtio_net_hdr h;
      memcpy(&h, self->buf_, sizeof h);
      if (!Finish(h, self->buf_ + sizeof h, static_cast<size_t>(len) - sizeof h, self->seg_, emit)) self->bad_ += 1;
      else if ((h.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_NONE) self->gso_ += 1;
    }
    if (n == 0) return;
    self->rx_ += n;
    self->batches_ += 1;
    self->cb_.MakeCallback(env.Global(), { frames });
  }

 private:

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
    bool ok = tx_.Held();   // what writeGro holds goes first: a plain write never overtakes it
    return Napi::Boolean::New(env, tx_.Plain(b.Data(), len) && ok);
  }

  /**
   * writeGro(frame, len?): as write, but a TCP segment GRO may merge is held to be written with the
   * segments that follow it: TxPath::WriteGro's 2 (held: call flush() before the turn ends), 1 or 0.
   * A TAP without the virtio-net header writes at once.
   */
  Napi::Value WriteGro(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!vnet_) return Napi::Number::New(env, Write(info).As<Napi::Boolean>().Value() ? 1 : 0);
    if (fd_ < 0 || info.Length() < 1 || !info[0].IsBuffer()) return Napi::Number::New(env, 0);
    auto b = info[0].As<Napi::Buffer<unsigned char>>();
    size_t len = b.Length();
    if (info.Length() > 1 && info[1].IsNumber()) {
      double l = info[1].As<Napi::Number>().DoubleValue();
      if (l >= 0 && l < static_cast<double>(len)) len = static_cast<size_t>(l);
    }
    return Napi::Number::New(env, tx_.WriteGro(b.Data(), len));
  }
  Napi::Value Flush(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), fd_ >= 0 ? tx_.Held() : true); }

  Napi::Value Close(const Napi::CallbackInfo& info) { Shutdown(); cb_.Reset(); return info.Env().Undefined(); }
  Napi::Value Name(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), name_); }
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("rx", rx_); o.Set("tx", tx_.tx); o.Set("txDrops", tx_.txDrops); o.Set("batches", batches_);
    o.Set("offload", vnet_); o.Set("gso", gso_); o.Set("bad", bad_); o.Set("gro", tx_.gro); o.Set("groSegments", tx_.groSegs); o.Set("groFailed", tx_.groFailed); o.Set("groOff", tx_.groOff);
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

// finish(vnetHeader, frame): the frames a read with this virtio-net header gives the PFE (tests), or
// null when the TAP would drop it
static Napi::Value FinishFrames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsBuffer() || !info[1].IsBuffer()) { Napi::TypeError::New(env, "finish(header, frame)").ThrowAsJavaScriptException(); return env.Undefined(); }
  auto hb = info[0].As<Napi::Buffer<unsigned char>>();
  auto fb = info[1].As<Napi::Buffer<unsigned char>>();
  if (hb.Length() != sizeof(virtio_net_hdr)) { Napi::TypeError::New(env, "finish: the header is 10 bytes").ThrowAsJavaScriptException(); return env.Undefined(); }
  virtio_net_hdr h;
  memcpy(&h, hb.Data(), sizeof h);
  std::vector<unsigned char> f(fb.Data(), fb.Data() + fb.Length()), seg(65536 + 64);
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  bool ok = Finish(h, f.data(), f.size(), seg.data(), [&](const unsigned char* p, size_t len) { out.Set(n++, Napi::Buffer<unsigned char>::Copy(env, p, len)); });
  return ok ? Napi::Value(out) : env.Null();
}

// coalesce(frames): what GRO on write would hand the kernel for these frames written in one turn,
// as [vnetHeader, frame] pairs (tests)
static Napi::Value Coalesce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) { Napi::TypeError::New(env, "coalesce(frames)").ThrowAsJavaScriptException(); return env.Undefined(); }
  Napi::Array in = info[0].As<Napi::Array>(), out = Napi::Array::New(env);
  uint32_t n = 0;
  std::unique_ptr<Gro> g(new Gro());
  auto put = [&](const virtio_net_hdr& h, unsigned char* p, size_t len, unsigned) {
    Napi::Array pair = Napi::Array::New(env);
    pair.Set(0u, Napi::Buffer<unsigned char>::Copy(env, reinterpret_cast<const unsigned char*>(&h), sizeof h));
    pair.Set(1u, Napi::Buffer<unsigned char>::Copy(env, p, len));
    out.Set(n++, pair);
    return true;
  };
  bool ok = true;
  for (uint32_t i = 0; i < in.Length(); i++) {
    Napi::Value v = in.Get(i);
    if (!v.IsBuffer()) continue;
    auto b = v.As<Napi::Buffer<unsigned char>>();
    g->Feed(b.Data(), b.Length(), put, &ok);
  }
  g->Release(put);
  return out;
}

// writeTurns(frames, refuse): the TAP's write side (TxPath, the code Tap runs) over a kernel that
// refuses as told: 'einval' or 'enobufs' every large segment, 'eio' every write, 'none' nothing.
// A null in frames ends a turn (the flush). { writes: [vnetHeader, frame][] the kernel took, results:
// writeGro's answer per frame, stats } (tests)
struct FakeKernel { std::string refuse; double attempts = 0; std::vector<std::pair<virtio_net_hdr, std::vector<unsigned char>>> took; };
static int FakeSys(void* ctx, const virtio_net_hdr& h, const unsigned char* p, size_t n) {
  FakeKernel* k = static_cast<FakeKernel*>(ctx);
  k->attempts += 1;
  if (k->refuse == "eio") return EIO;
  if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE && k->refuse == "einval") return EINVAL;
  if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE && k->refuse == "enobufs") return ENOBUFS;
  k->took.emplace_back(h, std::vector<unsigned char>(p, p + n));
  return 0;
}
static Napi::Value WriteTurns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsString()) { Napi::TypeError::New(env, "writeTurns(frames, refuse)").ThrowAsJavaScriptException(); return env.Undefined(); }
  FakeKernel k; k.refuse = info[1].As<Napi::String>().Utf8Value();
  TxPath tx(&FakeSys, &k);
  Napi::Array in = info[0].As<Napi::Array>(), results = Napi::Array::New(env);
  uint32_t r = 0;
  for (uint32_t i = 0; i < in.Length(); i++) {
    Napi::Value v = in.Get(i);
    if (v.IsNull()) { tx.Held(); continue; }
    if (!v.IsBuffer()) continue;
    auto b = v.As<Napi::Buffer<unsigned char>>();
    results.Set(r++, tx.WriteGro(b.Data(), b.Length()));
  }
  tx.Held();
  Napi::Array writes = Napi::Array::New(env);
  for (uint32_t i = 0; i < k.took.size(); i++) {
    Napi::Array pair = Napi::Array::New(env);
    pair.Set(0u, Napi::Buffer<unsigned char>::Copy(env, reinterpret_cast<const unsigned char*>(&k.took[i].first), sizeof(virtio_net_hdr)));
    pair.Set(1u, Napi::Buffer<unsigned char>::Copy(env, k.took[i].second.data(), k.took[i].second.size()));
    writes.Set(i, pair);
  }
  Napi::Object stats = Napi::Object::New(env);
  stats.Set("tx", tx.tx); stats.Set("txDrops", tx.txDrops); stats.Set("gro", tx.gro); stats.Set("groSegments", tx.groSegs); stats.Set("groFailed", tx.groFailed); stats.Set("groOff", tx.groOff); stats.Set("attempts", k.attempts);
  Napi::Object o = Napi::Object::New(env);
  o.Set("writes", writes); o.Set("results", results); o.Set("stats", stats);
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("coalesce", Napi::Function::New(env, Coalesce));
  exports.Set("writeTurns", Napi::Function::New(env, WriteTurns));
  exports.Set("setns", Napi::Function::New(env, SetNs));
  exports.Set("finish", Napi::Function::New(env, FinishFrames));
  return Tap::Init(env, exports);
}
NODE_API_MODULE(vrouter_tap, Init)
