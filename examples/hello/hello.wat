;; hello.wasm: built from this file by examples/hello/run.ts at start-up (wabt npm package).
;; A guest that imports a host logging function, keeps a counter in linear memory and computes
;; factorials, to show host functions, memory access and traps with wasm stack traces.
(module $hello
  (import "env" "log" (func $log (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello from wasm")
  (func $greet (export "greet")
    (call $log (i32.const 16) (i32.const 15)))
  (func $fact (export "fact") (param $n i64) (result i64)
    (if (result i64) (i64.le_u (local.get $n) (i64.const 1))
      (then (i64.const 1))
      (else (i64.mul (local.get $n) (call $fact (i64.sub (local.get $n) (i64.const 1)))))))
  (func $div (export "div") (param i32 i32) (result i32)
    (i32.div_s (local.get 0) (local.get 1))))
