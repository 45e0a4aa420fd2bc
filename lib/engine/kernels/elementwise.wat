;; One pass over float32 values on the tfjs wasm heap, 4 lanes per instruction: operations with a
;; scalar (ReLU6's min(x, 6), clipping), block minima and maxima, ReLU's gradient and a memset. `n`
;; counts floats and is a multiple of 4; each function does what the backend's kernel does per
;; value, so the same values.

;; dst[i] = min(x[i], v): f32x4.min, so NaN in gives NaN out, as in the backend's Minimum.
(func $minScalar (export "minScalar") (param $x i32) (param $dst i32) (param $n i32) (param $v f32)
  (local $i i32) (local $end i32) (local $V v128)
  (local.set $end (i32.shl (local.get $n) (i32.const 2)))
  (local.set $V (f32x4.splat (local.get $v)))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (v128.store (i32.add (local.get $dst) (local.get $i))
        (f32x4.min (v128.load (i32.add (local.get $x) (local.get $i))) (local.get $V)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next))))

;; dst[i] = max(x[i], v), as minScalar.
(func $maxScalar (export "maxScalar") (param $x i32) (param $dst i32) (param $n i32) (param $v f32)
  (local $i i32) (local $end i32) (local $V v128)
  (local.set $end (i32.shl (local.get $n) (i32.const 2)))
  (local.set $V (f32x4.splat (local.get $v)))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (v128.store (i32.add (local.get $dst) (local.get $i))
        (f32x4.max (v128.load (i32.add (local.get $x) (local.get $i))) (local.get $V)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next))))

;; dst[i] = x[i] + v, as minScalar.
(func $addScalar (export "addScalar") (param $x i32) (param $dst i32) (param $n i32) (param $v f32)
  (local $i i32) (local $end i32) (local $V v128)
  (local.set $end (i32.shl (local.get $n) (i32.const 2)))
  (local.set $V (f32x4.splat (local.get $v)))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (v128.store (i32.add (local.get $dst) (local.get $i))
        (f32x4.add (v128.load (i32.add (local.get $x) (local.get $i))) (local.get $V)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next))))

;; dst[i] = min(max(x[i] + shift, lo), hi): addScalar, maxScalar and minScalar in one pass, lane by
;; lane the same three operations, so the same values.
(func $addClamp (export "addClamp")
  (param $x i32) (param $dst i32) (param $n i32) (param $shift f32) (param $lo f32) (param $hi f32)
  (local $i i32) (local $end i32) (local $SHIFT v128) (local $LO v128) (local $HI v128)
  (local.set $end (i32.shl (local.get $n) (i32.const 2)))
  (local.set $SHIFT (f32x4.splat (local.get $shift)))
  (local.set $LO (f32x4.splat (local.get $lo)))
  (local.set $HI (f32x4.splat (local.get $hi)))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (v128.store (i32.add (local.get $dst) (local.get $i))
        (f32x4.min
          (f32x4.max
            (f32x4.add (v128.load (i32.add (local.get $x) (local.get $i))) (local.get $SHIFT))
            (local.get $LO))
          (local.get $HI)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next))))

