export {
  ambient,
  detached,
  type AmbientStore,
  type AmbientTransaction,
  type QueryResult,
  type ReadSession,
  type ResultMode,
  type ShapeCounts,
} from './ambient.js';
