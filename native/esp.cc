// The ES PIC's crypto kernel: ESP's CBC encryption and HMAC for one SA in one call per packet, with
// the OpenSSL contexts kept for the SA's life and given each packet's IV (what node:crypto cannot do:
// a Cipher object takes its IV once). It uses the OpenSSL inside the node binary (its headers come with
// Node's; its symbols are the process's), so no second crypto library is loaded. The ESP format, the
// IVs, sequence numbers, padding and every check stay in pics/es/esp.ts; this is only the arithmetic.
#include <napi.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/crypto.h>
#include <string>
#include <vector>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <uv.h>
#ifdef VROUTER_IMB
#include <intel-ipsec-mb.h>
#endif

// Multi-buffer seals and opens (intel-ipsec-mb's job API, when built with it): queueSeal() and
// queueOpen() submit a packet's CBC + HMAC as a job; flush() finishes every queued job. The library
// works on up to 16 packets at once (each ESP packet has its own IV, so its own CBC chain), where
// OpenSSL runs one chain at a time. One manager per thread (the ES PIC worker's), made on first use.
// An open's job writes the HMAC it computes into the job's slot; the received ICV is compared with it
// in constant time when the job completes, and the plaintext is the caller's only when they match.
#ifdef VROUTER_IMB
static constexpr uint32_t MAX_QUEUED = 256;
// a slot's status: pending until the library hands its job back, then what became of it
enum : uint8_t { SLOT_PENDING = 0, SLOT_OK = 1, SLOT_REFUSED = 2, SLOT_BAD_ICV = 3 };
struct Slot { const uint8_t* icv; bool open; uint8_t status; alignas(16) uint8_t tag[16]; };
static thread_local IMB_MGR* mgr = nullptr;
static thread_local uint32_t queued = 0;
static thread_local Slot slots[MAX_QUEUED];
// the manager goes with its thread (an ES PIC worker replaced after a hang or a crash leaves none behind)
struct MgrFree { ~MgrFree() { if (mgr) { free_mb_mgr(mgr); mgr = nullptr; } } };
static thread_local MgrFree mgr_free;
static IMB_MGR* Mgr() {
  if (!mgr) { (void)&mgr_free; mgr = alloc_mb_mgr(0); if (mgr) init_mb_mgr_auto(mgr, nullptr); }
  return mgr;
}
// every job the library hands back: its slot's status (an open's ICV compared in constant time)
static void Reap(IMB_JOB* j) {
  for (; j; j = IMB_GET_COMPLETED_JOB(mgr)) {
    uint32_t pos = (uint32_t)(uintptr_t)j->user_data;
    if (pos >= queued || slots[pos].status != SLOT_PENDING) continue;
    slots[pos].status = j->status != IMB_STATUS_COMPLETED ? SLOT_REFUSED
        : slots[pos].open && CRYPTO_memcmp(slots[pos].tag, slots[pos].icv, 12) != 0 ? SLOT_BAD_ICV : SLOT_OK;
  }
}
#endif

// mbArch(): the multi-buffer library's architecture on this CPU ('avx512', 'avx2', ...), or 'none'
// when the addon was built without the library.
static Napi::Value MbArch(const Napi::CallbackInfo& info) {
#ifdef VROUTER_IMB
  IMB_MGR* m = Mgr();
  const char* a = !m ? "none" : m->used_arch == IMB_ARCH_AVX512 ? "avx512" : m->used_arch == IMB_ARCH_AVX2 ? "avx2"
      : m->used_arch == IMB_ARCH_AVX ? "avx" : m->used_arch == IMB_ARCH_SSE ? "sse" : "other";
  return Napi::String::New(info.Env(), a);
#else
  return Napi::String::New(info.Env(), "none");
#endif
}

