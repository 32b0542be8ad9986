/**
 * The XDP test-run context (struct xdp_md from linux/bpf.h) as bytes, for
 * `BpfProgram.testRun({ data, ctx })`. The kernel requires `data_end` to equal the packet's length
 * (and data/data_meta to be zero: no metadata). Live-frames runs use `ingressIfindex` as the
 * device that XDP_TX and redirects transmit through; without a context they use the namespace's
 * loopback device.
 */
export interface XdpMdFields {
  /** Length of the `data` passed to testRun. */
  packetLength: number;
  /** The interface the frame "arrived" on, in the calling thread's network namespace. */
  ingressIfindex?: number;
  rxQueueIndex?: number;
}

/** sizeof(struct xdp_md): data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex. */
export const XDP_MD_SIZE = 24;

export function xdpMd(fields: XdpMdFields): Buffer {
  const ctx = Buffer.alloc(XDP_MD_SIZE);
  ctx.writeUInt32LE(fields.packetLength, 4);
  ctx.writeUInt32LE(fields.ingressIfindex ?? 0, 12);
  ctx.writeUInt32LE(fields.rxQueueIndex ?? 0, 16);
  return ctx;
}