;; The smallest of x[0..n) by WebAssembly's min (any NaN gives NaN, as the backend's Min kernel; -0
;; counts as below +0, where the backend may give either zero); n at least 4. Lane j keeps the
;; minimum of the values at j, j + 4, ...; the lanes are then compared left to right.
(func $blockMin (export "blockMin") (param $x i32) (param $n i32) (result f32)
  (local $i i32) (local $end i32) (local $lanes v128) (local $best f32)
  (local.set $end (i32.shl (local.get $n) (i32.const 2)))
  (local.set $lanes (v128.load (local.get $x)))
  (local.set $i (i32.const 16))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $lanes
        (f32x4.min (local.get $lanes) (v128.load (i32.add (local.get $x) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
  (local.set $best (f32x4.extract_lane 0 (local.get $lanes)))
  (local.set $best (f32.min (local.get $best) (f32x4.extract_lane 1 (local.get $lanes))))
  (local.set $best (f32.min (local.get $best) (f32x4.extract_lane 2 (local.get $lanes))))
  (local.set $best (f32.min (local.get $best) (f32x4.extract_lane 3 (local.get $lanes))))
  (local.get $best))

;; The largest, as blockMin (+0 above -0).
(func $blockMax (export "blockMax") (param $x i32) (param $n i32) (result f32)
  (local $i i32) (local $end i32) (local $lanes v128) (local $best f32)
  (local.set $end (i32.shl (local.get $n) (i32.const 2)))
  (local.set $lanes (v128.load (local.get $x)))
  (local.set $i (i32.const 16))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $lanes
        (f32x4.max (local.get $lanes) (v128.load (i32.add (local.get $x) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
  (local.set $best (f32x4.extract_lane 0 (local.get $lanes)))
  (local.set $best (f32.max (local.get $best) (f32x4.extract_lane 1 (local.get $lanes))))
  (local.set $best (f32.max (local.get $best) (f32x4.extract_lane 2 (local.get $lanes))))
  (local.set $best (f32.max (local.get $best) (f32x4.extract_lane 3 (local.get $lanes))))
  (local.get $best))

;; blockMin and blockMax from one pass: the same lane operations in the same order, so the same two
;; values.
(func $blockRange (export "blockRange") (param $x i32) (param $n i32) (result f32 f32)
  (local $i i32) (local $end i32) (local $low v128) (local $high v128) (local $value v128)
  (local $lo f32) (local $hi f32)
  (local.set $end (i32.shl (local.get $n) (i32.const 2)))
  (local.set $high (local.tee $low (v128.load (local.get $x))))
  (local.set $i (i32.const 16))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $value (v128.load (i32.add (local.get $x) (local.get $i))))
      (local.set $low (f32x4.min (local.get $low) (local.get $value)))
      (local.set $high (f32x4.max (local.get $high) (local.get $value)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
  (local.set $lo (f32x4.extract_lane 0 (local.get $low)))
  (local.set $lo (f32.min (local.get $lo) (f32x4.extract_lane 1 (local.get $low))))
  (local.set $lo (f32.min (local.get $lo) (f32x4.extract_lane 2 (local.get $low))))
  (local.set $lo (f32.min (local.get $lo) (f32x4.extract_lane 3 (local.get $low))))
  (local.set $hi (f32x4.extract_lane 0 (local.get $high)))
  (local.set $hi (f32.max (local.get $hi) (f32x4.extract_lane 1 (local.get $high))))
  (local.set $hi (f32.max (local.get $hi) (f32x4.extract_lane 2 (local.get $high))))
  (local.set $hi (f32.max (local.get $hi) (f32x4.extract_lane 3 (local.get $high))))
  (local.get $lo)
  (local.get $hi))

;; ReLU's gradient as tfjs writes it, dy * step(x), where step(x) is 1 for x > 0, x itself where x
;; is NaN (so NaN propagates), else 0.
(func $reluGrad (export "reluGrad") (param $dy i32) (param $x i32) (param $dst i32) (param $n i32)
  (local $i i32) (local $end i32) (local $value v128)
  (local.set $end (i32.shl (local.get $n) (i32.const 2)))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (v128.store (i32.add (local.get $dst) (local.get $i))
        (f32x4.mul
          (v128.load (i32.add (local.get $dy) (local.get $i)))
          (v128.bitselect
            (v128.const f32x4 1 1 1 1)
            ;; x where it is NaN (x != x), else 0
            (v128.bitselect
              (local.tee $value (v128.load (i32.add (local.get $x) (local.get $i))))
              (v128.const f32x4 0 0 0 0)
              (f32x4.ne (local.get $value) (local.get $value)))
            (f32x4.gt (local.get $value) (v128.const f32x4 0 0 0 0)))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next))))

;; Sets `bytes` bytes from `dst` to zero: memory.fill is a memset, where TypedArray.fill on the
;; threaded backend's shared memory goes element by element, about 5x slower.
(func $zero (export "zero") (param $dst i32) (param $bytes i32)
  (memory.fill (local.get $dst) (i32.const 0) (local.get $bytes)))
