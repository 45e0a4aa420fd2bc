;; Adam's step and the L2 penalty's sum of squares, in place on the tfjs wasm heap, 4 floats per
;; instruction. Addresses are byte offsets into the shared memory; `n` counts floats and is a
;; multiple of 4 (the caller does the tail). The float operations are fused-adam.ts's adamStep's, in
;; the same order, so a step here gives the same bits as that step in JavaScript.
;;
;; Flush to zero: WebAssembly cannot switch on the CPU's flush-to-zero, and on x86 every
;; multiplication with a subnormal operand or result takes ~100 times longer. A weight that L2 keeps
;; shrinking, and the moments of rows no batch touches, decay into subnormals, so each value that
;; could is stored as +0 instead:
;;   a new weight below 2^-60 (far below any weight's effect on an output),
;;   a moment below 2^-96 (the step it would give, lr * m / eps, is < 1e-22 at lr 1e-2),
;;   and a gradient below 2^-50 is not squared (its square cannot move sqrt(v) + eps).
;; wasm-simd.ts exports the same three numbers (TINY_WEIGHT, TINY_MOMENT, TINY_SQUARED_GRADIENT).
;; Flushing is `v & ~(|v| < tiny)`: lanes below tiny become +0, NaN and infinity pass unchanged.

;; For i in [0, n): m = m*b1 + g*c1; v = v*b2 + (g*g)*c2; x = ((m*r1) / (sqrt(v*r2) + eps)) * negLr
;; + x, where c1 = 1 - b1, c2 = 1 - b2, and r1, r2 are the reciprocals of Adam's bias corrections:
;; multiplying by them leaves one division per value instead of three.
(func $adam (export "adam")
  (param $x i32) (param $g i32) (param $m i32) (param $v i32) (param $n i32)
  (param $b1 f32) (param $b2 f32) (param $c1 f32) (param $c2 f32)
  (param $r1 f32) (param $r2 f32) (param $eps f32) (param $negLr f32)
  (local $i i32) (local $end i32)
  (local $B1 v128) (local $B2 v128) (local $C1 v128) (local $C2 v128)
  (local $R1 v128) (local $R2 v128) (local $EPS v128) (local $NEG_LR v128)
  (local $grad v128) (local $m2 v128) (local $v2 v128) (local $x2 v128)
  (local.set $end (i32.shl (local.get $n) (i32.const 2)))
  (local.set $B1 (f32x4.splat (local.get $b1)))
  (local.set $B2 (f32x4.splat (local.get $b2)))
  (local.set $C1 (f32x4.splat (local.get $c1)))
  (local.set $C2 (f32x4.splat (local.get $c2)))
  (local.set $R1 (f32x4.splat (local.get $r1)))
  (local.set $R2 (f32x4.splat (local.get $r2)))
  (local.set $EPS (f32x4.splat (local.get $eps)))
  (local.set $NEG_LR (f32x4.splat (local.get $negLr)))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $grad (v128.load (i32.add (local.get $g) (local.get $i))))
      ;; m' = m*b1 + g*c1, flushed below 2^-96
      (v128.store (i32.add (local.get $m) (local.get $i))
        (local.tee $m2
          (v128.andnot
            (local.tee $m2
              (f32x4.add
                (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $i))) (local.get $B1))
                (f32x4.mul (local.get $grad) (local.get $C1))))
            (f32x4.lt (f32x4.abs (local.get $m2)) (v128.const f32x4 0x1p-96 0x1p-96 0x1p-96 0x1p-96)))))
      ;; v' = v*b2 + (g*g)*c2 with g flushed below 2^-50 for the square, then v' flushed below 2^-96
      (v128.store (i32.add (local.get $v) (local.get $i))
        (local.tee $v2
          (v128.andnot
            (local.tee $v2
              (f32x4.add
                (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $i))) (local.get $B2))
                (f32x4.mul
                  (f32x4.mul
                    (local.tee $v2
                      (v128.andnot
                        (local.tee $v2 (local.get $grad))
                        (f32x4.lt (f32x4.abs (local.get $v2))
                          (v128.const f32x4 0x1p-50 0x1p-50 0x1p-50 0x1p-50))))
                    (local.get $v2))
                  (local.get $C2))))
            (f32x4.lt (f32x4.abs (local.get $v2)) (v128.const f32x4 0x1p-96 0x1p-96 0x1p-96 0x1p-96)))))
      ;; x' = ((m'*r1) / (sqrt(v'*r2) + eps)) * negLr + x, flushed below 2^-60
      (v128.store (i32.add (local.get $x) (local.get $i))
        (v128.andnot
          (local.tee $x2
            (f32x4.add
              (f32x4.mul
                (f32x4.div
                  (f32x4.mul (local.get $m2) (local.get $R1))
                  (f32x4.add (f32x4.sqrt (f32x4.mul (local.get $v2) (local.get $R2))) (local.get $EPS)))
                (local.get $NEG_LR))
              (v128.load (i32.add (local.get $x) (local.get $i)))))
          (f32x4.lt (f32x4.abs (local.get $x2)) (v128.const f32x4 0x1p-60 0x1p-60 0x1p-60 0x1p-60))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next))))

