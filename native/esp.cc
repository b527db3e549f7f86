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

class EspCtx : public Napi::ObjectWrap<EspCtx> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    Napi::Function f = DefineClass(env, "EspCtx", {
      InstanceMethod("seal", &EspCtx::Seal),
      InstanceMethod("open", &EspCtx::Open),
    });
    exports.Set("EspCtx", f);
    return exports;
  }

  // new EspCtx(cipher, key, digest, authKey, icvLen)
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

Napi::Object Init(Napi::Env env, Napi::Object exports) { return EspCtx::Init(env, exports); }
NODE_API_MODULE(vrouter_esp, Init)
