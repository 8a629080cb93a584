;; A guest that asks its host to read a file (asynchronously, from the host's point of view) into
;; its memory, then counts the words in it. Build: the example assembles this text with the `wabt`
;; package when it runs.
(module
  (import "host" "read_file" (func $read_file (param $path i32) (param $path_len i32) (param $buf i32) (param $cap i32) (result i32)))
  (memory (export "memory") 2)
  (func $is_space (param $c i32) (result i32)
    (i32.or (i32.or (i32.eq (local.get $c) (i32.const 32)) (i32.eq (local.get $c) (i32.const 10)))
            (i32.or (i32.eq (local.get $c) (i32.const 9)) (i32.eq (local.get $c) (i32.const 13)))))
  ;; words(path, path_len) -> number of words in the file, or -1 when the host could not read it.
  (func (export "words") (param $path i32) (param $path_len i32) (result i32)
    (local $n i32) (local $i i32) (local $words i32) (local $in i32)
    (local.set $n (call $read_file (local.get $path) (local.get $path_len) (i32.const 4096) (i32.const 65536)))
    (if (i32.lt_s (local.get $n) (i32.const 0)) (then (return (i32.const -1))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (if (call $is_space (i32.load8_u offset=4096 (local.get $i)))
          (then (local.set $in (i32.const 0)))
          (else
            (if (i32.eqz (local.get $in)) (then (local.set $words (i32.add (local.get $words) (i32.const 1)))))
            (local.set $in (i32.const 1))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $words)))