// mbFast(): whether the library would run DES multi-buffer here (AVX-512: intel-ipsec-mb's
// des_x16_avx512), asked of the CPU without making a manager (making one touches 2 MB of the library)
static Napi::Value MbFast(const Napi::CallbackInfo& info) {
#ifdef VROUTER_IMB
  __builtin_cpu_init();
  bool y = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512cd")
      && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  return Napi::Boolean::New(info.Env(), y);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

// flush(): finish every queued seal and open; returns one status per job since the last flush, in
// queue order: 1 done, 2 refused by the library (a job it cannot run), 3 an open whose ICV did not
// match. A job the library still holds after its flush would still own its buffers: that is an
// error (the worker dies and is replaced), never a status.
static Napi::Value Flush(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
#ifdef VROUTER_IMB
  if (mgr) { IMB_JOB* j; while ((j = IMB_FLUSH_JOB(mgr))) Reap(j); }
  uint32_t n = queued;
  queued = 0;
  Napi::Uint8Array a = Napi::Uint8Array::New(env, n);
  for (uint32_t pos = 0; pos < n; pos++) {
    if (slots[pos].status == SLOT_PENDING) { Napi::Error::New(env, "flush: the library did not return every job").ThrowAsJavaScriptException(); return env.Undefined(); }
    a[pos] = slots[pos].status;
  }
  return a;
#else
  return Napi::Uint8Array::New(env, 0);
#endif
}

// Waker: a libuv async handle on the thread that made it (the router's main thread), which any thread
// (the ES PIC worker) wakes with wake(id): uv_async_send, a write to the loop's eventfd, where an
// Atomics.waitAsync waiter is woken through V8's task queue. Wake-ups coalesce; the callback drains.
// Handles are found by id under a lock, so a wake after close() is a no-op, never a freed handle.
static std::mutex wakers_mu;
static std::unordered_map<uint32_t, uv_async_t*> wakers;
static uint32_t next_waker = 1;
struct WakerData { Napi::FunctionReference fn; napi_env env; uint32_t id; };

class Waker : public Napi::ObjectWrap<Waker> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    exports.Set("Waker", DefineClass(env, "Waker", { InstanceMethod("close", &Waker::Close), InstanceAccessor("id", &Waker::Id, nullptr) }));
    exports.Set("wake", Napi::Function::New(env, Wake));
  }
  // new Waker(fn): fn() runs on this thread's loop after one or more wake(id) calls
  Waker(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Waker>(info) {
    Napi::Env env = info.Env();
    uv_loop_t* loop = nullptr;
    if (info.Length() < 1 || !info[0].IsFunction() || napi_get_uv_event_loop(env, &loop) != napi_ok || !loop) { Napi::TypeError::New(env, "Waker(fn)").ThrowAsJavaScriptException(); return; }
    h_ = new uv_async_t;
    auto* d = new WakerData{Napi::Persistent(info[0].As<Napi::Function>()), env, 0};
    h_->data = d;
    if (uv_async_init(loop, h_, OnWake) != 0) { delete d; delete h_; h_ = nullptr; Napi::Error::New(env, "uv_async_init failed").ThrowAsJavaScriptException(); return; }
    uv_unref(reinterpret_cast<uv_handle_t*>(h_));   // a waker never keeps the process alive
    std::lock_guard<std::mutex> g(wakers_mu);
    d->id = id_ = next_waker++;
    wakers[id_] = h_;
  }
  ~Waker() { Drop(); }

 private:
  uv_async_t* h_ = nullptr;
  uint32_t id_ = 0;
  void Drop() {
    if (!h_) return;
    { std::lock_guard<std::mutex> g(wakers_mu); wakers.erase(id_); }
    uv_close(reinterpret_cast<uv_handle_t*>(h_), [](uv_handle_t* h) { delete static_cast<WakerData*>(h->data); delete reinterpret_cast<uv_async_t*>(h); });
    h_ = nullptr;
  }
  Napi::Value Close(const Napi::CallbackInfo& info) { Drop(); return info.Env().Undefined(); }
  Napi::Value Id(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), id_); }
  static void OnWake(uv_async_t* h) {
    auto* d = static_cast<WakerData*>(h->data);
    Napi::Env env(d->env);
    Napi::HandleScope scope(env);
    d->fn.MakeCallback(env.Global(), {});
    if (env.IsExceptionPending()) napi_fatal_exception(env, env.GetAndClearPendingException().Value());
  }
  // wake(id): from any thread
  static Napi::Value Wake(const Napi::CallbackInfo& info) {
    uint32_t id = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Uint32Value() : 0;
    std::lock_guard<std::mutex> g(wakers_mu);
    auto it = wakers.find(id);
    if (it != wakers.end()) uv_async_send(it->second);
    return info.Env().Undefined();
  }
};

