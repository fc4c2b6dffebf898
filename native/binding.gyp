{
  "targets": [
    {
      "target_name": "crevnet_native",
      "sources": ["src/crevnet_native.c"],
      "cflags": ["-O3", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["OS=='mac'", {
          "defines": ["CREVNET_ACCELERATE", "ACCELERATE_NEW_LAPACK"],
          "libraries": ["-framework Accelerate"],
          "xcode_settings": { "OTHER_CFLAGS": ["-O3"] }
        }],
        ["OS!='mac'", {
          "cflags": ["<!@(pkg-config --cflags openblas)"],
          "libraries": ["<!@(pkg-config --libs openblas)"],
          "ldflags": ["-Wl,-rpath,<!@(pkg-config --variable=libdir openblas)"],
          "defines": ["CREVNET_OPENBLAS"]
        }]
      ]
    }
  ]
}
