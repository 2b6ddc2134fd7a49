export { errorBody, httpStatusOf, installHttpResponses } from './status.js';
