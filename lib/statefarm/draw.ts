/** A tiny raster canvas (RGB floats, 0-255) with the few shapes the synthetic State Farm photos need. */

export type Rgb = readonly [number, number, number];

/** An RGB picture held as floats, drawn on with filled shapes. */
export class Canvas {
  readonly data: Float32Array;
  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = [0, 0, 0],
  ) {
    this.data = new Float32Array(width * height * 3);
    for (let i = 0; i < width * height; i++) this.data.set(background, i * 3);
  }

  private blend(x: number, y: number, color: Rgb, alpha: number): void {
    const i = (y * this.width + x) * 3;
    const d = this.data;
    d[i] += (color[0] - d[i]) * alpha;
    d[i + 1] += (color[1] - d[i + 1]) * alpha;
    d[i + 2] += (color[2] - d[i + 2]) * alpha;
  }

  /** Fills every pixel whose centre satisfies `inside`, within the bounding box. */
  private fill(
    x0: number,
    y0: number,
    x1: number,
    y1: number,
    color: Rgb,
    inside: (x: number, y: number) => boolean,
    alpha = 1,
  ): void {
    const xa = Math.max(0, Math.floor(x0)),
      xb = Math.min(this.width - 1, Math.ceil(x1));
    const ya = Math.max(0, Math.floor(y0)),
      yb = Math.min(this.height - 1, Math.ceil(y1));
    for (let y = ya; y <= yb; y++)
      for (let x = xa; x <= xb; x++) if (inside(x + 0.5, y + 0.5)) this.blend(x, y, color, alpha);
  }

  /** Axis-aligned rectangle from (x, y) with size w x h. */
  rect(x: number, y: number, w: number, h: number, color: Rgb, alpha = 1): void {
    this.fill(
      x,
      y,
      x + w,
      y + h,
      color,
      (px, py) => px >= x && px < x + w && py >= y && py < y + h,
      alpha,
    );
  }

  /** Ellipse centred at (cx, cy) with radii rx, ry, rotated by `angle` radians. */
  ellipse(cx: number, cy: number, rx: number, ry: number, color: Rgb, angle = 0, alpha = 1): void {
    const r = Math.max(rx, ry);
    const c = Math.cos(angle),
      s = Math.sin(angle);
    this.fill(
      cx - r,
      cy - r,
      cx + r,
      cy + r,
      color,
      (px, py) => {
        const dx = px - cx,
          dy = py - cy;
        const u = (dx * c + dy * s) / rx,
          v = (-dx * s + dy * c) / ry;
        return u * u + v * v <= 1;
      },
      alpha,
    );
  }

  /** Ring (annulus) centred at (cx, cy): outer radii rx, ry and thickness t. */
  ring(cx: number, cy: number, rx: number, ry: number, t: number, color: Rgb): void {
    this.fill(cx - rx, cy - ry, cx + rx, cy + ry, color, (px, py) => {
      const o = ((px - cx) / rx) ** 2 + ((py - cy) / ry) ** 2;
      const i = ((px - cx) / (rx - t)) ** 2 + ((py - cy) / (ry - t)) ** 2;
      return o <= 1 && i > 1;
    });
  }

  /** Thick line (a capsule) from (x0, y0) to (x1, y1) with the given width. */
  line(x0: number, y0: number, x1: number, y1: number, width: number, color: Rgb): void {
    const r = width / 2;
    const dx = x1 - x0,
      dy = y1 - y0;
    const len2 = dx * dx + dy * dy || 1;
    this.fill(
      Math.min(x0, x1) - r,
      Math.min(y0, y1) - r,
      Math.max(x0, x1) + r,
      Math.max(y0, y1) + r,
      color,
      (px, py) => {
        const t = Math.max(0, Math.min(1, ((px - x0) * dx + (py - y0) * dy) / len2));
        const ex = x0 + t * dx - px,
          ey = y0 + t * dy - py;
        return ex * ex + ey * ey <= r * r;
      },
    );
  }

  /** Lighting: multiplies by `gain`, adds a left-to-right brightness ramp and a colour tint. */
  light(gain: number, ramp: number, tint: Rgb): void {
    const d = this.data;
    for (let y = 0; y < this.height; y++) {
      for (let x = 0; x < this.width; x++) {
        const g = gain * (1 + ramp * (x / this.width - 0.5));
        const i = (y * this.width + x) * 3;
        d[i] = d[i] * g + tint[0];
        d[i + 1] = d[i + 1] * g + tint[1];
        d[i + 2] = d[i + 2] * g + tint[2];
      }
    }
  }

  /** Adds per-pixel noise from `noise()` (scaled by `sigma`) and clamps to 0-255 bytes. */
  toBytes(sigma: number, noise: () => number): Buffer {
    const out = Buffer.alloc(this.data.length);
    for (let i = 0; i < this.data.length; i++)
      out[i] = Math.max(0, Math.min(255, Math.round(this.data[i] + sigma * noise())));
    return out;
  }
}
