/**
 * The time one request's reading and judging may take (docs/approvals-design.md, "Limits against
 * pathological input"): past it the rest is not read and the request asks a person, so no
 * request holds the daemon's event loop longer, whatever its length and however slow the machine.
 * The clock is read every 64 steps (a command, a word), which costs nothing measurable.
 */
export const JUDGING_BUDGET_MS = 30;

/** Why a line past its deadline is not read for certain (a parsed line's `opaque`). */
export const OUT_OF_TIME = `a line too long to judge within ${JUDGING_BUDGET_MS} ms`;

export class Deadline {
  readonly #at: number;
  #steps = 0;
  #passed = false;

  constructor(budgetMs: number = JUDGING_BUDGET_MS) {
    this.#at = performance.now() + budgetMs;
  }

  /** One step more; true once the deadline has passed (read at every 64th step). */
  step(): boolean {
    if (!this.#passed && (++this.#steps & 63) === 0) this.#passed = performance.now() > this.#at;
    return this.#passed;
  }

  /** Before a costly step (a rule against a long line): throws OutOfTime once the deadline has passed (read now). */
  check(): true {
    if (!this.#passed) this.#passed = performance.now() > this.#at;
    if (this.#passed) throw new OutOfTime();
    return true;
  }
}

/** Thrown by `Deadline.check`: the judging ran out of its time. */
export class OutOfTime extends Error {
  constructor() {
    super(OUT_OF_TIME);
  }
}
