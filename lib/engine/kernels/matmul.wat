;; A small matrix product for the backward passes of Dense layers (the backend's kernel runs a
;; transposed or batched product through a scalar triple loop) and for a feature head's forward pass
;; while its weight changes every step (wasm-kernels.ts).
;;
;; c[i, j] = sum over kk (in order) of a[i*saI + kk*saK] * b[kk, j], for i < m and j < cols (at most
;; n), with b and c row-major [k, n] and [m, n]; (saI, saK) = (k, 1) reads a as stored, (1, m) reads
;; it transposed.
;;
;; Blocks of 16 output columns go in the outer loop and rows in the inner one, so one block of b
;; (rows of 64 bytes) is read from memory once and then from the core's cache for every row, instead
;; of all of b once per row. A long k is taken 4096 rows at a time (a 256 KB block, well inside
;; the 1 MiB L2 of the machines measured), each chunk adding to the sums the chunks before it left
;; in c. Rows go two at a time: each 16-wide load of b serves both rows, in eight
;; accumulators, which with the four b vectors and a splat fit x64's sixteen vector registers. Each
;; output still sums its products in order of kk, so the result does not depend on the blocking.
;;
;; Then the columns left, 4 at a time over the whole k. Where cols is not a multiple of 4 the last
;; 1-3 columns are computed 4 wide, reading up to 3 floats past the end of b's last row (the caller
;; checks they are inside the memory), and only the lanes inside c's row are stored.
(func $matMul (export "matMul")
  (param $a i32) (param $b i32) (param $c i32) (param $m i32) (param $k i32)
  (param $cols i32) (param $n i32) (param $saI i32) (param $saK i32)
  (local $k0 i32) (local $part i32)
  ;; at least one chunk, so that k = 0 still writes zeros
  (loop $chunk
    (local.set $part (i32.sub (local.get $k) (local.get $k0)))
    (if (i32.gt_u (local.get $part) (i32.const 4096)) (then (local.set $part (i32.const 4096))))
    (call $matMulBlocks
      (i32.add (local.get $a) (i32.shl (i32.mul (local.get $k0) (local.get $saK)) (i32.const 2)))
      (i32.add (local.get $b) (i32.shl (i32.mul (local.get $k0) (local.get $n)) (i32.const 2)))
      (local.get $c) (local.get $m) (local.get $part) (local.get $cols) (local.get $n)
      (local.get $saI) (local.get $saK) (local.get $k0))
    (local.set $k0 (i32.add (local.get $k0) (local.get $part)))
    (br_if $chunk (i32.lt_u (local.get $k0) (local.get $k))))
  (call $matMulNarrow (local.get $a) (local.get $b) (local.get $c) (local.get $m) (local.get $k)
    (local.get $cols) (local.get $n) (local.get $saI) (local.get $saK)))

