export {
  foreignKey,
  id,
  optionalForeignKey,
  timestamps,
  type ForeignKeyOptions,
  type OptionalForeignKeyOptions,
  type ReferencedId,
} from './columns.js';
export { updatedAtTriggerSql, type UpdatedAtTriggerOptions } from './trigger.js';
