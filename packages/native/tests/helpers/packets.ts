/** Builds test frames byte by byte, so a fixture says what it sends. */

export function mac(text: string): Buffer {
  const bytes = text.split(':').map((h) => Number.parseInt(h, 16));
  if (bytes.length !== 6 || bytes.some((b) => Number.isNaN(b))) throw new Error(`bad MAC ${text}`);
  return Buffer.from(bytes);
}

export interface FrameSpec {
  dst: string;
  src: string;
  etherType: number;
  /** Payload bytes after the Ethernet header (filled with a counting pattern). */
  payloadLength?: number;
}

export function ethernetFrame(spec: FrameSpec): Buffer {
  const payload = Buffer.alloc(spec.payloadLength ?? 46);
  for (let i = 0; i < payload.length; i++) payload[i] = i & 0xff;
  const header = Buffer.alloc(14);
  mac(spec.dst).copy(header, 0);
  mac(spec.src).copy(header, 6);
  header.writeUInt16BE(spec.etherType, 12);
  return Buffer.concat([header, payload]);
}
