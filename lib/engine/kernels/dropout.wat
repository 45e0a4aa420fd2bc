;; A dropout mask, 4 lanes per instruction: dst[i] = kept where unit i stays, 0 where it drops.
;;
;; Unit i's draw is a hash of (key, i), not the next number of a sequential stream, so every lane
;; is independent and any range can be computed anywhere: h = key + i * 0x9e3779b1, then
;; MurmurHash3's 32-bit finaliser (xor-shift 16, multiply, xor-shift 13, multiply, xor-shift 16);
;; the unit stays when h, unsigned, is at least `threshold` (rate * 2^32). dropout.ts has the
;; same hash in JavaScript for the tail and for other backends; `n` is a multiple of 4.
(func $dropoutMask (export "dropoutMask")
  (param $dst i32) (param $n i32) (param $key i32) (param $threshold i32) (param $kept f32)
  (local $p i32) (local $end i32)
  (local $index v128) (local $h v128) (local $limit v128) (local $value v128)
  (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 2))))
  (local.set $index (v128.const i32x4 0 1 2 3))
  (local.set $limit (i32x4.splat (local.get $threshold)))
  (local.set $value (f32x4.splat (local.get $kept)))
  (local.set $p (local.get $dst))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
      (local.set $h
        (i32x4.add (i32x4.splat (local.get $key))
          (i32x4.mul (local.get $index) (v128.const i32x4 0x9e3779b1 0x9e3779b1 0x9e3779b1 0x9e3779b1))))
      (local.set $h
        (i32x4.mul (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 16)))
          (v128.const i32x4 0x85ebca6b 0x85ebca6b 0x85ebca6b 0x85ebca6b)))
      (local.set $h
        (i32x4.mul (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 13)))
          (v128.const i32x4 0xc2b2ae35 0xc2b2ae35 0xc2b2ae35 0xc2b2ae35)))
      (local.set $h (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 16))))
      ;; all ones in the lanes that stay, so the and keeps `kept` there and 0 elsewhere
      (v128.store (local.get $p)
        (v128.and (i32x4.ge_u (local.get $h) (local.get $limit)) (local.get $value)))
      (local.set $index (i32x4.add (local.get $index) (v128.const i32x4 4 4 4 4)))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (br $next))))
