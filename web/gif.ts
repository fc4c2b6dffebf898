/**
 * Animated GIF of 8-bit gray frames: a 256-level gray palette (every value kept exactly, as the CLI's
 * GIF with ffmpeg's palettegen keeps them) and LZW, looping forever.
 */

class ByteWriter {
  private buf = new Uint8Array(1 << 16);
  length = 0;
  byte(b: number): void {
    if (this.length === this.buf.length) {
      const next = new Uint8Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = b;
  }
  bytes(bs: ArrayLike<number>): void {
    for (let i = 0; i < bs.length; i++) this.byte(bs[i]!);
  }
  u16(v: number): void {
    this.byte(v & 0xff);
    this.byte((v >> 8) & 0xff);
  }
  ascii(s: string): void {
    for (let i = 0; i < s.length; i++) this.byte(s.charCodeAt(i));
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** GIF LZW of 8-bit indices, written as data sub-blocks. */
function lzw(w: ByteWriter, pixels: Uint8Array): void {
  const minCode = 8;
  const clear = 1 << minCode;
  const eoi = clear + 1;
  w.byte(minCode);
  const block = new Uint8Array(255);
  let blockLen = 0;
  let bitBuf = 0;
  let bitCount = 0;
  const flushBlock = (): void => {
    if (blockLen === 0) return;
    w.byte(blockLen);
    w.bytes(block.subarray(0, blockLen));
    blockLen = 0;
  };
  let codeSize = minCode + 1;
  const emit = (code: number): void => {
    bitBuf |= code << bitCount;
    bitCount += codeSize;
    while (bitCount >= 8) {
      block[blockLen++] = bitBuf & 0xff;
      if (blockLen === 255) flushBlock();
      bitBuf >>>= 8;
      bitCount -= 8;
    }
  };
  // dictionary: key = prefix code * 256 + next byte → code
  let dict = new Map<number, number>();
  let next = eoi + 1;
  emit(clear);
  let prefix = pixels[0]!;
  for (let i = 1; i < pixels.length; i++) {
    const k = pixels[i]!;
    const key = prefix * 256 + k;
    const found = dict.get(key);
    if (found !== undefined) {
      prefix = found;
      continue;
    }
    emit(prefix);
    if (next < 4096) {
      dict.set(key, next++);
      // the decoder widens its codes one code later than the encoder adds them
      if (next > 1 << codeSize && codeSize < 12) codeSize++;
    } else {
      emit(clear);
      dict = new Map();
      next = eoi + 1;
      codeSize = minCode + 1;
    }
    prefix = k;
  }
  emit(prefix);
  emit(eoi);
  if (bitCount > 0) {
    block[blockLen++] = bitBuf & 0xff;
    if (blockLen === 255) flushBlock();
  }
  flushBlock();
  w.byte(0);
}

/** Frames of width×height gray bytes → GIF file bytes; `delayMs` per frame (GIF counts in 1/100 s). */
export function encodeGrayGif(frames: Uint8Array[], width: number, height: number, delayMs: number): Uint8Array {
  if (frames.length === 0) throw new RangeError('encodeGrayGif: no frames');
  const w = new ByteWriter();
  w.ascii('GIF89a');
  w.u16(width);
  w.u16(height);
  w.byte(0xf7); // global colour table, 8 bits per colour, 256 entries
  w.byte(0);
  w.byte(0);
  for (let i = 0; i < 256; i++) w.bytes([i, i, i]);
  // loop forever (NETSCAPE2.0 application extension)
  w.bytes([0x21, 0xff, 0x0b]);
  w.ascii('NETSCAPE2.0');
  w.bytes([0x03, 0x01, 0x00, 0x00, 0x00]);
  const delay = Math.max(2, Math.round(delayMs / 10));
  for (const f of frames) {
    if (f.length !== width * height) throw new RangeError(`encodeGrayGif: frame of ${f.length} bytes, expected ${width * height}`);
    w.bytes([0x21, 0xf9, 0x04, 0x00]);
    w.u16(delay);
    w.bytes([0x00, 0x00]);
    w.byte(0x2c);
    w.u16(0);
    w.u16(0);
    w.u16(width);
    w.u16(height);
    w.byte(0);
    lzw(w, f);
  }
  w.byte(0x3b);
  return w.result();
}
