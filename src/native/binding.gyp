{
  "variables": {
    "tmaml_gemm%": "<!(node blasFlags.mjs gemm)"
  },
  "targets": [
    {
      "target_name": "tmaml_native",
      "sources": [
        "csrc/addon.cc",
        "csrc/dispatch.cc",
        "csrc/gemm.cc",
        "csrc/parallel.cc",
        "csrc/gemm_builtin_base.cc",
        "csrc/gemm_builtin_avx2.cc",
        "csrc/gemm_builtin_avx512.cc",
        "csrc/strided.cc",
        "csrc/elementwise_base.cc",
        "csrc/elementwise_avx2.cc",
        "csrc/elementwise_avx512.cc"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=c++17"],
      "cflags_cc": ["-std=gnu++17", "-O3", "-fopenmp-simd", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=fast", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"],
      "conditions": [
        ["tmaml_gemm=='openblas'", {
          "defines": ["TMAML_GEMM_OPENBLAS"],
          "include_dirs": ["<!@(node blasFlags.mjs include)"],
          "libraries": ["<!@(node blasFlags.mjs libs)"]
        }]
      ]
    }
  ]
}
