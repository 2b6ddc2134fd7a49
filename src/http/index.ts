export { errorBody, httpStatusOf, withHttpResponse } from './status.js';
