;; A small matrix product for the backward passes of Dense layers (the backend's kernel runs a
;; transposed or batched product through a scalar triple loop).
;;
;; c[i, j] = sum over kk (in order) of a[i*saI + kk*saK] * b[kk, j], for i < m and j < cols (at most
;; n), with b and c row-major [k, n] and [m, n]; (saI, saK) = (k, 1) reads a as stored, (1, m) reads
;; it transposed. Each output row goes 16 columns at a time (four accumulators: one row of a against
;; a 16-wide block of b), then 4 at a time. Where cols is not a multiple of 4 the last 1-3 columns
;; are computed 4 wide, reading up to 3 floats past the end of b's last row (the caller checks they
;; are inside the memory), and only the lanes inside c's row are stored.
(func $matMul (export "matMul")
  (param $a i32) (param $b i32) (param $c i32) (param $m i32) (param $k i32)
  (param $cols i32) (param $n i32) (param $saI i32) (param $saK i32)
  (local $i i32) (local $j i32) (local $kk i32)
  (local $pa i32) (local $pb i32) (local $pc i32)
  (local $rowB i32) (local $stepA i32) (local $cols16 i32) (local $cols4 i32)
  (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128) (local $aik v128)
  (local.set $rowB (i32.shl (local.get $n) (i32.const 2)))
  (local.set $stepA (i32.shl (local.get $saK) (i32.const 2)))
  (local.set $cols16 (i32.and (local.get $cols) (i32.const -16)))
  (local.set $cols4 (i32.and (local.get $cols) (i32.const -4)))
  (block $rowsDone
    (loop $row
      (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $m)))
      (local.set $j (i32.const 0))
      ;; 16 columns at a time
      (block $wideDone
        (loop $wide
          (br_if $wideDone (i32.ge_u (local.get $j) (local.get $cols16)))
          (local.set $acc0 (v128.const i32x4 0 0 0 0))
          (local.set $acc1 (v128.const i32x4 0 0 0 0))
          (local.set $acc2 (v128.const i32x4 0 0 0 0))
          (local.set $acc3 (v128.const i32x4 0 0 0 0))
          (local.set $pa
            (i32.add (local.get $a) (i32.shl (i32.mul (local.get $i) (local.get $saI)) (i32.const 2))))
          (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
          (local.set $kk (i32.const 0))
          (block $sumDone
            (loop $sum
              (br_if $sumDone (i32.ge_u (local.get $kk) (local.get $k)))
              (local.set $aik (f32x4.splat (f32.load (local.get $pa))))
              (local.set $acc0
                (f32x4.add (local.get $acc0)
                  (f32x4.mul (v128.load offset=0 (local.get $pb)) (local.get $aik))))
              (local.set $acc1
                (f32x4.add (local.get $acc1)
                  (f32x4.mul (v128.load offset=16 (local.get $pb)) (local.get $aik))))
              (local.set $acc2
                (f32x4.add (local.get $acc2)
                  (f32x4.mul (v128.load offset=32 (local.get $pb)) (local.get $aik))))
              (local.set $acc3
                (f32x4.add (local.get $acc3)
                  (f32x4.mul (v128.load offset=48 (local.get $pb)) (local.get $aik))))
              (local.set $pa (i32.add (local.get $pa) (local.get $stepA)))
              (local.set $pb (i32.add (local.get $pb) (local.get $rowB)))
              (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
              (br $sum)))
          (local.set $pc
            (i32.add (local.get $c)
              (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 2))))
          (v128.store offset=0 (local.get $pc) (local.get $acc0))
          (v128.store offset=16 (local.get $pc) (local.get $acc1))
          (v128.store offset=32 (local.get $pc) (local.get $acc2))
          (v128.store offset=48 (local.get $pc) (local.get $acc3))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $wide)))
      ;; then 4 columns at a time, and the last 1-3 columns 4 wide
      (block $narrowDone
        (loop $narrow
          (br_if $narrowDone (i32.ge_u (local.get $j) (local.get $cols)))
          (local.set $acc0 (v128.const i32x4 0 0 0 0))
          (local.set $pa
            (i32.add (local.get $a) (i32.shl (i32.mul (local.get $i) (local.get $saI)) (i32.const 2))))
          (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
          (local.set $kk (i32.const 0))
          (block $sumDone
            (loop $sum
              (br_if $sumDone (i32.ge_u (local.get $kk) (local.get $k)))
              (local.set $acc0
                (f32x4.add (local.get $acc0)
                  (f32x4.mul (v128.load (local.get $pb)) (f32x4.splat (f32.load (local.get $pa))))))
              (local.set $pa (i32.add (local.get $pa) (local.get $stepA)))
              (local.set $pb (i32.add (local.get $pb) (local.get $rowB)))
              (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
              (br $sum)))
          (local.set $pc
            (i32.add (local.get $c)
              (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 2))))
          (if (i32.lt_u (local.get $j) (local.get $cols4))
            (then (v128.store (local.get $pc) (local.get $acc0)))
            (else
              ;; the tail: lane 0 is inside the row (j < cols); lanes 1 and 2 only if they are too
              (f32.store offset=0 (local.get $pc) (f32x4.extract_lane 0 (local.get $acc0)))
              (if (i32.lt_u (i32.add (local.get $j) (i32.const 1)) (local.get $cols))
                (then (f32.store offset=4 (local.get $pc) (f32x4.extract_lane 1 (local.get $acc0)))))
              (if (i32.lt_u (i32.add (local.get $j) (i32.const 2)) (local.get $cols))
                (then (f32.store offset=8 (local.get $pc) (f32x4.extract_lane 2 (local.get $acc0)))))))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $narrow)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $row))))
