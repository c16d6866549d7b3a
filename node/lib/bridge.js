'use strict'
// Bridge (one NATS connection), Subscription, JetStreamConsumer and Delivery over the addon.
const native = require('../native.js')
const { call, fromNative, invalid, describe } = require('./errors.js')
const c = require('./convert.js')
const { defaults } = require('./api.js')

const KEY = Symbol('natsbridge.native')

function connectOptions(options) {
  if (options === undefined || options === null) return undefined
  if (typeof options === 'string' || Array.isArray(options)) return { servers: options }
  if (typeof options !== 'object') throw invalid(`connect options must be an object or a server URL, got ${describe(options)}`)
  const o = {}
  for (const k of ['token', 'user', 'pass', 'nkey', 'creds', 'name']) {
    const v = options[k]
    if (v === undefined || v === null) continue
    if (typeof v !== 'string') throw invalid(`option ${k} must be a string, got ${describe(v)}`)
    o[k] = v
  }
  const s = options.servers
  if (s !== undefined && s !== null) {
    if (!(typeof s === 'string' || (Array.isArray(s) && s.every((x) => typeof x === 'string')))) {
      throw invalid(`option servers must be a URL or an array of URLs, got ${describe(s)}`)
    }
    o.servers = s
  }
  const tls = options.tls
  if (tls !== undefined && tls !== null && tls !== false) {
    if (tls === true) o.tls = true
    else if (typeof tls === 'object') o.tls = { ca: tls.ca, cert: tls.cert, key: tls.key }
    else throw invalid(`option tls must be a boolean or { ca, cert, key }, got ${describe(tls)}`)
  }
  if (options.max_reconnects !== undefined && options.max_reconnects !== null) {
    if (!Number.isInteger(options.max_reconnects)) throw invalid('option max_reconnects must be an integer')
    o.max_reconnects = options.max_reconnects
  }
  if (options.connect_timeout !== undefined && options.connect_timeout !== null) {
    if (typeof options.connect_timeout !== 'number' || !(options.connect_timeout > 0)) {
      throw invalid('option connect_timeout must be a positive number of milliseconds')
    }
    o.connect_timeout = options.connect_timeout
  }
  if (options.retry_on_initial_connect !== undefined && options.retry_on_initial_connect !== null) {
    o.retry_on_initial_connect = Boolean(options.retry_on_initial_connect)
  }
  return o
}

/** Whether `v` is a promise (a native call not finished on the spot). */
function isPromise(v) {
  return v !== null && typeof v === 'object' && typeof v.then === 'function'
}

function checkSubject(subject) {
  if (typeof subject !== 'string') throw invalid(`subject must be a string, got ${describe(subject)}`)
}

/** One connection to NATS that speaks NATSBridge. Made by `Bridge.connect()`. */
class Bridge {
  constructor(handle) {
    if (!(handle instanceof native.Bridge)) throw invalid('use `await Bridge.connect(options)` to make a Bridge')
    Object.defineProperty(this, KEY, { value: handle })
  }

  /** Connects: `Bridge.connect({ servers, token, user, pass, nkey, creds, tls })`. */
  static async connect(options) {
    const o = connectOptions(options)
    return new Bridge(await call(() => native.Bridge.connect(o)))
  }

  get brokerUrl() {
    return this[KEY].brokerUrl
  }

  get maxPayload() {
    return this[KEY].maxPayload
  }

  get closed() {
    return this[KEY].closed
  }

  async smartsend(subject, data, options) {
    checkSubject(subject)
    const payloads = c.toNativePayloads(data)
    const n = await call(() => this[KEY].smartsend(subject, payloads, c.sendOptions(options, defaults)))
    return c.sentPair(n)
  }