class EspCtx : public Napi::ObjectWrap<EspCtx> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    Napi::Function f = DefineClass(env, "EspCtx", {
      InstanceMethod("seal", &EspCtx::Seal),
      InstanceMethod("open", &EspCtx::Open),
      InstanceMethod("queueSeal", &EspCtx::QueueSeal),
      InstanceMethod("queueOpen", &EspCtx::QueueOpen),
      InstanceAccessor("mb", &EspCtx::HasMb, nullptr),
    });
    exports.Set("EspCtx", f);
    exports.Set("mbArch", Napi::Function::New(env, MbArch));
    exports.Set("flush", Napi::Function::New(env, Flush));
    exports.Set("mbFast", Napi::Function::New(env, MbFast));
    return exports;
  }

  // new EspCtx(cipher, key, digest, authKey, icvLen[, mb]): mb true also prepares the multi-buffer keys
  EspCtx(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EspCtx>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 5 || !info[0].IsString() || !info[1].IsBuffer() || !info[2].IsString() || !info[3].IsBuffer() || !info[4].IsNumber()) {
      Napi::TypeError::New(env, "EspCtx(cipher, key, digest, authKey, icvLen)").ThrowAsJavaScriptException();
      return;
    }
    std::string cn = info[0].As<Napi::String>(), dn = info[2].As<Napi::String>();
    const EVP_CIPHER* cipher = EVP_get_cipherbyname(cn.c_str());
    const EVP_MD* md = EVP_get_digestbyname(dn.c_str());
    if (!cipher || !md) { Napi::Error::New(env, "unknown cipher or digest: " + cn + ", " + dn).ThrowAsJavaScriptException(); return; }
    auto key = info[1].As<Napi::Buffer<uint8_t>>(), akey = info[3].As<Napi::Buffer<uint8_t>>();
    if ((int)key.Length() != EVP_CIPHER_key_length(cipher)) { Napi::Error::New(env, "key length").ThrowAsJavaScriptException(); return; }
    icv_ = info[4].As<Napi::Number>().Int32Value();
    enc_ = EVP_CIPHER_CTX_new(); dec_ = EVP_CIPHER_CTX_new(); mac_ = HMAC_CTX_new();
    if (!enc_ || !dec_ || !mac_ || icv_ < 1 || icv_ > EVP_MD_size(md)
        || EVP_EncryptInit_ex(enc_, cipher, nullptr, key.Data(), nullptr) != 1
        || EVP_DecryptInit_ex(dec_, cipher, nullptr, key.Data(), nullptr) != 1
        || HMAC_Init_ex(mac_, akey.Data(), (int)akey.Length(), md, nullptr) != 1) {
      Napi::Error::New(env, "OpenSSL context setup failed").ThrowAsJavaScriptException();
      return;
    }
    EVP_CIPHER_CTX_set_padding(enc_, 0);
    EVP_CIPHER_CTX_set_padding(dec_, 0);
    block_ = EVP_CIPHER_block_size(cipher);
    ivlen_ = EVP_CIPHER_iv_length(cipher);
