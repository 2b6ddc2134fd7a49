import { maskUrl } from '../logger/index.js';

export { maskUrl };