;; adam with the gradient g + x*l2 (an L2 penalty's gradient, 2 * rate, added as the tape would add
;; it). Returns the new weights' sum of squares as sumSquares computes it, for the next batch's
;; penalty, so the penalty costs no second pass over the weights.
(func $adamL2 (export "adamL2")
  (param $x i32) (param $g i32) (param $m i32) (param $v i32) (param $n i32)
  (param $b1 f32) (param $b2 f32) (param $c1 f32) (param $c2 f32)
  (param $r1 f32) (param $r2 f32) (param $eps f32) (param $negLr f32) (param $l2 f32)
  (result f32)
  (local $i i32) (local $end i32)
  (local $B1 v128) (local $B2 v128) (local $C1 v128) (local $C2 v128)
  (local $R1 v128) (local $R2 v128) (local $EPS v128) (local $NEG_LR v128) (local $L2 v128)
  (local $grad v128) (local $m2 v128) (local $v2 v128) (local $x2 v128) (local $squares v128)
  (local.set $end (i32.shl (local.get $n) (i32.const 2)))
  (local.set $B1 (f32x4.splat (local.get $b1)))
  (local.set $B2 (f32x4.splat (local.get $b2)))
  (local.set $C1 (f32x4.splat (local.get $c1)))
  (local.set $C2 (f32x4.splat (local.get $c2)))
  (local.set $R1 (f32x4.splat (local.get $r1)))
  (local.set $R2 (f32x4.splat (local.get $r2)))
  (local.set $EPS (f32x4.splat (local.get $eps)))
  (local.set $NEG_LR (f32x4.splat (local.get $negLr)))
  (local.set $L2 (f32x4.splat (local.get $l2)))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      ;; g + x*l2
      (local.set $grad
        (f32x4.add
          (v128.load (i32.add (local.get $g) (local.get $i)))
          (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $i))) (local.get $L2))))
      ;; m' = m*b1 + g*c1, flushed below 2^-96
      (v128.store (i32.add (local.get $m) (local.get $i))
        (local.tee $m2
          (v128.andnot
            (local.tee $m2
              (f32x4.add
                (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $i))) (local.get $B1))
                (f32x4.mul (local.get $grad) (local.get $C1))))
            (f32x4.lt (f32x4.abs (local.get $m2)) (v128.const f32x4 0x1p-96 0x1p-96 0x1p-96 0x1p-96)))))
      ;; v' = v*b2 + (g*g)*c2 with g flushed below 2^-50 for the square, then v' flushed below 2^-96
      (v128.store (i32.add (local.get $v) (local.get $i))
        (local.tee $v2
          (v128.andnot
            (local.tee $v2
              (f32x4.add
                (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $i))) (local.get $B2))
                (f32x4.mul
                  (f32x4.mul
                    (local.tee $v2
                      (v128.andnot
                        (local.tee $v2 (local.get $grad))
                        (f32x4.lt (f32x4.abs (local.get $v2))
                          (v128.const f32x4 0x1p-50 0x1p-50 0x1p-50 0x1p-50))))
                    (local.get $v2))
                  (local.get $C2))))
            (f32x4.lt (f32x4.abs (local.get $v2)) (v128.const f32x4 0x1p-96 0x1p-96 0x1p-96 0x1p-96)))))
      ;; x' = ((m'*r1) / (sqrt(v'*r2) + eps)) * negLr + x, flushed below 2^-60
      (v128.store (i32.add (local.get $x) (local.get $i))
        (local.tee $x2
          (v128.andnot
            (local.tee $x2
              (f32x4.add
                (f32x4.mul
                  (f32x4.div
                    (f32x4.mul (local.get $m2) (local.get $R1))
                    (f32x4.add (f32x4.sqrt (f32x4.mul (local.get $v2) (local.get $R2))) (local.get $EPS)))
                  (local.get $NEG_LR))
                (v128.load (i32.add (local.get $x) (local.get $i)))))
            (f32x4.lt (f32x4.abs (local.get $x2)) (v128.const f32x4 0x1p-60 0x1p-60 0x1p-60 0x1p-60)))))
      ;; the new weight's square, into the same lanes as sumSquares would add it
      (local.set $squares
        (f32x4.add (f32x4.mul (local.get $x2) (local.get $x2)) (local.get $squares)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
  ;; the lanes summed left to right, as sumSquares does
  (f32.add
    (f32.add
      (f32.add
        (f32x4.extract_lane 0 (local.get $squares))
        (f32x4.extract_lane 1 (local.get $squares)))
      (f32x4.extract_lane 2 (local.get $squares)))
    (f32x4.extract_lane 3 (local.get $squares))))

;; The sum of x[i]^2 for i in [0, n) in 4 float32 lanes (lane j sums the values at j, j + 4, ...),
;; then the lanes left to right: the same float32 operations in the same order as
;; tf.sum(tf.square(x)) on the backend.
(func $sumSquares (export "sumSquares") (param $x i32) (param $n i32) (result f32)
  (local $i i32) (local $end i32) (local $squares v128) (local $value v128)
  (local.set $end (i32.shl (local.get $n) (i32.const 2)))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $squares
        (f32x4.add
          (f32x4.mul
            (local.tee $value (v128.load (i32.add (local.get $x) (local.get $i))))
            (local.get $value))
          (local.get $squares)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
  (f32.add
    (f32.add
      (f32.add
        (f32x4.extract_lane 0 (local.get $squares))
        (f32x4.extract_lane 1 (local.get $squares)))
      (f32x4.extract_lane 2 (local.get $squares)))
    (f32x4.extract_lane 3 (local.get $squares))))