#ifdef VROUTER_IMB
    if (info.Length() > 5 && info[5].ToBoolean()) SetupMb(cn, key.Data(), key.Length(), dn, akey.Data(), akey.Length());
#endif
  }
  ~EspCtx() {
    if (enc_) EVP_CIPHER_CTX_free(enc_);
    if (dec_) EVP_CIPHER_CTX_free(dec_);
    if (mac_) HMAC_CTX_free(mac_);
  }

 private:
  EVP_CIPHER_CTX* enc_ = nullptr;
  EVP_CIPHER_CTX* dec_ = nullptr;
  HMAC_CTX* mac_ = nullptr;
  int icv_ = 0, block_ = 8, ivlen_ = 8;
#ifdef VROUTER_IMB
  // the multi-buffer form of the same keys: DES key schedules (one for des-cbc, whose key is three
  // equal parts; three for 3DES) and the HMAC's inner and outer hashed pads
  bool mb_ = false;
  alignas(16) uint64_t ks_[3][16];
  const void* ks3_[3] = {ks_[0], ks_[1], ks_[2]};
  alignas(16) uint8_t ipad_[64], opad_[64];
  int cmode_ = 0, hash_ = 0;
  void SetupMb(const std::string& cn, const uint8_t* key, size_t klen, const std::string& dn, const uint8_t* ak, size_t aklen) {
    IMB_MGR* m = Mgr();
    if (!m || cn != "des-ede3-cbc" || klen != 24 || aklen > 64 || icv_ != 12 || (dn != "sha1" && dn != "md5")) return;
    for (int i = 0; i < 3; i++) if (IMB_DES_KEYSCHED(m, ks_[i], key + 8 * i) != 0) return;
    cmode_ = !memcmp(key, key + 8, 8) && !memcmp(key, key + 16, 8) ? IMB_CIPHER_DES : IMB_CIPHER_DES3;
    hash_ = dn == "sha1" ? IMB_AUTH_HMAC_SHA_1 : IMB_AUTH_MD5;
    uint8_t b[64];
    for (int k = 0; k < 2; k++) {
      memset(b, k ? 0x5c : 0x36, 64);
      for (size_t i = 0; i < aklen; i++) b[i] ^= ak[i];
      if (hash_ == IMB_AUTH_HMAC_SHA_1) IMB_SHA1_ONE_BLOCK(m, b, k ? opad_ : ipad_); else IMB_MD5_ONE_BLOCK(m, b, k ? opad_ : ipad_);
    }
    mb_ = true;
  }
#endif
  Napi::Value HasMb(const Napi::CallbackInfo& info) {
#ifdef VROUTER_IMB
    return Napi::Boolean::New(info.Env(), mb_);
#else
    return Napi::Boolean::New(info.Env(), false);
#endif
  }

  // The job's keys: the DES key schedules and the HMAC's hashed pads, for either direction.
#ifdef VROUTER_IMB
  IMB_JOB* NextJob(IMB_CIPHER_DIRECTION dir) {
    IMB_JOB* j = IMB_GET_NEXT_JOB(mgr);
    j->cipher_direction = dir;
    j->chain_order = dir == IMB_DIR_ENCRYPT ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
    j->cipher_mode = (IMB_CIPHER_MODE)cmode_;
    j->enc_keys = j->dec_keys = cmode_ == IMB_CIPHER_DES ? (const void*)ks_[0] : (const void*)ks3_;
    j->key_len_in_bytes = cmode_ == IMB_CIPHER_DES ? 8 : 24;
    j->iv_len_in_bytes = 8;
    j->hash_alg = (IMB_HASH_ALG)hash_;
    j->u.HMAC._hashed_auth_key_xor_ipad = ipad_; j->u.HMAC._hashed_auth_key_xor_opad = opad_;
    j->hash_start_src_offset_in_bytes = 0;
    j->auth_tag_output_len_in_bytes = 12;
    return j;
  }
