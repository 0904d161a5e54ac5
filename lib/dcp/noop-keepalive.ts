/**
 * A producer's NOOPs (DCP_CONTROL enable_noop / set_noop_interval): one every interval, and a
 * consumer that has not answered the last one by the next is gone, so the connection closes.
 */
import { writeNoop, type DcpMessageWriter } from '../../protocol/dcp.js';
import { log } from '../log.js';

export class NoopKeepalive {
  private timer: NodeJS.Timeout | null = null;
  private outstanding = false;
  private opaque = 0x10000000;
  private interval: number | null = null;

  constructor(
    private readonly name: string,
    private readonly sink: { readonly out: DcpMessageWriter; push(): void; close(): void },
  ) {}

  enable(on: boolean): void {
    this.set(on ? (this.interval ?? 120) : null);
  }

  setInterval(seconds: number): void {
    this.interval = seconds;
    if (this.timer) this.set(seconds);
  }

  answered(): void {
    this.outstanding = false;
  }

  stop(): void {
    this.set(null);
  }

  private set(seconds: number | null): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (seconds === null) return;
    this.timer = setInterval(() => {
      if (this.outstanding) {
        log.warn(`dcp ${this.name}: consumer did not answer NOOP, closing`);
        this.sink.close();
        return;
      }
      this.outstanding = true;
      writeNoop(this.sink.out, this.opaque++);
      this.sink.push();
    }, seconds * 1000);
    this.timer.unref();
  }
}
