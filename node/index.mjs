// ESM entry: `import NATSBridge from 'natsbridge'` or `import { smartsend } from 'natsbridge'`.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const NATSBridge = require('./index.js')

export default NATSBridge
export const {
  smartsend,
  smartreceive,
  plikOneshotUpload,
  fetchWithBackoff,
  Bridge,
  Subscription,
  JetStreamConsumer,
  Delivery,
  NATSBridgeError,
  ErrorCode,
} = NATSBridge
