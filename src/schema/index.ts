export {
  foreignKey,
  id,
  optionalForeignKey,
  timestamps,
  type ForeignKeyName,
  type ForeignKeyOptions,
  type OptionalForeignKeyOptions,
  type ReferencedId,
} from './columns.js';
export { updatedAtTriggerSql, type UpdatedAtTriggerOptions } from './trigger.js';