  async smartrequest(subject, data, options) {
    checkSubject(subject)
    const payloads = c.toNativePayloads(data)
    const so = c.sendOptions(options, defaults)
    const ro = c.receiveOptions(options, defaults)
    const timeout = options && options.timeout !== undefined && options.timeout !== null ? options.timeout : undefined
    if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout > 0))) {
      throw invalid(`option timeout must be a positive number of milliseconds, got ${describe(timeout)}`)
    }
    // As `call`, without its extra async step (this is the request-reply hot path).
    let n
    try {
      n = this[KEY].smartrequest(subject, payloads, so, ro, timeout)
      if (isPromise(n)) n = await n
    } catch (e) {
      throw fromNative(e)
    }
    return c.receivedEnvelope(n, ro && ro.table_format)
  }

  async reply(env, data, options) {
    if (env === null || typeof env !== 'object') throw invalid(`reply needs the received envelope, got ${describe(env)}`)
    const replyTo = env.reply_to
    if (typeof replyTo !== 'string' || !replyTo) {
      throw invalid('the envelope has no reply_to to answer')
    }
    const msgId = env.msg_id
    if (msgId !== undefined && typeof msgId !== 'string') throw invalid('env.msg_id must be a string')
    const correlationId = env.correlation_id
    if (correlationId !== undefined && typeof correlationId !== 'string') {
      throw invalid('env.correlation_id must be a string')
    }
    const payloads = c.toNativePayloads(data)
    // As `call`, without its extra async step.
    let n
    try {
      n = this[KEY].reply(replyTo, msgId, correlationId, payloads, c.sendOptions(options, defaults))
      if (isPromise(n)) n = await n
    } catch (e) {
      throw fromNative(e)
    }
    return c.sentPair(n)
  }

  async subscribe(subject, options) {
    checkSubject(subject)
    const ro = c.receiveOptions(options, defaults)
    const queue = options && options.queue !== undefined && options.queue !== null ? options.queue : undefined
    if (queue !== undefined && typeof queue !== 'string') throw invalid(`option queue must be a string, got ${describe(queue)}`)
    const onError = options && options.on_error !== undefined && options.on_error !== null ? options.on_error : undefined
    if (onError !== undefined && typeof onError !== 'function') throw invalid(`option on_error must be a function, got ${describe(onError)}`)
    const handle = await call(() => this[KEY].subscribe(subject, ro, queue))
    return new Subscription(handle, ro && ro.table_format, onError)
  }

  async ensureStream(name, subjects) {
    if (typeof name !== 'string') throw invalid(`stream name must be a string, got ${describe(name)}`)
    const list = typeof subjects === 'string' ? [subjects] : subjects
    if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) {
      throw invalid(`subjects must be a subject or an array of subjects, got ${describe(subjects)}`)
    }
    return call(() => this[KEY].ensureStream(name, list))
  }

  async jetstreamPublish(subject, data, options) {
    checkSubject(subject)
    const payloads = c.toNativePayloads(data)
    const n = await call(() => this[KEY].jetstreamPublish(subject, payloads, c.sendOptions(options, defaults)))
    const [env, json] = c.sentPair(n.sent)
    return [env, json, n.ack]
  }

  async jetstreamConsumer(stream, durable, options) {
    if (typeof stream !== 'string') throw invalid(`stream must be a string, got ${describe(stream)}`)
    if (typeof durable !== 'string') throw invalid(`durable must be a string, got ${describe(durable)}`)
    const ro = c.receiveOptions(options, defaults)
    let co
    if (options) {
      co = {}
      for (const k of ['filter_subject', 'ack_mode', 'ack_wait', 'nak_delay', 'max_deliver']) {
        if (options[k] !== undefined && options[k] !== null) co[k] = options[k]
      }
    }
    const handle = await call(() => this[KEY].jetstreamConsumer(stream, durable, ro, co))
    return new JetStreamConsumer(handle, ro && ro.table_format)
  }

  flush() {
    return call(() => this[KEY].flush())
  }

  /** Drains and closes the connection; subscriptions end. */
  close() {
    return call(() => this[KEY].close())
  }
}

function iterate(next, stop) {
  return {
    async next() {
      const value = await next()
      return value === null ? { done: true, value: undefined } : { done: false, value }
    },
    async return() {
      await stop()
      return { done: true, value: undefined }
    },
    [Symbol.asyncIterator]() {
      return this
    },
  }
}

