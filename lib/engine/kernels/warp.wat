;; The augmenter's affine warp (tf.image.transform, bilinear, fill mode "nearest" or "constant") of
;; one float32 NHWC image: JavaScript spent ~30 ns a pixel on it (index arithmetic, bounds checks,
;; conversions). The operations are the JS kernel's in wasm-image-kernels.ts (warpInJs), so the same
;; values bit for bit: the source coordinates in float32 as the backend computes them, the weights
;; and the blend in float64, rounded to float32 once, and the fill value for a neighbour outside the
;; image.
;;
;; Output pixel (ox, oy) reads input (a0 ox + a1 oy + a2, b0 ox + b1 oy + b2), clamped to the image
;; when clamp is 1 (fill mode "nearest"); otherwise (clamp 0, "constant") a neighbour outside the
;; image reads `fill`.
(func $warp (export "warp")
  (param $src i32) (param $dst i32) (param $inH i32) (param $inW i32) (param $ch i32)
  (param $outH i32) (param $outW i32) (param $clamp i32)
  (param $a0 f32) (param $a1 f32) (param $a2 f32) (param $b0 f32) (param $b1 f32) (param $b2 f32)
  (param $fill f32)
  (local $oy i32) (local $ox i32) (local $out i32) (local $x0 i32) (local $y0 i32) (local $c i32)
  ;; the four neighbours' addresses: p00 (x0, y0), p01 (x0 + 1, y0), p10 (x0, y0 + 1), p11 (x0 + 1,
  ;; y0 + 1)
  (local $p00 i32) (local $p01 i32) (local $p10 i32) (local $p11 i32)
  (local $rowBytes i32) (local $pixBytes i32)
  ;; whether each neighbour is inside the image
  (local $in00 i32) (local $in01 i32) (local $in10 i32) (local $in11 i32)
  (local $rowX f32) (local $rowY f32) (local $x f32) (local $y f32) (local $maxX f32) (local $maxY f32)
  (local $wx0 f64) (local $wx1 f64) (local $wy0 f64) (local $wy1 f64) (local $fillD f64)
  (local $floorY f64) (local $floorX f64)
  ;; the bytes of a pixel's whole channel pairs
  (local $pairsEnd i32)
  ;; the four weights, each in both f64x2 lanes
  (local $WX0 v128) (local $WX1 v128) (local $WY0 v128) (local $WY1 v128)
  (local.set $pixBytes (i32.shl (local.get $ch) (i32.const 2)))
  (local.set $pairsEnd (i32.and (local.get $pixBytes) (i32.const -8)))
  (local.set $rowBytes (i32.mul (local.get $inW) (local.get $pixBytes)))
  (local.set $maxX (f32.convert_i32_s (i32.sub (local.get $inW) (i32.const 1))))
  (local.set $maxY (f32.convert_i32_s (i32.sub (local.get $inH) (i32.const 1))))
  (local.set $fillD (f64.promote_f32 (local.get $fill)))
  (local.set $out (local.get $dst))
  (block $rowsDone
    (loop $rows
      (br_if $rowsDone (i32.ge_u (local.get $oy) (local.get $outH)))
      (local.set $rowX (f32.mul (local.get $a1) (f32.convert_i32_s (local.get $oy))))
      (local.set $rowY (f32.mul (local.get $b1) (f32.convert_i32_s (local.get $oy))))
      (local.set $ox (i32.const 0))
      (block $pixelsDone
        (loop $pixels
          (br_if $pixelsDone (i32.ge_u (local.get $ox) (local.get $outW)))
          ;; x = (a0 ox + a1 oy) + a2, y likewise, in float32
          (local.set $x
            (f32.add
              (f32.add (f32.mul (local.get $a0) (f32.convert_i32_s (local.get $ox))) (local.get $rowX))
              (local.get $a2)))
          (local.set $y
            (f32.add
              (f32.add (f32.mul (local.get $b0) (f32.convert_i32_s (local.get $ox))) (local.get $rowY))
              (local.get $b2)))
          ;; clamped to [0, max] for fill mode "nearest" (max(min(max, v), 0): NaN stays NaN, as in
          ;; JS)
          (local.set $x
            (select
              (f32.max (f32.min (local.get $maxX) (local.get $x)) (f32.const 0))
              (local.get $x)
              (local.get $clamp)))
          (local.set $y
            (select
              (f32.max (f32.min (local.get $maxY) (local.get $y)) (f32.const 0))
              (local.get $y)
              (local.get $clamp)))
          ;; floor in float64, its integer (saturating: NaN gives 0 where a plain truncation would
          ;; trap), and the two weights: w1 = v - floor(v), w0 = floor(v) + 1 - v
          (local.set $y0
            (i32.trunc_sat_f64_s (local.tee $floorY (f64.floor (f64.promote_f32 (local.get $y))))))
          (local.set $wy1 (f64.sub (f64.promote_f32 (local.get $y)) (local.get $floorY)))
          (local.set $wy0
            (f64.sub (f64.add (local.get $floorY) (f64.const 1)) (f64.promote_f32 (local.get $y))))
          (local.set $x0
            (i32.trunc_sat_f64_s (local.tee $floorX (f64.floor (f64.promote_f32 (local.get $x))))))
          (local.set $wx1 (f64.sub (f64.promote_f32 (local.get $x)) (local.get $floorX)))
          (local.set $wx0
            (f64.sub (f64.add (local.get $floorX) (f64.const 1)) (f64.promote_f32 (local.get $x))))
          ;; which neighbours are inside (unsigned comparisons also reject negative coordinates)
          (local.set $in00
            (i32.and
              (i32.lt_u (local.get $y0) (local.get $inH))
              (i32.lt_u (local.get $x0) (local.get $inW))))
          (local.set $in01
            (i32.and
              (i32.lt_u (local.get $y0) (local.get $inH))
              (i32.lt_u (i32.add (local.get $x0) (i32.const 1)) (local.get $inW))))
          (local.set $in10
            (i32.and
              (i32.lt_u (i32.add (local.get $y0) (i32.const 1)) (local.get $inH))
              (i32.lt_u (local.get $x0) (local.get $inW))))
          (local.set $in11
            (i32.and
              (i32.lt_u (i32.add (local.get $y0) (i32.const 1)) (local.get $inH))
              (i32.lt_u (i32.add (local.get $x0) (i32.const 1)) (local.get $inW))))
          (local.set $p01
            (i32.add
              (local.tee $p00
                (i32.add (local.get $src)
                  (i32.mul
                    (i32.add (i32.mul (local.get $y0) (local.get $inW)) (local.get $x0))
                    (local.get $pixBytes))))
              (local.get $pixBytes)))
          (local.set $p11
            (i32.add
              (local.tee $p10 (i32.add (local.get $p00) (local.get $rowBytes)))
              (local.get $pixBytes)))
          ;; (in00 and in11 together mean all four are inside)
          (if (i32.and (local.get $in00) (local.get $in11))
            (then
              ;; Interior: two channels per f64x2 operation, the same float64 products and sums in
              ;; the same order as the scalar blend below; a pair read with v128.load64_zero and an
              ;; odd last channel with v128.load32_zero, so nothing outside the image is read or
              ;; written.
              (local.set $WX0 (f64x2.splat (local.get $wx0)))
              (local.set $WX1 (f64x2.splat (local.get $wx1)))
              (local.set $WY0 (f64x2.splat (local.get $wy0)))
              (local.set $WY1 (f64x2.splat (local.get $wy1)))
              (local.set $c (i32.const 0))
              (block $pairsDone
                (loop $pairs
                  (br_if $pairsDone (i32.ge_u (local.get $c) (local.get $pairsEnd)))
                  (v128.store64_lane 0 (i32.add (local.get $out) (local.get $c))
                    (f32x4.demote_f64x2_zero
                      (f64x2.add
                        (f64x2.mul (local.get $WY0)
                          (f64x2.add
                            (f64x2.mul (local.get $WX0)
                              (f64x2.promote_low_f32x4
                                (v128.load64_zero (i32.add (local.get $p00) (local.get $c)))))
                            (f64x2.mul (local.get $WX1)
                              (f64x2.promote_low_f32x4
                                (v128.load64_zero (i32.add (local.get $p01) (local.get $c)))))))
                        (f64x2.mul (local.get $WY1)
                          (f64x2.add
                            (f64x2.mul (local.get $WX0)
                              (f64x2.promote_low_f32x4
                                (v128.load64_zero (i32.add (local.get $p10) (local.get $c)))))
                            (f64x2.mul (local.get $WX1)
                              (f64x2.promote_low_f32x4
                                (v128.load64_zero (i32.add (local.get $p11) (local.get $c))))))))))
                  (local.set $c (i32.add (local.get $c) (i32.const 8)))
                  (br $pairs)))
              (if (i32.lt_u (local.get $c) (local.get $pixBytes))
                (then
                  (v128.store32_lane 0 (i32.add (local.get $out) (local.get $c))
                    (f32x4.demote_f64x2_zero
                      (f64x2.add
                        (f64x2.mul (local.get $WY0)
                          (f64x2.add
                            (f64x2.mul (local.get $WX0)
                              (f64x2.promote_low_f32x4
                                (v128.load32_zero (i32.add (local.get $p00) (local.get $c)))))
                            (f64x2.mul (local.get $WX1)
                              (f64x2.promote_low_f32x4
                                (v128.load32_zero (i32.add (local.get $p01) (local.get $c)))))))
                        (f64x2.mul (local.get $WY1)
                          (f64x2.add
                            (f64x2.mul (local.get $WX0)
                              (f64x2.promote_low_f32x4
                                (v128.load32_zero (i32.add (local.get $p10) (local.get $c)))))
                            (f64x2.mul (local.get $WX1)
                              (f64x2.promote_low_f32x4
                                (v128.load32_zero (i32.add (local.get $p11) (local.get $c)))))))))))))
            (else
              ;; Edge: a neighbour outside the image reads from src (always readable) and is
              ;; replaced by the fill value; one channel at a time.
              (local.set $p00 (select (local.get $p00) (local.get $src) (local.get $in00)))
              (local.set $p01 (select (local.get $p01) (local.get $src) (local.get $in01)))
              (local.set $p10 (select (local.get $p10) (local.get $src) (local.get $in10)))
              (local.set $p11 (select (local.get $p11) (local.get $src) (local.get $in11)))
              (local.set $c (i32.const 0))
              (block $channelsDone
                (loop $channels
                  (br_if $channelsDone (i32.ge_u (local.get $c) (local.get $pixBytes)))
                  ;; dst = wy0 (wx0 v00 + wx1 v01) + wy1 (wx0 v10 + wx1 v11), rounded to float32
                  ;; once
                  (f32.store (i32.add (local.get $out) (local.get $c))
                    (f32.demote_f64
                      (f64.add
                        (f64.mul (local.get $wy0)
                          (f64.add
                            (f64.mul (local.get $wx0)
                              (select
                                (f64.promote_f32 (f32.load (i32.add (local.get $p00) (local.get $c))))
                                (local.get $fillD)
                                (local.get $in00)))
                            (f64.mul (local.get $wx1)
                              (select
                                (f64.promote_f32 (f32.load (i32.add (local.get $p01) (local.get $c))))
                                (local.get $fillD)
                                (local.get $in01)))))
                        (f64.mul (local.get $wy1)
                          (f64.add
                            (f64.mul (local.get $wx0)
                              (select
                                (f64.promote_f32 (f32.load (i32.add (local.get $p10) (local.get $c))))
                                (local.get $fillD)
                                (local.get $in10)))
                            (f64.mul (local.get $wx1)
                              (select
                                (f64.promote_f32 (f32.load (i32.add (local.get $p11) (local.get $c))))
                                (local.get $fillD)
                                (local.get $in11))))))))
                  (local.set $c (i32.add (local.get $c) (i32.const 4)))
                  (br $channels)))))
          (local.set $out (i32.add (local.get $out) (local.get $pixBytes)))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br $pixels)))
      (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
      (br $rows))))
