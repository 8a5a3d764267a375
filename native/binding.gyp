# Build of Cairn's native addon (target cairn_native), run by
# scripts/postinstall.mjs or `npm run build:native`. node-addon-api,
# C++ exceptions disabled: every failure becomes a rejected promise or a
# pending JS exception. Sources per service family: file services, batched
# services, tape drives (src/tape-*.cc).
{
  "targets": [
    {
      "target_name": "cairn_native",
      "sources": [
        "src/addon.cc",
        "src/batch-services.cc",
        "src/errno-error.cc",
        "src/file-services.cc",
        "src/tape-device.cc",
        "src/xattr-services.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "_FILE_OFFSET_BITS=64",
        "_GNU_SOURCE"
      ],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "xcode_settings": {
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "MACOSX_DEPLOYMENT_TARGET": "10.15"
      }
    }
  ]
}
