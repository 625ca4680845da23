/**
 * A process's vectors of one model, held in WebAssembly memory and scored by SIMD dot products.
 * The daemon runs node without its optimizing compilers (docs/daemon.md#memory): a JavaScript loop
 * over 10,000 vectors of 1,536 floats takes ~0.7 s there, this module's loop ~20 ms (WebAssembly's
 * baseline compiler emits SIMD instructions). Vectors are stored as given (semantic.ts gives unit
 * vectors, so a dot product is a cosine), padded with zeros to a multiple of 4 floats.
 *
 * The module, written out below, exports its memory and
 * `dots(query, base, idx, n, dims, out)`: for j < n, out[j] = Σ query[i] · vector(idx[j])[i], where
 * vector(k) starts at base + k · dims · 4 and dims is a multiple of 4 (all offsets in bytes).
 */

const ZERO_V128 = new Array<number>(16).fill(0);
// biome-ignore format: one line per instruction group, as commented
const DOTS_BODY = [
  0x02, 0x04, 0x7f, 0x01, 0x7b, // locals 6..9: i32 p, qp, end, j; 10: v128 acc
  0x02, 0x40, 0x20, 0x03, 0x45, 0x0d, 0x00, // block; n == 0: done
  0x03, 0x40, // loop over j
  0x20, 0x01, 0x20, 0x02, 0x20, 0x09, 0x41, 0x02, 0x74, 0x6a, 0x28, 0x02, 0x00, 0x20, 0x04, 0x6c, 0x41, 0x02, 0x74, 0x6a, 0x21, 0x06, // p = base + idx[j] * dims * 4
  0x20, 0x00, 0x21, 0x07, // qp = query
  0x20, 0x00, 0x20, 0x04, 0x41, 0x02, 0x74, 0x6a, 0x21, 0x08, // end = query + dims * 4
  0xfd, 0x0c, ...ZERO_V128, 0x21, 0x0a, // acc = 0
  0x03, 0x40, // loop over 4 floats at a time
  0x20, 0x0a, 0x20, 0x06, 0xfd, 0x00, 0x02, 0x00, 0x20, 0x07, 0xfd, 0x00, 0x02, 0x00, 0xfd, 0xe6, 0x01, 0xfd, 0xe4, 0x01, 0x21, 0x0a, // acc += p[..4] * qp[..4]
  0x20, 0x06, 0x41, 0x10, 0x6a, 0x21, 0x06, // p += 16
  0x20, 0x07, 0x41, 0x10, 0x6a, 0x22, 0x07, 0x20, 0x08, 0x49, 0x0d, 0x00, // qp += 16; qp < end: again
  0x0b,
  0x20, 0x05, 0x20, 0x09, 0x41, 0x02, 0x74, 0x6a, // &out[j]
  0x20, 0x0a, 0xfd, 0x1f, 0x00, 0x20, 0x0a, 0xfd, 0x1f, 0x01, 0x92, 0x20, 0x0a, 0xfd, 0x1f, 0x02, 0x92, 0x20, 0x0a, 0xfd, 0x1f, 0x03, 0x92, // the lanes' sum
  0x38, 0x02, 0x00, // out[j] = it
  0x20, 0x09, 0x41, 0x01, 0x6a, 0x22, 0x09, 0x20, 0x03, 0x49, 0x0d, 0x00, // j++; j < n: again
  0x0b, 0x0b, 0x0b,
];

const leb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
};
const section = (id: number, bytes: number[]): number[] => [id, ...leb(bytes.length), ...bytes];
const name = (s: string): number[] => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];

const MODULE_BYTES = Uint8Array.from([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
  ...section(1, [0x01, 0x60, 0x06, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x00]), // (i32 × 6) -> ()
  ...section(3, [0x01, 0x00]),
  ...section(5, [0x01, 0x00, 0x01]), // one memory, 1 page to start
  ...section(7, [0x02, ...name('mem'), 0x02, 0x00, ...name('dots'), 0x00, 0x00]),
  ...section(10, [0x01, ...leb(DOTS_BODY.length), ...DOTS_BODY]),
]);

