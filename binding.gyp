{
  "targets": [
    {
      "target_name": "rtp_media_server",
      "sources": [
        "<!@(node -p \"const s=require('./native/sources.json');s.core.concat(s.addon).join(' ')\")"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native",
        "<!@(node vendor/check-deps.js --cflags)"
      ],
      "libraries": [
        "<!@(node vendor/check-deps.js --libs)"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "RMS_ORTP_VERSION=<!(node vendor/check-deps.js --ortp-version)"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"]
    }
  ]
}
