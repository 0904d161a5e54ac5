/**
 * Reads meta-command replies off a stream for the load generator: one callback per complete
 * reply (VA with its value, HD, EN, NS, EX, NF, or an error line).
 */
export type MetaReply = 'hit' | 'miss' | 'stored' | 'other';

export class MetaReplyReader {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly onReply: (r: MetaReply) => void) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    let at = 0;
    for (;;) {
      const nl = this.buf.indexOf(0x0a, at);
      if (nl < 0) break;
      const head = this.buf.toString('latin1', at, Math.min(nl, at + 16));
      if (head.startsWith('VA ')) {
        const size = Number.parseInt(head.slice(3), 10);
        if (this.buf.length < nl + 1 + size + 2) break;
        at = nl + 1 + size + 2;
        this.onReply('hit');
        continue;
      }
      at = nl + 1;
      this.onReply(head.startsWith('EN') ? 'miss' : head.startsWith('HD') ? 'stored' : 'other');
    }
    this.buf = this.buf.subarray(at);
  }
}
