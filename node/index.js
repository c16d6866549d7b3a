'use strict'
// natsbridge: typed multi-payload messages over NATS with the claim-check pattern, on the
// NATSBridge engine (Rust, napi-rs). The seed's JavaScript API:
//   const NATSBridge = require('natsbridge')
//   const [env, env_json_str] = await NATSBridge.smartsend(subject, [[name, value, type]], options)
//   const env = await NATSBridge.smartreceive(msg, options)
const native = require('./native.js')
const { NATSBridgeError, ErrorCode } = require('./lib/errors.js')
const { smartsend, smartreceive, plikOneshotUpload, fetchWithBackoff } = require('./lib/api.js')
const { Bridge, Subscription, JetStreamConsumer, Delivery } = require('./lib/bridge.js')

module.exports = {
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
}

// For the package's own tests only.
Object.defineProperty(module.exports, '__native', { value: native, enumerable: false })
