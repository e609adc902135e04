{
  # Finetune Studio native kernels: a Node-API addon (NAPI_VERSION 8, C API only), so one
  # build loads in Node and in Electron's utility process without a rebuild for Electron's ABI.
  # The instruction-set specific kernels are separate static libraries compiled with their own
  # flags; the driver picks one at run time from CPUID, so the binary runs on any x86-64.
  "target_defaults": {
    "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
    # -ffp-contract=off: no FMA the source does not ask for, so that results do not depend on
    # the compiler's choices (the kernels use FMA intrinsics explicitly).
    # -fno-trapping-math: lets the compiler vectorise branch-free selects (vmath_impl.h); we never
    # read floating-point exception flags, and results are unchanged.
    "cflags": ["-O3", "-fPIC", "-fvisibility=hidden", "-ffp-contract=off", "-fno-trapping-math"],
    "cflags_cc": ["-std=c++17", "-O3", "-fPIC", "-fvisibility=hidden", "-ffp-contract=off", "-fno-trapping-math"],
    "xcode_settings": {
      "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
      "GCC_OPTIMIZATION_LEVEL": "3",
      "GCC_SYMBOLS_PRIVATE_EXTERN": "YES",
      "OTHER_CFLAGS": ["-ffp-contract=off", "-fno-trapping-math"],
      "MACOSX_DEPLOYMENT_TARGET": "11.0"
    },
    "msvs_settings": {
      "VCCLCompilerTool": { "AdditionalOptions": ["/std:c++17", "/O2"] }
    }
  },
  "targets": [
    {
      "target_name": "finetune_native",
      "sources": [
        "src/addon.cc",
        "src/gemm.cc",
        "src/platform.cc",
        "src/thread_pool.cc",
        "src/blas_loader.cc",
        "src/elementwise.cc",
        "src/training.cc",
        "src/fused.cc",
        "src/vmath_generic.cc",
        "src/kernel_scalar.cc",
        "src/kernel_neon.cc"
      ],
      "conditions": [
        ["target_arch=='x64'", {
          "dependencies": ["finetune_kernels_avx2", "finetune_kernels_avx512"]
        }, {
          # Other architectures: the x86 files compile to stubs that return nullptr.
          "sources": ["src/kernel_avx2.cc", "src/kernel_avx512.cc", "src/vmath_avx2.cc", "src/vmath_avx512.cc"]
        }],
        ["OS=='linux'", {
          "libraries": ["-ldl", "-pthread"],
          "cflags": ["-pthread"]
        }]
      ]
    }
  ],
  "conditions": [
    ["target_arch=='x64'", {
      "targets": [
        {
          "target_name": "finetune_kernels_avx2",
          "type": "static_library",
          "sources": ["src/kernel_avx2.cc", "src/vmath_avx2.cc"],
          "cflags": ["-mavx2", "-mfma"],
          "xcode_settings": { "OTHER_CFLAGS": ["-mavx2", "-mfma", "-ffp-contract=off", "-fno-trapping-math"] },
          "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/arch:AVX2"] } }
        },
        {
          "target_name": "finetune_kernels_avx512",
          "type": "static_library",
          "sources": ["src/kernel_avx512.cc", "src/vmath_avx512.cc"],
          "cflags": ["-mavx512f", "-mavx2", "-mfma"],
          "xcode_settings": { "OTHER_CFLAGS": ["-mavx512f", "-mavx2", "-mfma", "-ffp-contract=off", "-fno-trapping-math"] },
          "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/arch:AVX512"] } }
        }
      ]
    }]
  ]
}
