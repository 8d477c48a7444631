/** The stream module's public surface for other features: serving a stored object with Range and validators. */
export { parseRange, type SendOptions, sendObject } from './send-object';
