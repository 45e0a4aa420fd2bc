;; Batch normalization over rows of channels (NHWC: the channel is the last axis): the forward pass
;; given each channel's parameters, the column sums its statistics come from, and the backward
;; pass's input gradient. Float32 data; the sums in float64 (two columns per instruction), so they
;; do not lose the small values of a long column. Rows are added in order, so a sum does not depend
;; on how the rows were split.

;; dst[i] = (x[i] - mean[j]) * mul[j] + offset[j] for channel j of each row of c channels (c a
;; multiple of 4, n values in all), where p holds mean, mul and offset one after the other (3c
;; floats).
(func $batchNorm (export "batchNorm")
  (param $x i32) (param $dst i32) (param $n i32) (param $c i32) (param $p i32)
  (local $row i32) (local $j i32) (local $end i32) (local $rowBytes i32) (local $at i32) (local $pj i32)
  (local.set $end (i32.shl (local.get $n) (i32.const 2)))
  (local.set $rowBytes (i32.shl (local.get $c) (i32.const 2)))
  (block $rowsDone
    (loop $rows
      (br_if $rowsDone (i32.ge_u (local.get $row) (local.get $end)))
      (local.set $j (i32.const 0))
      (block $channelsDone
        (loop $channels
          (br_if $channelsDone (i32.ge_u (local.get $j) (local.get $rowBytes)))
          (local.set $at (i32.add (local.get $row) (local.get $j)))
          (local.set $pj (i32.add (local.get $p) (local.get $j)))
          (v128.store (i32.add (local.get $dst) (local.get $at))
            (f32x4.add
              (f32x4.mul
                (f32x4.sub
                  (v128.load (i32.add (local.get $x) (local.get $at)))
                  (v128.load (local.get $pj)))
                (v128.load (i32.add (local.get $pj) (local.get $rowBytes))))
              (v128.load (i32.add (i32.add (local.get $pj) (local.get $rowBytes)) (local.get $rowBytes)))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $channels)))
      (local.set $row (i32.add (local.get $row) (local.get $rowBytes)))
      (br $rows))))

;; Column sums in float64: acc[j] += x[r, j] for r < rows, j < cols (an even count), with acc
;; float64 and x float32 with its rows rowBytes apart (a row may hold more than cols values).
(func $columnSum (export "columnSum")
  (param $x i32) (param $acc i32) (param $rows i32) (param $cols i32) (param $rowBytes i32)
  (local $row i32) (local $end i32) (local $q i32) (local $qEnd i32) (local $p i32)
  (local.set $row (local.get $x))
  (local.set $end (i32.add (local.get $x) (i32.mul (local.get $rows) (local.get $rowBytes))))
  (local.set $qEnd (i32.add (local.get $acc) (i32.shl (local.get $cols) (i32.const 3))))
  (block $rowsDone
    (loop $rowsNext
      (br_if $rowsDone (i32.ge_u (local.get $row) (local.get $end)))
      (local.set $p (local.get $row))
      (local.set $q (local.get $acc))
      (block $pairsDone
        (loop $pairs
          (br_if $pairsDone (i32.ge_u (local.get $q) (local.get $qEnd)))
          ;; two float32 columns, widened to float64, added to their two sums
          (v128.store (local.get $q)
            (f64x2.add
              (v128.load (local.get $q))
              (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $p)))))
          (local.set $p (i32.add (local.get $p) (i32.const 8)))
          (local.set $q (i32.add (local.get $q) (i32.const 16)))
          (br $pairs)))
      (local.set $row (i32.add (local.get $row) (local.get $rowBytes)))
      (br $rowsNext))))

;; Float64 column sums of x and of x*y (x, y float32 row-major [rows, cols], cols even) added into
;; acc (float64 [2 * cols]): acc[j] += x[r, j] and acc[cols + j] += x[r, j] * y[r, j], the product
;; in float64. With y = x: a batch norm's sums and sums of squares; with x = dy, y = x: its backward
;; pass's.
(func $columnPairSums (export "columnPairSums")
  (param $x i32) (param $y i32) (param $acc i32) (param $rows i32) (param $cols i32)
  (local $p i32) (local $end i32) (local $q i32) (local $qEnd i32) (local $r i32) (local $accBytes i32)
  (local $xs v128)
  (local.set $p (local.get $x))
  (local.set $r (local.get $y))
  (local.set $end
    (i32.add (local.get $x) (i32.shl (i32.mul (local.get $rows) (local.get $cols)) (i32.const 2))))
  (local.set $accBytes (i32.shl (local.get $cols) (i32.const 3)))
  (local.set $qEnd (i32.add (local.get $acc) (local.get $accBytes)))
  ;; the rows are contiguous, so p and r walk on from one row into the next
  (block $rowsDone
    (loop $rowsNext
      (br_if $rowsDone (i32.ge_u (local.get $p) (local.get $end)))
      (local.set $q (local.get $acc))
      (block $pairsDone
        (loop $pairs
          (br_if $pairsDone (i32.ge_u (local.get $q) (local.get $qEnd)))
          (local.set $xs (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $p))))
          (v128.store (local.get $q) (f64x2.add (v128.load (local.get $q)) (local.get $xs)))
          (v128.store (i32.add (local.get $q) (local.get $accBytes))
            (f64x2.add
              (v128.load (i32.add (local.get $q) (local.get $accBytes)))
              (f64x2.mul (local.get $xs) (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $r))))))
          (local.set $p (i32.add (local.get $p) (i32.const 8)))
          (local.set $r (i32.add (local.get $r) (i32.const 8)))
          (local.set $q (i32.add (local.get $q) (i32.const 16)))
          (br $pairs)))
      (br $rowsNext))))

;; dst[i] = a[i] * p[j] + b[i] * p[c + j] + p[2c + j] for channel j (the last axis, c a multiple of
;; 4, n values in all), in float32: a batch norm's input gradient from dy and x.
(func $twoTermAffine (export "twoTermAffine")
  (param $a i32) (param $b i32) (param $dst i32) (param $n i32) (param $c i32) (param $p i32)
  (local $row i32) (local $j i32) (local $end i32) (local $rowBytes i32) (local $at i32) (local $pj i32)
  (local.set $end (i32.shl (local.get $n) (i32.const 2)))
  (local.set $rowBytes (i32.shl (local.get $c) (i32.const 2)))
  (block $rowsDone
    (loop $rows
      (br_if $rowsDone (i32.ge_u (local.get $row) (local.get $end)))
      (local.set $j (i32.const 0))
      (block $channelsDone
        (loop $channels
          (br_if $channelsDone (i32.ge_u (local.get $j) (local.get $rowBytes)))
          (local.set $at (i32.add (local.get $row) (local.get $j)))
          (local.set $pj (i32.add (local.get $p) (local.get $j)))
          (v128.store (i32.add (local.get $dst) (local.get $at))
            (f32x4.add
              (f32x4.add
                (f32x4.mul
                  (v128.load (i32.add (local.get $a) (local.get $at)))
                  (v128.load (local.get $pj)))
                (f32x4.mul
                  (v128.load (i32.add (local.get $b) (local.get $at)))
                  (v128.load (i32.add (local.get $pj) (local.get $rowBytes)))))
              (v128.load (i32.add (i32.add (local.get $pj) (local.get $rowBytes)) (local.get $rowBytes)))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $channels)))
      (local.set $row (i32.add (local.get $row) (local.get $rowBytes)))
      (br $rows))))