/** Decoded envelopes on a subject. `for await (const env of sub)`; `break` unsubscribes. A
 *  message that cannot be decoded rejects the iteration (the subscription stays usable), or goes
 *  to `on_error` and is skipped. */
class Subscription {
  constructor(handle, tableFormat, onError) {
    Object.defineProperty(this, KEY, { value: handle })
    Object.defineProperty(this, 'tableFormat', { value: tableFormat })
    Object.defineProperty(this, 'onError', { value: onError })
  }

  get subject() {
    return this[KEY].subject
  }

  /** The next decoded envelope, or null once closed. A bad message rejects this call only. */
  async next() {
    // As `call`, without its extra async step.
    let n
    try {
      n = this[KEY].next()
      if (isPromise(n)) n = await n
    } catch (e) {
      throw fromNative(e)
    }
    return n === null || n === undefined ? null : c.receivedEnvelope(n, this.tableFormat)
  }

  /** The next raw message `{ subject, reply, data }` (for `smartreceive`), or null once closed. */
  async nextMessage() {
    const m = await call(() => this[KEY].nextMessage())
    if (m === null || m === undefined) return null
    if (m.reply === null) delete m.reply
    return m
  }

  unsubscribe() {
    return call(() => this[KEY].unsubscribe())
  }

  [Symbol.asyncIterator]() {
    // `next()` inlined (one async step per envelope instead of three).
    const sub = this
    return {
      async next() {
        for (;;) {
          let n
          try {
            n = sub[KEY].next()
            if (isPromise(n)) n = await n
          } catch (e) {
            if (!sub.onError) throw fromNative(e)
            await sub.onError(fromNative(e))
            continue
          }
          if (n === null || n === undefined) return { done: true, value: undefined }
          let value
          try {
            value = c.receivedEnvelope(n, sub.tableFormat)
          } catch (e) {
            if (!sub.onError) throw e
            await sub.onError(e)
            continue
          }
          return { done: false, value }
        }
      },
      async return() {
        await sub.unsubscribe()
        return { done: true, value: undefined }
      },
      [Symbol.asyncIterator]() {
        return this
      },
    }
  }
}

/** A delivered envelope; `ack()` / `nak(delay)` it with `ack_mode: 'manual'`. */
class Delivery {
  constructor(d, tableFormat) {
    this.envelope = c.receivedEnvelope(d.envelope, tableFormat)
    this.delivered = d.delivered
    Object.defineProperty(this, KEY, { value: d.handle })
  }

  ack() {
    return call(() => this[KEY].ack())
  }

  nak(delay) {
    if (delay !== undefined && delay !== null && (typeof delay !== 'number' || !(delay >= 0))) {
      return Promise.reject(invalid(`nak delay must be a non-negative number of milliseconds, got ${describe(delay)}`))
    }
    return call(() => this[KEY].nak(delay ?? undefined))
  }
}

/** A durable JetStream consumer. `for await (const delivery of consumer)`; `break` stops it. */
class JetStreamConsumer {
  constructor(handle, tableFormat) {
    Object.defineProperty(this, KEY, { value: handle })
    Object.defineProperty(this, 'tableFormat', { value: tableFormat })
  }

  /** The next delivery within `timeout` ms (forever when omitted), or null on timeout/stop. */
  async next(timeout) {
    if (timeout !== undefined && timeout !== null && (typeof timeout !== 'number' || !(timeout >= 0))) {
      throw invalid(`timeout must be a non-negative number of milliseconds, got ${describe(timeout)}`)
    }
    const d = await call(() => this[KEY].next(timeout ?? undefined))
    return d === null || d === undefined ? null : new Delivery(d, this.tableFormat)
  }

  stop() {
    this[KEY].stop()
  }

  [Symbol.asyncIterator]() {
    return iterate(
      () => this.next(),
      async () => this.stop(),
    )
  }
}

module.exports = { Bridge, Subscription, JetStreamConsumer, Delivery }
