'use strict'
// A pure-JavaScript NATSBridge written the way the seed's JavaScript implementation works
// (nats.js, base64, JSON, apache-arrow, fetch for the Plik file server). Kept only here, as the
// benchmark's baseline; it is not part of the package.
const { randomUUID } = require('node:crypto')

function create({ arrow }) {
  const encoder = new TextEncoder()
  const decoder = new TextDecoder()
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

  async function plikOneshotUpload(fileServerURL, dataname, data) {
    const created = await fetch(`${fileServerURL}/upload`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ OneShot: true }),
    })
    const { id: uploadid, uploadToken } = await created.json()
    const form = new FormData()
    form.append('file', new Blob([data]), dataname)
    const uploaded = await fetch(`${fileServerURL}/file/${uploadid}`, {
      method: 'POST',
      headers: { 'X-UploadToken': uploadToken },
      body: form,
    })
    const { id: fileid, fileName } = await uploaded.json()
    return { status: uploaded.status, uploadid, fileid, url: `${fileServerURL}/file/${uploadid}/${fileid}/${fileName}` }
  }

  async function fetchWithBackoff(url, maxRetries = 5, baseDelay = 100, maxDelay = 5000) {
    let last
    for (let attempt = 1; attempt <= maxRetries; attempt++) {
      try {
        const res = await fetch(url)
        if (res.ok) return new Uint8Array(await res.arrayBuffer())
        last = new Error(`HTTP ${res.status}`)
        if (res.status < 500 && res.status !== 429) throw last
      } catch (e) {
        last = e
      }
      await sleep(Math.min(baseDelay * 2 ** (attempt - 1), maxDelay))
    }
    throw last
  }

  function serialize(value, type) {
    switch (type) {
      case 'text':
        return encoder.encode(value)
      case 'dictionary':
        return encoder.encode(JSON.stringify(value))
      case 'table':
        return arrow.tableToIPC(arrow.tableFromJSON(value), 'stream')
      default:
        return value
    }
  }

  function deserialize(bytes, type) {
    switch (type) {
      case 'text':
        return decoder.decode(bytes)
      case 'dictionary':
        return JSON.parse(decoder.decode(bytes))
      case 'table':
        return arrow.tableFromIPC(bytes).toArray().map((row) => row.toJSON())
      default:
        return bytes
    }
  }

  async function smartsend(subject, data, options = {}) {
    const {
      broker_url = 'nats://localhost:4222',
      fileserver_url = 'http://localhost:8080',
      fileserver_upload_handler = plikOneshotUpload,
      size_threshold = 1_000_000,
      correlation_id = randomUUID(),
      msg_purpose = 'chat',
      sender_name = 'NATSBridge',
      receiver_name = '',
      receiver_id = '',
      reply_to = '',
      reply_to_msg_id = '',
      is_publish = true,
      nats_connection = null,
      msg_id = randomUUID(),
      sender_id = randomUUID(),
    } = options
    const payloads = []
    for (const [dataname, value, type] of data) {
      const bytes = serialize(value, type)
      if (bytes.length < size_threshold) {
        payloads.push({
          id: randomUUID(),
          dataname,
          payload_type: type,
          transport: 'direct',
          encoding: 'base64',
          size: bytes.length,
          data: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
        })
      } else {
        const { url } = await fileserver_upload_handler(fileserver_url, dataname, bytes)
        payloads.push({ id: randomUUID(), dataname, payload_type: type, transport: 'link', encoding: 'none', size: bytes.length, data: url })
      }
    }
    const env = {
      correlation_id,
      msg_id,
      timestamp: new Date().toISOString(),
      send_to: subject,
      msg_purpose,
      sender_name,
      sender_id,
      receiver_name,
      receiver_id,
      reply_to,
      reply_to_msg_id,
      broker_url,
      metadata: {},
      payloads,
    }
    const env_json_str = JSON.stringify(env)
    if (is_publish) nats_connection.publish(subject, encoder.encode(env_json_str))
    return [env, env_json_str]
  }

  async function smartreceive(msg, options = {}) {
    const { fileserver_download_handler = fetchWithBackoff, max_retries = 5, base_delay = 100, max_delay = 5000 } = options
    const env = JSON.parse(decoder.decode(msg.data))
    const payloads = []
    for (const p of env.payloads) {
      const bytes =
        p.transport === 'direct'
          ? Buffer.from(p.data, 'base64')
          : await fileserver_download_handler(p.data, max_retries, base_delay, max_delay, env.correlation_id)
      payloads.push([p.dataname, deserialize(bytes, p.payload_type), p.payload_type])
    }
    env.payloads = payloads
    return env
  }

  return { smartsend, smartreceive, plikOneshotUpload, fetchWithBackoff }
}

module.exports = { create }
