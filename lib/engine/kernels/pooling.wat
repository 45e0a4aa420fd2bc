;; Pieces of convolution and pooling gradients that the backend lacks or runs value by value.

;; One max-pooling window's first maximum per channel, for MaxPoolGrad: the window is rows x cols
;; pixels from byte address src (rows rowBytes apart, pixels pixBytes apart) of cBytes / 4 channels
;; (a multiple of 4). For each group of 4 channels, a running maximum with f32x4.gt, strictly
;; greater, so ties keep the first in row-major window order and NaN or a window of -Infinity is
;; never taken, and the byte address it was read from; those addresses go to idx (a uint32 per
;; channel, 0xffffffff where none was taken).
(func $poolArgmax (export "poolArgmax")
  (param $src i32) (param $rowBytes i32) (param $pixBytes i32) (param $rows i32) (param $cols i32)
  (param $cBytes i32) (param $idx i32)
  (local $ch i32) (local $y i32) (local $x i32) (local $rowAddr i32) (local $addr i32)
  (local $best v128) (local $bestAt v128) (local $value v128) (local $greater v128)
  (local $laneBytes v128)
  (local.set $laneBytes (v128.const i32x4 0 4 8 12))
  (block $groupsDone
    (loop $groups
      (br_if $groupsDone (i32.ge_u (local.get $ch) (local.get $cBytes)))
      (local.set $best (v128.const f32x4 -inf -inf -inf -inf))
      (local.set $bestAt (v128.const i32x4 -1 -1 -1 -1))
      (local.set $rowAddr (i32.add (local.get $src) (local.get $ch)))
      (local.set $y (i32.const 0))
      (block $rowsDone
        (loop $rowsNext
          (br_if $rowsDone (i32.ge_u (local.get $y) (local.get $rows)))
          (local.set $addr (local.get $rowAddr))
          (local.set $x (i32.const 0))
          (block $pixelsDone
            (loop $pixels
              (br_if $pixelsDone (i32.ge_u (local.get $x) (local.get $cols)))
              (local.set $value (v128.load (local.get $addr)))
              (local.set $greater (f32x4.gt (local.get $value) (local.get $best)))
              (local.set $best
                (v128.bitselect (local.get $value) (local.get $best) (local.get $greater)))
              ;; each lane's own address: addr + 4 * lane
              (local.set $bestAt
                (v128.bitselect
                  (i32x4.add (i32x4.splat (local.get $addr)) (local.get $laneBytes))
                  (local.get $bestAt)
                  (local.get $greater)))
              (local.set $addr (i32.add (local.get $addr) (local.get $pixBytes)))
              (local.set $x (i32.add (local.get $x) (i32.const 1)))
              (br $pixels)))
          (local.set $rowAddr (i32.add (local.get $rowAddr) (local.get $rowBytes)))
          (local.set $y (i32.add (local.get $y) (i32.const 1)))
          (br $rowsNext)))
      (v128.store (i32.add (local.get $idx) (local.get $ch)) (local.get $bestAt))
      (local.set $ch (i32.add (local.get $ch) (i32.const 16)))
      (br $groups))))

