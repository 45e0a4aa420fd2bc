;; Lesson-shaped: the State Farm augmenter's channel shift (lib/vision/augment.ts), one image at a
;; time.
;;
;; One image's n float32 values from byte address at, shifted in place and clipped to the image's
;; own range before the shift: x = min(max(x + shift, lo), hi). The augmenter builds it from five
;; tfjs ops (Min, Max, Add, Maximum, Minimum); this gives the same values with the same operations
;; (blockRange's lanes for lo and hi, then addClamp), in two passes instead of five, run right after
;; the image's warp while it is still in the core's cache. The first n - n % 4 values (when n >= 16)
;; go 4 lanes at a time, the rest one by one.
(func $shiftClip (export "shiftClip") (param $at i32) (param $n i32) (param $shift f32)
  (local $bulk i32) (local $i i32) (local $end i32) (local $lo f32) (local $hi f32) (local $value f32)
  (local.set $bulk
    (select
      (i32.and (local.get $n) (i32.const -4))
      (i32.const 0)
      (i32.ge_u (local.get $n) (i32.const 16))))
  (if (local.get $bulk)
    (then
      (call $blockRange (local.get $at) (local.get $bulk))
      (local.set $hi)
      (local.set $lo))
    (else
      (local.set $hi (local.tee $lo (f32.load (local.get $at))))))
  ;; the range of the values after the bulk, one by one
  (local.set $end (i32.add (local.get $at) (i32.shl (local.get $n) (i32.const 2))))
  (local.set $i (i32.add (local.get $at) (i32.shl (local.get $bulk) (i32.const 2))))
  (block $rangeDone
    (loop $range
      (br_if $rangeDone (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $value (f32.load (local.get $i)))
      (local.set $lo (f32.min (local.get $lo) (local.get $value)))
      (local.set $hi (f32.max (local.get $hi) (local.get $value)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $range)))
  (if (local.get $bulk)
    (then
      (call $addClamp
        (local.get $at) (local.get $at) (local.get $bulk)
        (local.get $shift) (local.get $lo) (local.get $hi))))
  (local.set $i (i32.add (local.get $at) (i32.shl (local.get $bulk) (i32.const 2))))
  (block $clampDone
    (loop $clamp
      (br_if $clampDone (i32.ge_u (local.get $i) (local.get $end)))
      (f32.store (local.get $i)
        (f32.min
          (f32.max (f32.add (f32.load (local.get $i)) (local.get $shift)) (local.get $lo))
          (local.get $hi)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $clamp))))
