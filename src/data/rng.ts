/**
 * Seeded 32-bit PRNG with a serialisable state: sfc32 (Chris Doty-Humphrey's Small Fast Chaotic
 * generator, 128-bit state), seeded through splitmix32. Only 32-bit integer arithmetic
 * (Math.imul, `| 0`, `>>> 0`), so every machine and engine produces the same numbers for a seed.
 */
import { UserError } from '../runtime/errors.js';

export const RNG_ALGORITHM = 'sfc32';

export type RngState = { algorithm: string; state: number[] };

const TWO_32 = 4294967296;

/** splitmix32 step: returns the next seeding word and advances the accumulator. */
function splitmix32(acc: { s: number }): number {
  acc.s = (acc.s + 0x9e3779b9) | 0;
  let z = acc.s;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

function isUint32(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < TWO_32;
}

export class Rng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;

  /** `seed` is any safe integer (negative and > 2^32 allowed; all 53 bits are used). */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new UserError(`seed must be a safe integer, got ${seed}`);
    const lo = seed >>> 0; // two's complement low word (also for negative seeds)
    const hi = Math.floor(seed / TWO_32) | 0;
    const acc = { s: lo ^ Math.imul(hi, 0x85ebca6b) };
    this.a = splitmix32(acc);
    this.b = splitmix32(acc);
    this.c = splitmix32(acc);
    this.d = splitmix32(acc);
    for (let i = 0; i < 12; i++) this.uint32(); // let the chaotic state mix
  }

  /** Restore a generator from `state()`; UserError if the object is not a valid sfc32 state. */
  static fromState(s: RngState): Rng {
    if (!s || s.algorithm !== RNG_ALGORITHM || !Array.isArray(s.state) || s.state.length !== 4 || !s.state.every(isUint32)) {
      throw new UserError(`invalid RNG state (expected {algorithm: "${RNG_ALGORITHM}", state: [4 uint32]}): ${JSON.stringify(s)}`);
    }
    const r = new Rng(0);
    [r.a, r.b, r.c, r.d] = s.state as [number, number, number, number];
    return r;
  }

  /** JSON-serialisable snapshot; `Rng.fromState(r.state())` continues with identical numbers. */
  state(): RngState {
    return { algorithm: RNG_ALGORITHM, state: [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0] };
  }

  clone(): Rng {
    return Rng.fromState(this.state());
  }

  /** Next uniform 32-bit unsigned integer. */
  uint32(): number {
    // PractRand sfc32: tmp = a + b + counter++; a = b ^ (b >> 9); b = c + (c << 3); c = rotl(c, 21) + tmp
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (((this.c << 21) | (this.c >>> 11)) + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1), multiples of 2^-32. */
  next(): number {
    return this.uint32() / TWO_32;
  }

  /** Uniform integer in [0, n), exactly unbiased (rejection sampling); 1 ≤ n ≤ 2^32. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_32) throw new RangeError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    const limit = TWO_32 - (TWO_32 % n); // largest multiple of n not above 2^32
    for (;;) {
      const u = this.uint32();
      if (u < limit) return u % n;
    }
  }
}