;; The 16-wide blocks of columns for k rows of b: c = a·b when $more is 0, else c += a·b (a later
;; chunk of k, continuing the sums in order).
(func $matMulBlocks
  (param $a i32) (param $b i32) (param $c i32) (param $m i32) (param $k i32)
  (param $cols i32) (param $n i32) (param $saI i32) (param $saK i32) (param $more i32)
  (local $i i32) (local $j i32) (local $kk i32)
  (local $pa i32) (local $pa1 i32) (local $pb i32) (local $pc i32)
  (local $rowB i32) (local $stepA i32) (local $rowA i32) (local $cols16 i32) (local $m2 i32)
  (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128)
  (local $acc4 v128) (local $acc5 v128) (local $acc6 v128) (local $acc7 v128)
  (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128) (local $aik v128)
  (local.set $rowB (i32.shl (local.get $n) (i32.const 2)))
  (local.set $stepA (i32.shl (local.get $saK) (i32.const 2)))
  (local.set $rowA (i32.shl (local.get $saI) (i32.const 2)))
  (local.set $cols16 (i32.and (local.get $cols) (i32.const -16)))
  (local.set $m2 (i32.and (local.get $m) (i32.const -2)))
  (block $blocksDone
    (loop $block
      (br_if $blocksDone (i32.ge_u (local.get $j) (local.get $cols16)))
      (local.set $i (i32.const 0))
      ;; two rows at a time
      (block $pairsDone
        (loop $pair
          (br_if $pairsDone (i32.ge_u (local.get $i) (local.get $m2)))
          (local.set $pc
            (i32.add (local.get $c)
              (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 2))))
          (if (local.get $more)
            (then
              (local.set $acc0 (v128.load offset=0 (local.get $pc)))
              (local.set $acc1 (v128.load offset=16 (local.get $pc)))
              (local.set $acc2 (v128.load offset=32 (local.get $pc)))
              (local.set $acc3 (v128.load offset=48 (local.get $pc)))
              (local.set $acc4 (v128.load offset=0 (i32.add (local.get $pc) (local.get $rowB))))
              (local.set $acc5 (v128.load offset=16 (i32.add (local.get $pc) (local.get $rowB))))
              (local.set $acc6 (v128.load offset=32 (i32.add (local.get $pc) (local.get $rowB))))
              (local.set $acc7 (v128.load offset=48 (i32.add (local.get $pc) (local.get $rowB)))))
            (else
              (local.set $acc0 (v128.const i32x4 0 0 0 0))
              (local.set $acc1 (v128.const i32x4 0 0 0 0))
              (local.set $acc2 (v128.const i32x4 0 0 0 0))
              (local.set $acc3 (v128.const i32x4 0 0 0 0))
              (local.set $acc4 (v128.const i32x4 0 0 0 0))
              (local.set $acc5 (v128.const i32x4 0 0 0 0))
              (local.set $acc6 (v128.const i32x4 0 0 0 0))
              (local.set $acc7 (v128.const i32x4 0 0 0 0))))
          (local.set $pa (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $rowA))))
          (local.set $pa1 (i32.add (local.get $pa) (local.get $rowA)))
          (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
          (local.set $kk (i32.const 0))
          (block $sumDone
            (loop $sum
              (br_if $sumDone (i32.ge_u (local.get $kk) (local.get $k)))
              (local.set $b0 (v128.load offset=0 (local.get $pb)))
              (local.set $b1 (v128.load offset=16 (local.get $pb)))
              (local.set $b2 (v128.load offset=32 (local.get $pb)))
              (local.set $b3 (v128.load offset=48 (local.get $pb)))
              ;; row i
              (local.set $aik (f32x4.splat (f32.load (local.get $pa))))
              (local.set $acc0
                (f32x4.add (local.get $acc0) (f32x4.mul (local.get $b0) (local.get $aik))))
              (local.set $acc1
                (f32x4.add (local.get $acc1) (f32x4.mul (local.get $b1) (local.get $aik))))
              (local.set $acc2
                (f32x4.add (local.get $acc2) (f32x4.mul (local.get $b2) (local.get $aik))))
              (local.set $acc3
                (f32x4.add (local.get $acc3) (f32x4.mul (local.get $b3) (local.get $aik))))
              ;; row i + 1
              (local.set $aik (f32x4.splat (f32.load (local.get $pa1))))
              (local.set $acc4
                (f32x4.add (local.get $acc4) (f32x4.mul (local.get $b0) (local.get $aik))))
              (local.set $acc5
                (f32x4.add (local.get $acc5) (f32x4.mul (local.get $b1) (local.get $aik))))
              (local.set $acc6
                (f32x4.add (local.get $acc6) (f32x4.mul (local.get $b2) (local.get $aik))))
              (local.set $acc7
                (f32x4.add (local.get $acc7) (f32x4.mul (local.get $b3) (local.get $aik))))
              (local.set $pa (i32.add (local.get $pa) (local.get $stepA)))
              (local.set $pa1 (i32.add (local.get $pa1) (local.get $stepA)))
              (local.set $pb (i32.add (local.get $pb) (local.get $rowB)))
              (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
              (br $sum)))
          (v128.store offset=0 (local.get $pc) (local.get $acc0))
          (v128.store offset=16 (local.get $pc) (local.get $acc1))
          (v128.store offset=32 (local.get $pc) (local.get $acc2))
          (v128.store offset=48 (local.get $pc) (local.get $acc3))
          (local.set $pc (i32.add (local.get $pc) (local.get $rowB)))
          (v128.store offset=0 (local.get $pc) (local.get $acc4))
          (v128.store offset=16 (local.get $pc) (local.get $acc5))
          (v128.store offset=32 (local.get $pc) (local.get $acc6))
          (v128.store offset=48 (local.get $pc) (local.get $acc7))
          (local.set $i (i32.add (local.get $i) (i32.const 2)))
          (br $pair)))
      ;; the last row when m is odd
      (if (i32.lt_u (local.get $i) (local.get $m))
        (then
          (local.set $pc
            (i32.add (local.get $c)
              (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 2))))
          (if (local.get $more)
            (then
              (local.set $acc0 (v128.load offset=0 (local.get $pc)))
              (local.set $acc1 (v128.load offset=16 (local.get $pc)))
              (local.set $acc2 (v128.load offset=32 (local.get $pc)))
              (local.set $acc3 (v128.load offset=48 (local.get $pc))))
            (else
              (local.set $acc0 (v128.const i32x4 0 0 0 0))
              (local.set $acc1 (v128.const i32x4 0 0 0 0))
              (local.set $acc2 (v128.const i32x4 0 0 0 0))
              (local.set $acc3 (v128.const i32x4 0 0 0 0))))
          (local.set $pa (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $rowA))))
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
          (v128.store offset=0 (local.get $pc) (local.get $acc0))
          (v128.store offset=16 (local.get $pc) (local.get $acc1))
          (v128.store offset=32 (local.get $pc) (local.get $acc2))
          (v128.store offset=48 (local.get $pc) (local.get $acc3))))
      (local.set $j (i32.add (local.get $j) (i32.const 16)))
      (br $block))))