#endif

  // queueSeal(buf, off, ptLen): what seal() does, as a multi-buffer job that flush() finishes; the
  // caller keeps `buf` alive and unread until then. Returns the job's queue position, or -1 when the
  // queue is full (the caller seals it now instead).
  Napi::Value QueueSeal(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
#ifdef VROUTER_IMB
    if (!mb_ || info.Length() < 3 || !info[0].IsBuffer()) { Napi::TypeError::New(env, "queueSeal(buf, off, ptLen)").ThrowAsJavaScriptException(); return env.Undefined(); }
    auto b = info[0].As<Napi::Buffer<uint8_t>>();
    int64_t off = info[1].As<Napi::Number>().Int64Value(), pt = info[2].As<Napi::Number>().Int64Value();
    if (off < 0 || pt < 8 || pt % 8 || (uint64_t)(off + 16 + pt + 12) > b.Length()) { Napi::RangeError::New(env, "queueSeal: out of bounds").ThrowAsJavaScriptException(); return env.Undefined(); }
    if (queued >= MAX_QUEUED) return Napi::Number::New(env, -1);
    uint8_t* p = b.Data() + off;
    IMB_JOB* j = NextJob(IMB_DIR_ENCRYPT);
    j->src = p; j->dst = p + 16;
    j->cipher_start_src_offset_in_bytes = 16; j->msg_len_to_cipher_in_bytes = pt;
    j->iv = p + 8;
    j->msg_len_to_hash_in_bytes = 16 + pt;
    j->auth_tag_output = p + 16 + pt;
    uint32_t pos = queued++;
    slots[pos].open = false; slots[pos].status = SLOT_PENDING;
    j->user_data = (void*)(uintptr_t)pos;
    Reap(IMB_SUBMIT_JOB(mgr));
    return Napi::Number::New(env, pos);
#else
    Napi::Error::New(env, "queueSeal: built without intel-ipsec-mb").ThrowAsJavaScriptException();
    return env.Undefined();
#endif
  }

  // queueOpen(esp, out): what open() does, as a multi-buffer job: the HMAC of esp (SPI to ciphertext)
  // and the ciphertext decrypted into `out`, both by flush(), which reports a mismatched ICV. The
  // caller keeps both buffers alive, and reads `out` only after flush() and only if it reported
  // nothing for this position. Returns the position, or -1 when the job cannot be queued (lengths
  // that are not whole blocks, or a full queue: the caller opens it with open() instead).
  Napi::Value QueueOpen(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
#ifdef VROUTER_IMB
    if (!mb_ || info.Length() < 2 || !info[0].IsBuffer() || !info[1].IsBuffer()) { Napi::TypeError::New(env, "queueOpen(esp, out)").ThrowAsJavaScriptException(); return env.Undefined(); }
    auto b = info[0].As<Napi::Buffer<uint8_t>>();
    auto out = info[1].As<Napi::Buffer<uint8_t>>();
    int64_t len = (int64_t)b.Length(), ct = len - 16 - 12;
    if (ct < 8 || ct % 8 || (int64_t)out.Length() < ct || queued >= MAX_QUEUED) return Napi::Number::New(env, -1);
    const uint8_t* p = b.Data();
    IMB_JOB* j = NextJob(IMB_DIR_DECRYPT);
    j->src = p; j->dst = out.Data();
    j->cipher_start_src_offset_in_bytes = 16; j->msg_len_to_cipher_in_bytes = ct;
    j->iv = p + 8;
    j->msg_len_to_hash_in_bytes = len - 12;
    uint32_t pos = queued++;
    slots[pos].open = true; slots[pos].status = SLOT_PENDING;
    slots[pos].icv = p + len - 12;
    j->auth_tag_output = slots[pos].tag;
    j->user_data = (void*)(uintptr_t)pos;
    Reap(IMB_SUBMIT_JOB(mgr));
    return Napi::Number::New(env, pos);
#else
    Napi::Error::New(env, "queueOpen: built without intel-ipsec-mb").ThrowAsJavaScriptException();
    return env.Undefined();
#endif
  }

  // seal(buf, off, ptLen): buf[off..] is SPI, sequence, IV (ivLen bytes), plaintext (ptLen, whole
  // blocks); the plaintext is encrypted in place under that IV, and the ICV written after it.
  Napi::Value Seal(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!enc_ || info.Length() < 3 || !info[0].IsBuffer()) { Napi::TypeError::New(env, "seal(buf, off, ptLen)").ThrowAsJavaScriptException(); return env.Undefined(); }
    auto b = info[0].As<Napi::Buffer<uint8_t>>();
    int64_t off = info[1].As<Napi::Number>().Int64Value(), pt = info[2].As<Napi::Number>().Int64Value();
    if (off < 0 || pt < 0 || pt % block_ || (uint64_t)(off + 8 + ivlen_ + pt + icv_) > b.Length()) { Napi::RangeError::New(env, "seal: out of bounds").ThrowAsJavaScriptException(); return env.Undefined(); }
    uint8_t* p = b.Data() + off;
    uint8_t* iv = p + 8;
    uint8_t* data = iv + ivlen_;
    int n = 0;
    unsigned int ml = 0;
    uint8_t md[EVP_MAX_MD_SIZE];
    if (EVP_EncryptInit_ex(enc_, nullptr, nullptr, nullptr, iv) != 1 || EVP_EncryptUpdate(enc_, data, &n, data, (int)pt) != 1 || n != pt
        || HMAC_Init_ex(mac_, nullptr, 0, nullptr, nullptr) != 1 || HMAC_Update(mac_, p, 8 + ivlen_ + pt) != 1 || HMAC_Final(mac_, md, &ml) != 1) {
      Napi::Error::New(env, "seal: OpenSSL failed").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    memcpy(data + pt, md, icv_);
    return env.Undefined();
  }

  // open(esp, out): the ICV checked in constant time, then the ciphertext decrypted into `out` (the
  // caller's buffer: memory V8 accounts for, so a flood cannot pile up memory the collector does not
  // see); false when the ICV does not match (or the lengths are wrong).
  Napi::Value Open(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!dec_ || info.Length() < 2 || !info[0].IsBuffer() || !info[1].IsBuffer()) { Napi::TypeError::New(env, "open(esp, out)").ThrowAsJavaScriptException(); return env.Undefined(); }
    auto b = info[0].As<Napi::Buffer<uint8_t>>();
    auto out = info[1].As<Napi::Buffer<uint8_t>>();
    int64_t len = (int64_t)b.Length();
    int64_t ct = len - 8 - ivlen_ - icv_;
    if (ct < block_ || ct % block_ || (int64_t)out.Length() < ct) return Napi::Boolean::New(env, false);
    const uint8_t* p = b.Data();
    unsigned int ml = 0;
    uint8_t md[EVP_MAX_MD_SIZE];
    Napi::Boolean no = Napi::Boolean::New(env, false);
    if (HMAC_Init_ex(mac_, nullptr, 0, nullptr, nullptr) != 1 || HMAC_Update(mac_, p, len - icv_) != 1 || HMAC_Final(mac_, md, &ml) != 1) return no;
    if (CRYPTO_memcmp(md, p + len - icv_, icv_) != 0) return no;
    int n = 0;
    if (EVP_DecryptInit_ex(dec_, nullptr, nullptr, nullptr, p + 8) != 1 || EVP_DecryptUpdate(dec_, out.Data(), &n, p + 8 + ivlen_, (int)ct) != 1 || n != ct) return no;
    return Napi::Boolean::New(env, true);
  }
};

Napi::Object Init(Napi::Env env, Napi::Object exports) { Waker::Init(env, exports); return EspCtx::Init(env, exports); }
NODE_API_MODULE(vrouter_esp, Init)