;; One window of MaxPoolGrad: poolArgmax into idx, then for each channel k whose maximum was taken,
;; the incoming gradient g[k] added at that maximum's place in the input gradient, which lies
;; `delta` bytes from it (the gradient has the input's layout).
(func $poolGradWindow (export "poolGradWindow")
  (param $src i32) (param $rowBytes i32) (param $pixBytes i32) (param $rows i32) (param $cols i32)
  (param $cBytes i32) (param $idx i32) (param $g i32) (param $delta i32)
  (local $ch i32) (local $at i32)
  (call $poolArgmax (local.get $src) (local.get $rowBytes) (local.get $pixBytes) (local.get $rows)
    (local.get $cols) (local.get $cBytes) (local.get $idx))
  (block $done
    (loop $channels
      (br_if $done (i32.ge_u (local.get $ch) (local.get $cBytes)))
      (local.set $at (i32.load (i32.add (local.get $idx) (local.get $ch))))
      (if (i32.ne (local.get $at) (i32.const -1))
        (then
          (local.set $at (i32.add (local.get $at) (local.get $delta)))
          (f32.store (local.get $at)
            (f32.add (f32.load (local.get $at)) (f32.load (i32.add (local.get $g) (local.get $ch)))))))
      (local.set $ch (i32.add (local.get $ch) (i32.const 4)))
      (br $channels))))

;; MaxPoolGrad over a whole NHWC batch (wasm-training-kernels.ts): for each output pixel (b, oy, ox)
;; of n x oh x ow, its window, rows y0 = oy * sh - padTop to y0 + fh and columns x0 = ox * sw -
;; padLeft to x0 + fw clipped to the h x w image, goes to poolGradWindow with that pixel's incoming
;; gradient (g, [n, oh, ow, c]); dx (the input's layout, zeroed by the caller) lies `delta` bytes
;; from x. c is a multiple of 4; idx is scratch for c uint32s.
(func $maxPoolGrad (export "maxPoolGrad")
  (param $x i32) (param $g i32) (param $delta i32) (param $idx i32)
  (param $n i32) (param $h i32) (param $w i32) (param $c i32) (param $oh i32) (param $ow i32)
  (param $fh i32) (param $fw i32) (param $sh i32) (param $sw i32) (param $padTop i32) (param $padLeft i32)
  (local $b i32) (local $oy i32) (local $ox i32) (local $y0 i32) (local $y1 i32) (local $x0 i32)
  (local $x1 i32) (local $pixBytes i32) (local $rowBytes i32) (local $imageBytes i32)
  (local.set $pixBytes (i32.shl (local.get $c) (i32.const 2)))
  (local.set $rowBytes (i32.mul (local.get $w) (local.get $pixBytes)))
  (local.set $imageBytes (i32.mul (local.get $h) (local.get $rowBytes)))
  (block $imagesDone
    (loop $images
      (br_if $imagesDone (i32.ge_s (local.get $b) (local.get $n)))
      (local.set $oy (i32.const 0))
      (block $rowsDone
        (loop $rows
          (br_if $rowsDone (i32.ge_s (local.get $oy) (local.get $oh)))
          ;; the window's rows, clipped to [0, h)
          (local.set $y0 (i32.sub (i32.mul (local.get $oy) (local.get $sh)) (local.get $padTop)))
          (local.set $y1 (i32.add (local.get $y0) (local.get $fh)))
          (if (i32.lt_s (local.get $y0) (i32.const 0)) (then (local.set $y0 (i32.const 0))))
          (if (i32.gt_s (local.get $y1) (local.get $h)) (then (local.set $y1 (local.get $h))))
          (local.set $ox (i32.const 0))
          (block $pixelsDone
            (loop $pixels
              (br_if $pixelsDone (i32.ge_s (local.get $ox) (local.get $ow)))
              (local.set $x0 (i32.sub (i32.mul (local.get $ox) (local.get $sw)) (local.get $padLeft)))
              (local.set $x1 (i32.add (local.get $x0) (local.get $fw)))
              (if (i32.lt_s (local.get $x0) (i32.const 0)) (then (local.set $x0 (i32.const 0))))
              (if (i32.gt_s (local.get $x1) (local.get $w)) (then (local.set $x1 (local.get $w))))
              (if (i32.and
                    (i32.gt_s (local.get $y1) (local.get $y0))
                    (i32.gt_s (local.get $x1) (local.get $x0)))
                (then
                  (call $poolGradWindow
                    (i32.add (local.get $x)
                      (i32.add (i32.mul (local.get $b) (local.get $imageBytes))
                        (i32.add (i32.mul (local.get $y0) (local.get $rowBytes))
                          (i32.mul (local.get $x0) (local.get $pixBytes)))))
                    (local.get $rowBytes) (local.get $pixBytes)
                    (i32.sub (local.get $y1) (local.get $y0)) (i32.sub (local.get $x1) (local.get $x0))
                    (local.get $pixBytes) (local.get $idx) (local.get $g) (local.get $delta))))
              ;; the next output pixel's incoming gradient
              (local.set $g (i32.add (local.get $g) (local.get $pixBytes)))
              (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
              (br $pixels)))
          (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
          (br $rows)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $images))))

;; One row of a convolution's patch rows (conv-filter-gradient.ts): for each image b < n and output
;; row y < oh, the ow values cBytes apart from src + b * imageBytes + y * rowBytes, stored one after
;; another from dst.
(func $patchRow (export "patchRow")
  (param $src i32) (param $dst i32) (param $n i32) (param $oh i32) (param $ow i32)
  (param $imageBytes i32) (param $rowBytes i32) (param $cBytes i32)
  (local $b i32) (local $y i32) (local $x i32) (local $from i32) (local $to i32) (local $image i32)
  (local.set $to (local.get $dst))
  (block $imagesDone
    (loop $images
      (br_if $imagesDone (i32.ge_u (local.get $b) (local.get $n)))
      (local.set $image (i32.add (local.get $src) (i32.mul (local.get $b) (local.get $imageBytes))))
      (local.set $y (i32.const 0))
      (block $rowsDone
        (loop $rowsNext
          (br_if $rowsDone (i32.ge_u (local.get $y) (local.get $oh)))
          (local.set $from (i32.add (local.get $image) (i32.mul (local.get $y) (local.get $rowBytes))))
          (local.set $x (i32.const 0))
          (block $valuesDone
            (loop $values
              (br_if $valuesDone (i32.ge_u (local.get $x) (local.get $ow)))
              (f32.store (local.get $to) (f32.load (local.get $from)))
              (local.set $from (i32.add (local.get $from) (local.get $cBytes)))
              (local.set $to (i32.add (local.get $to) (i32.const 4)))
              (local.set $x (i32.add (local.get $x) (i32.const 1)))
              (br $values)))
          (local.set $y (i32.add (local.get $y) (i32.const 1)))
          (br $rowsNext)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $images))))

;; A convolution's input gradient from its column form (conv-input-gradient.ts): g holds, for each
;; output pixel (b, y, x) of a valid stride-1 convolution, kh rows of kw * c values (the filter taps
;; i, j and channels), and each such row is added into dx [n, oh + kh - 1, ow + kw - 1, c] at
;; (b, y + i, x), where the same kw * c values lie side by side. 4 values at a time, then the rest.
(func $col2imAdd (export "col2imAdd")
  (param $g i32) (param $dx i32) (param $n i32) (param $oh i32) (param $ow i32) (param $kh i32)
  (param $run i32) (param $c i32)
  (local $b i32) (local $y i32) (local $x i32) (local $i i32) (local $v i32)
  (local $w i32) (local $rowBytes i32) (local $pixel i32) (local $to i32) (local $run4 i32)
  (local.set $w (i32.sub (i32.add (local.get $ow) (i32.div_u (local.get $run) (local.get $c))) (i32.const 1)))
  (local.set $rowBytes (i32.shl (i32.mul (local.get $w) (local.get $c)) (i32.const 2)))
  (local.set $run4 (i32.and (local.get $run) (i32.const -4)))
  (block $imagesDone
    (loop $images
      (br_if $imagesDone (i32.ge_u (local.get $b) (local.get $n)))
      (local.set $y (i32.const 0))
      (block $rowsDone
        (loop $rows
          (br_if $rowsDone (i32.ge_u (local.get $y) (local.get $oh)))
          ;; dx's pixel (b, y, 0)
          (local.set $pixel
            (i32.add (local.get $dx)
              (i32.mul
                (i32.add
                  (i32.mul (local.get $b) (i32.sub (i32.add (local.get $oh) (local.get $kh)) (i32.const 1)))
                  (local.get $y))
                (local.get $rowBytes))))
          (local.set $x (i32.const 0))
          (block $pixelsDone
            (loop $pixels
              (br_if $pixelsDone (i32.ge_u (local.get $x) (local.get $ow)))
              (local.set $i (i32.const 0))
              (block $tapsDone
                (loop $taps
                  (br_if $tapsDone (i32.ge_u (local.get $i) (local.get $kh)))
                  (local.set $to
                    (i32.add
                      (i32.add (local.get $pixel) (i32.mul (local.get $i) (local.get $rowBytes)))
                      (i32.shl (i32.mul (local.get $x) (local.get $c)) (i32.const 2))))
                  (local.set $v (i32.const 0))
                  (block $wideDone
                    (loop $wide
                      (br_if $wideDone (i32.ge_u (local.get $v) (local.get $run4)))
                      (v128.store (local.get $to)
                        (f32x4.add (v128.load (local.get $to)) (v128.load (local.get $g))))
                      (local.set $to (i32.add (local.get $to) (i32.const 16)))
                      (local.set $g (i32.add (local.get $g) (i32.const 16)))
                      (local.set $v (i32.add (local.get $v) (i32.const 4)))
                      (br $wide)))
                  (block $restDone
                    (loop $rest
                      (br_if $restDone (i32.ge_u (local.get $v) (local.get $run)))
                      (f32.store (local.get $to)
                        (f32.add (f32.load (local.get $to)) (f32.load (local.get $g))))
                      (local.set $to (i32.add (local.get $to) (i32.const 4)))
                      (local.set $g (i32.add (local.get $g) (i32.const 4)))
                      (local.set $v (i32.add (local.get $v) (i32.const 1)))
                      (br $rest)))
                  (local.set $i (i32.add (local.get $i) (i32.const 1)))
                  (br $taps)))
              (local.set $x (i32.add (local.get $x) (i32.const 1)))
              (br $pixels)))
          (local.set $y (i32.add (local.get $y) (i32.const 1)))
          (br $rows)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $images))))
