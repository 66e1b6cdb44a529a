{
  "targets": [
    {
      "target_name": "tmaml_native",
      "sources": [
        "csrc/addon.cc",
        "csrc/dispatch.cc",
        "csrc/gemm.cc",
        "csrc/strided.cc",
        "csrc/elementwise_base.cc",
        "csrc/elementwise_avx2.cc",
        "csrc/elementwise_avx512.cc"
      ],
      "include_dirs": ["<!@(node blasFlags.mjs include)"],
      "libraries": ["<!@(node blasFlags.mjs libs)"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=c++17"],
      "cflags_cc": ["-std=gnu++17", "-O3", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=fast", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
