// The packet toolkit: build, parse, verify, explain. Re-exported from the package's index.
export * from './types.js';
export { formatIpv4, formatIpv6, formatMac, ipFamily, parseIpv4, parseIpv6, parseMac } from './addr.js';
export {
  type BuildOptions,
  buildFrame,
  buildIpPacket,
  DEFAULT_DST_MAC,
  DEFAULT_SRC_MAC,
  encodeTcpOptions,
  tcpFlagBits,
  tcpFlagsFromBits,
  tcpFlagsString,
} from './build.js';
export { decodeTcpOptions, type FieldFormat, type FieldSpan, frameLayout, parseFrame, parseIpPacket } from './parse.js';
export { type ChecksumProblem, verifyChecksums, type VerifyOptions } from './verify.js';
export { assertFrameEqual, diffFrames, hexdump, summarizeFrame, truncate, truncateAt } from './dump.js';
