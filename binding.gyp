# NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS: a worker thread being terminated (an ES PIC replaced or
# closed in the middle of a seal) cannot take a JavaScript exception; without it node-addon-api aborts
# the whole process there (FATAL ERROR: Error::ThrowAsJavaScriptException napi_throw)
{
  "targets": [
    {
      "target_name": "vrouter_tap",
      "sources": [
        "native/tap.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"
      ],
      "cflags_cc": [
        "-O2",
        "-Wall"
      ]
    },
    {
      "target_name": "vrouter_esp",
      "sources": [
        "native/esp.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"
      ],
      "cflags_cc": [
        "-O2",
        "-Wall",
        "-Wno-deprecated-declarations"
      ],
      "conditions": [
        [
          "'<!(sh -c \"if [ -f /usr/include/intel-ipsec-mb.h ]; then echo 1; else echo 'vrouter_esp: intel-ipsec-mb not found (libipsec-mb-dev): OpenSSL path only' >&2; echo 0; fi\")'=='1'",
          {
            "defines": [
              "VROUTER_IMB"
            ],
            "libraries": [
              "-lIPSec_MB"
            ]
          }
        ]
      ]
    }
  ]
}
