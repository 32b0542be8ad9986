/**
 * A refusal with a one-line reason, raised before anything in the kernel changed (or after a
 * complete rollback). The CLI prints `lb: <message>` and exits 1.
 */
export class LbError extends Error {
  constructor(
    message: string,
    readonly code = 'ELB',
  ) {
    super(message);
    this.name = 'LbError';
  }
}
