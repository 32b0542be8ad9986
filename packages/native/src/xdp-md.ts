/**
 * The XDP test-run context (struct xdp_md from linux/bpf.h) as bytes, for
 * `BpfProgram.testRun({ ctx })`. Live-frames runs need `ingressIfindex`: it picks the device that
 * XDP_TX and redirects transmit through.
 */
export interface XdpMdFields {
  /** The interface the frame "arrived" on, in the calling thread's network namespace. */
  ingressIfindex?: number;
  rxQueueIndex?: number;
}

/** sizeof(struct xdp_md): data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex. */
export const XDP_MD_SIZE = 24;

export function xdpMd(fields: XdpMdFields = {}): Buffer {
  const ctx = Buffer.alloc(XDP_MD_SIZE);
  // data, data_end and data_meta must be zero: the kernel derives them from the packet.
  ctx.writeUInt32LE(fields.ingressIfindex ?? 0, 12);
  ctx.writeUInt32LE(fields.rxQueueIndex ?? 0, 16);
  return ctx;
}
