// The one system call of the instance lock (state/lock.ts) that Node lacks: flock(2), from the
// native addon (core reaches the addon only through this directory).
export { flock } from '@xdp-lb/native';
