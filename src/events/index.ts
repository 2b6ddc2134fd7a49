export { DatabaseEventEmitter, dbEvents } from './emitter.js';
export type * from './types.js';
