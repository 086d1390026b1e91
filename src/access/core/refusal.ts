// A refusal that names every blocker at once: rules add their sentence (with its form field) instead of
// throwing the first, so a user fixes everything in one round (a form shows each next to its field).
import { AppError, isAppError, type ErrorCode, type Problem } from '../../errors.js';

export class Refusal {
  private readonly found: Problem[] = [];

  add(code: ErrorCode, message: string, field?: string): void {
    this.found.push({ code, message, field });
  }

  /** Runs a rule that throws; its AppError (and every problem it carries) is kept instead. */
  check(rule: () => void): void {
    try {
      rule();
    } catch (err) {
      if (!isAppError(err) || err.code === 'internal') throw err;
      if (err.problems.length > 0) this.found.push(...err.problems);
      else this.add(err.code, err.message, err.field);
    }
  }

  get empty(): boolean {
    return this.found.length === 0;
  }

  /** Throws one AppError naming every problem found, or returns when there is none. */
  throwIfAny(): void {
    const [first, ...rest] = this.found;
    if (first === undefined) return;
    if (rest.length === 0) throw new AppError(first.code, first.message, { ...(first.field === undefined ? {} : { field: first.field }) });
    const message = [`This cannot be done yet, for ${this.found.length} reasons:`, ...this.found.map((p) => `• ${p.message}`)].join('\n');
    // The first problem's code and field: a caller that knows one field only shows it there.
    throw new AppError(first.code, message, { ...(first.field === undefined ? {} : { field: first.field }), problems: [...this.found] });
  }
}
