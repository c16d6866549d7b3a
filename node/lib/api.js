'use strict'
// The seed's module-level API: smartsend, smartreceive, plikOneshotUpload, fetchWithBackoff.
const native = require('../native.js')
const { NATSBridgeError, call, invalid, describe } = require('./errors.js')
const c = require('./convert.js')

function checkString(v, name) {
  if (typeof v !== 'string') throw invalid(`${name} must be a string, got ${describe(v)}`)
}

function checkOptionalNumber(v, name, integer) {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (integer && !Number.isInteger(v))) {
    throw invalid(`${name} must be a non-negative ${integer ? 'integer' : 'number'}, got ${describe(v)}`)
  }
  return v
}

/**
 * The seed's default upload handler: a one-shot upload to a Plik-compatible server (such as
 * `natsbridge serve-files`). Resolves to `{ status, uploadid, fileid, url }`.
 */
async function plikOneshotUpload(fileserver_url, dataname, data) {
  checkString(fileserver_url, 'fileserver_url')
  checkString(dataname, 'dataname')
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : c.asBuffer(data)
  if (!bytes) throw invalid(`data must be a Uint8Array, Buffer, ArrayBuffer or string, got ${describe(data)}`)
  return call(() => native.plikOneshotUpload(fileserver_url, dataname, bytes))
}

/** The seed's default download handler: GET with exponential backoff; resolves to a Buffer. */
async function fetchWithBackoff(url, max_retries, base_delay, max_delay, correlation_id) {
  checkString(url, 'url')
  const n = checkOptionalNumber(max_retries, 'max_retries', true)
  const b = checkOptionalNumber(base_delay, 'base_delay', false)
  const m = checkOptionalNumber(max_delay, 'max_delay', false)
  const cid = correlation_id === undefined || correlation_id === null ? undefined : String(correlation_id)
  return call(() => native.fetchWithBackoff(url, n, b, m, cid))
}

const defaults = { upload: plikOneshotUpload, download: fetchWithBackoff }

/**
 * Sends `data` (`[[dataname, value, type], ...]`) to `subject`; resolves to `[env, env_json_str]`.
 * With `nats_connection` set to a nats.js connection the envelope is built to fit that
 * connection's `max_payload` and published through it; a `Bridge` publishes itself.
 */
async function smartsend(subject, data, options) {
  const conn = options !== undefined && options !== null ? options.nats_connection : undefined
  const { Bridge } = require('./bridge.js')
  if (conn instanceof Bridge) return conn.smartsend(subject, data, options)
  checkString(subject, 'subject')
  const payloads = c.toNativePayloads(data)
  const o = c.sendOptions(options, defaults) || {}
  if (conn === undefined || conn === null) {
    const n = await call(() => native.smartsend(subject, payloads, o, false))
    return c.sentPair(n)
  }
  if (typeof conn !== 'object' || typeof conn.publish !== 'function') {
    throw invalid(`nats_connection must be a nats.js connection (with publish) or a Bridge, got ${describe(conn)}`)
  }
  const publish = o.is_publish !== false
  const serverMax = conn.info && typeof conn.info.max_payload === 'number' ? conn.info.max_payload : undefined
  const maxPayload = o.max_payload !== undefined && serverMax !== undefined ? Math.min(o.max_payload, serverMax) : (o.max_payload ?? serverMax)
  if (o.broker_url === undefined && typeof conn.getServer === 'function') {
    const server = conn.getServer()
    if (typeof server === 'string' && server) o.broker_url = server.includes('://') ? server : `nats://${server}`
  }
  const n = await call(() =>
    native.smartsend(subject, payloads, { ...o, is_publish: false, max_payload: maxPayload }, publish),
  )
  if (publish) {
    try {
      conn.publish(subject, n.bytes)
    } catch (e) {
      throw new NATSBridgeError('Publish', `publishing through the nats.js connection failed: ${e && e.message}`, {
        cause: e,
      })
    }
  }
  return c.sentPair(n)
}

/**
 * Decodes a message (a nats.js message, a `RawMessage`, bytes or JSON text) into the seed's
 * envelope object whose `payloads` is `[[dataname, value, type], ...]`, fetching link payloads.
 * An envelope this package decoded already is returned as it is.
 */
async function smartreceive(msg, options) {
  if (msg !== null && typeof msg === 'object' && c.isDecoded(msg)) return msg
  const bytes = c.messageBytes(msg)
  const o = c.receiveOptions(options, defaults)
  const n = await call(() => native.smartreceive(bytes, o))
  const env = c.receivedEnvelope(n, o && o.table_format)
  if (!env.reply_to && msg !== null && typeof msg === 'object' && typeof msg.reply === 'string' && msg.reply) {
    // A plain NATS request: answer on its reply subject.
    env.reply_to = msg.reply
  }
  return env
}

module.exports = { smartsend, smartreceive, plikOneshotUpload, fetchWithBackoff, defaults }
