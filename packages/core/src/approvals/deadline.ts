/**
 * The time one request's reading and judging may take (docs/approvals-design.md, "Limits against
 * pathological input"): past it the rest is not read and the request asks a person, so no
 * request holds the daemon's event loop longer, whatever its length and however slow the machine.
 * The time counted is the CPU time of the thread that judges: a machine busy with other work
 * delays the answer but never turns an ordinary request into a question for a person. The wall
 * clock is read first (every 64 steps, a command or a word; cheap), the thread's CPU time only once
 * the wall time has passed the budget (it can pass it no sooner).
 */
export const JUDGING_BUDGET_MS = 30;

/** Why a line past its deadline is not read for certain (a parsed line's `opaque`). */
export const OUT_OF_TIME = `a line too long to judge within ${JUDGING_BUDGET_MS} ms`;

/** The CPU time of this thread in milliseconds (the process's, on a Node without threadCpuUsage). */
const threadCpuMs: () => number =
  typeof process.threadCpuUsage === 'function'
    ? () => {
        const used = process.threadCpuUsage();
        return (used.user + used.system) / 1000;
      }
    : () => {
        const used = process.cpuUsage();
        return (used.user + used.system) / 1000;
      };

export class Deadline {
  readonly #budgetMs: number;
  readonly #wallStart = performance.now();
  readonly #cpuStart = threadCpuMs();
  #steps = 0;
  #passed = false;

  constructor(budgetMs: number = JUDGING_BUDGET_MS) {
    this.#budgetMs = budgetMs;
    // No time at all has passed at once: the thread's CPU clock may not tick within a short judging (ci4 read 0 ms after a long line).
    this.#passed = budgetMs <= 0;
  }

  #over(): boolean {
    if (performance.now() - this.#wallStart <= this.#budgetMs) return false;
    this.#passed = threadCpuMs() - this.#cpuStart > this.#budgetMs;
    return this.#passed;
  }

  /** One step more; true once the budget is spent (read at every 64th step). */
  step(): boolean {
    if (!this.#passed && (++this.#steps & 63) === 0) this.#over();
    return this.#passed;
  }

  /** Before a costly step (a rule against a long line): throws OutOfTime once the budget is spent (read now). */
  check(): true {
    if (!this.#passed) this.#over();
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