type Dots = (query: number, base: number, idx: number, n: number, dims: number, out: number) => void;

/** The parts of WebAssembly used here (the project's TypeScript libs leave WebAssembly out). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface Wasm {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}
const wasm = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;

let compiled: object | undefined;
const PAGE = 65_536;

interface Held {
  updatedAt: number;
  /** -1: this version has no usable vector (refused by the endpoint, or of another length). */
  slot: number;
}

export class VectorArena {
  readonly #limit: number;
  readonly #held = new Map<string, Held>();
  readonly #free: number[] = [];
  readonly #memory: WasmMemory;
  readonly #dots: Dots;
  #dims = 0;
  #slots = 0;

  constructor(limit: number) {
    this.#limit = limit;
    compiled ??= new wasm.Module(MODULE_BYTES);
    const exports = new wasm.Instance(compiled).exports as { mem: WasmMemory; dots: Dots };
    this.#memory = exports.mem;
    this.#dots = exports.dots;
  }

  /** The `updatedAt` of the entry's vector held here, if any. */
  versionOf(id: string): number | undefined {
    return this.#held.get(id)?.updatedAt;
  }

  get size(): number {
    return this.#held.size;
  }

  /** Holds the entry's vector (replacing an older one); the first vector sets the length, another length is held as none. */
  set(id: string, updatedAt: number, vector: Float32Array): void {
    this.#release(id);
    if (this.#held.size >= this.#limit) this.#release(this.#held.keys().next().value as string);
    if (this.#dims === 0 && vector.length > 0) this.#dims = Math.ceil(vector.length / 4) * 4;
    if (vector.length === 0 || Math.ceil(vector.length / 4) * 4 !== this.#dims) {
      this.#held.set(id, { updatedAt, slot: -1 });
      return;
    }
    const slot = this.#free.pop() ?? this.#slots++;
    this.#reserve(this.#offsetOf(slot + 1));
    const view = new Float32Array(this.#memory.buffer, this.#offsetOf(slot), this.#dims);
    view.fill(0);
    view.set(vector);
    this.#held.set(id, { updatedAt, slot });
  }

  /** Each id's dot product with `query` (ids without a usable vector are left out). */
  scores(query: Float32Array, ids: readonly string[]): Array<{ id: string; score: number }> {
    if (this.#dims === 0 || Math.ceil(query.length / 4) * 4 !== this.#dims) return [];
    const kept = ids.filter((id) => (this.#held.get(id)?.slot ?? -1) >= 0);
    const idxAt = this.#offsetOf(this.#slots);
    const outAt = idxAt + kept.length * 4;
    this.#reserve(outAt + kept.length * 4);
    const buffer = this.#memory.buffer;
    const q = new Float32Array(buffer, this.#offsetOf(-1), this.#dims);
    q.fill(0);
    q.set(query);
    const idx = new Int32Array(buffer, idxAt, kept.length);
    for (const [j, id] of kept.entries()) idx[j] = this.#held.get(id)!.slot;
    this.#dots(this.#offsetOf(-1), this.#offsetOf(0), idxAt, kept.length, this.#dims, outAt);
    const out = new Float32Array(buffer, outAt, kept.length);
    return kept.map((id, j) => ({ id, score: out[j]! }));
  }

  #release(id: string): void {
    const held = this.#held.get(id);
    if (!held) return;
    this.#held.delete(id);
    if (held.slot >= 0) this.#free.push(held.slot);
  }

  /** Slot -1 is the query's; the vectors follow. */
  #offsetOf(slot: number): number {
    return (slot + 1) * this.#dims * 4;
  }

  #reserve(bytes: number): void {
    const have = this.#memory.buffer.byteLength;
    // Doubling: a grow copies the memory, so growing by what is missing for each vector would copy it once per few vectors.
    if (bytes > have) this.#memory.grow(Math.max(Math.ceil((bytes - have) / PAGE), have / PAGE));
  }
}
