import type { RunProgress, StepLine } from './run-progress';

export interface Renderer {
  update(progress: RunProgress, changed: string | undefined): void;
  finish(progress: RunProgress): void;
}

const ESC = '\x1b[';
const paint = (color: boolean) => (code: string, s: string) => (color ? `${ESC}${code}m${s}${ESC}0m` : s);

const SYMBOL: Record<string, string> = { succeeded: '✓', failed: '✗', skipped: '-', cancelled: '⊘', pending: '·' };
const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

function tokens(s: StepLine): string {
  return s.inputTokens || s.outputTokens ? `${s.inputTokens}+${s.outputTokens} tok` : '';
}

/**
 * On a terminal: the graph's steps as a table redrawn in place (cursor up, clear line),
 * at most every 80 ms, with a spinner on the steps that are running.
 */
export class TtyRenderer implements Renderer {
  private drawn = 0;
  private frame = 0;
  private lastDraw = 0;
  private readonly color: (code: string, s: string) => string;
  private readonly timer: NodeJS.Timeout;
  private last: RunProgress | undefined;
  private finished = false;

  constructor(
    private readonly out: NodeJS.WritableStream,
    color: boolean,
  ) {
    this.color = paint(color);
    this.out.write(`${ESC}?25l`);
    this.timer = setInterval(() => this.last && this.draw(this.last), 120);
  }

  update(progress: RunProgress): void {
    if (this.finished) return;
    this.last = progress;
    if (Date.now() - this.lastDraw >= 80) this.draw(progress);
  }

  finish(progress: RunProgress): void {
    if (this.finished) return;
    this.finished = true;
    clearInterval(this.timer);
    this.draw(progress);
    this.out.write(`${ESC}?25h`);
  }

  private draw(p: RunProgress): void {
    this.lastDraw = Date.now();
    this.frame = (this.frame + 1) % SPINNER.length;
    const width = Math.max(4, ...[...p.steps.keys()].map((k) => k.length));
    const lines = [...p.steps.values()].map((s) => {
      const symbol = SYMBOL[s.status] ?? SPINNER[this.frame]!;
      const tone = s.status === 'succeeded' ? '32' : s.status === 'failed' ? '31' : s.status === 'pending' || s.status === 'skipped' ? '2' : '33';
      const cells = [
        this.color(tone, `${symbol} ${s.id.padEnd(width)}`),
        this.color(tone, s.status.padEnd(10)),
        this.color('36', s.model.padEnd(16)),
        tokens(s).padEnd(16),
        s.attempt > 1 ? `attempt ${s.attempt}` : '',
        s.score !== null ? `score ${s.score.toFixed(2)}` : '',
        this.color('2', s.note),
      ];
      return `  ${cells.join(' ').trimEnd()}`;
    });
    const t = p.totals;
    lines.push(this.color('1', `  run ${p.status}${p.queue ? ` (${p.queue})` : ''} · ${t.inputTokens}+${t.outputTokens} tokens`));
    let out = this.drawn ? `${ESC}${this.drawn}A` : '';
    for (const line of lines) out += `${ESC}2K${line}\n`;
    this.out.write(out);
    this.drawn = lines.length;
  }
}

/** Off a terminal (a pipe, a log file, CI): one line per change of a step, never redrawn. */
export class PlainRenderer implements Renderer {
  constructor(private readonly out: NodeJS.WritableStream) {}

  update(p: RunProgress, changed: string | undefined): void {
    if (changed === 'run' && (p.status === 'queued' || p.status === 'running')) {
      // Waiting, and then starting, are worth a line each; the end is the run command's summary.
      this.out.write(p.status === 'queued' ? `run queued${p.queue ? ` (${p.queue})` : ''}\n` : 'run started\n');
      return;
    }
    if (!changed || changed === 'run') return;
    const s = p.steps.get(changed)!;
    const details = [s.model, s.attempt > 1 ? `attempt ${s.attempt}` : '', tokens(s), s.score !== null ? `score ${s.score.toFixed(2)}` : '', s.note].filter(Boolean);
    this.out.write(`step ${s.id} ${s.status}${details.length ? ` (${details.join(', ')})` : ''}\n`);
  }

  finish(): void {}
}