;; The columns from the last whole block of 16 to cols, 4 at a time (the last 1-3 of them 4 wide),
;; row by row, over the whole k.
(func $matMulNarrow
  (param $a i32) (param $b i32) (param $c i32) (param $m i32) (param $k i32)
  (param $cols i32) (param $n i32) (param $saI i32) (param $saK i32)
  (local $i i32) (local $j i32) (local $kk i32) (local $pa i32) (local $pb i32) (local $pc i32)
  (local $rowB i32) (local $stepA i32) (local $rowA i32) (local $cols4 i32) (local $acc v128)
  (local.set $rowB (i32.shl (local.get $n) (i32.const 2)))
  (local.set $stepA (i32.shl (local.get $saK) (i32.const 2)))
  (local.set $rowA (i32.shl (local.get $saI) (i32.const 2)))
  (local.set $cols4 (i32.and (local.get $cols) (i32.const -4)))
  (block $rowsDone
    (loop $row
      (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $m)))
      (local.set $j (i32.and (local.get $cols) (i32.const -16)))
      (block $narrowDone
        (loop $narrow
          (br_if $narrowDone (i32.ge_u (local.get $j) (local.get $cols)))
          (local.set $acc (v128.const i32x4 0 0 0 0))
          (local.set $pa (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $rowA))))
          (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
          (local.set $kk (i32.const 0))
          (block $sumDone
            (loop $sum
              (br_if $sumDone (i32.ge_u (local.get $kk) (local.get $k)))
              (local.set $acc
                (f32x4.add (local.get $acc)
                  (f32x4.mul (v128.load (local.get $pb)) (f32x4.splat (f32.load (local.get $pa))))))
              (local.set $pa (i32.add (local.get $pa) (local.get $stepA)))
              (local.set $pb (i32.add (local.get $pb) (local.get $rowB)))
              (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
              (br $sum)))
          (local.set $pc
            (i32.add (local.get $c)
              (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 2))))
          (if (i32.lt_u (local.get $j) (local.get $cols4))
            (then (v128.store (local.get $pc) (local.get $acc)))
            (else
              ;; the tail: lane 0 is inside the row (j < cols); lanes 1 and 2 only if they are too
              (f32.store offset=0 (local.get $pc) (f32x4.extract_lane 0 (local.get $acc)))
              (if (i32.lt_u (i32.add (local.get $j) (i32.const 1)) (local.get $cols))
                (then (f32.store offset=4 (local.get $pc) (f32x4.extract_lane 1 (local.get $acc)))))
              (if (i32.lt_u (i32.add (local.get $j) (i32.const 2)) (local.get $cols))
                (then (f32.store offset=8 (local.get $pc) (f32x4.extract_lane 2 (local.get $acc)))))))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $narrow)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $row))))
