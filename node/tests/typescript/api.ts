// Uses the whole public API; compiled with `tsc --noEmit --strict` against the shipped index.d.ts
// (tests/typescript.test.js). Never run.
import * as NATSBridge from 'natsbridge'
import NATSBridgeDefault from 'natsbridge'
import {
  Bridge,
  Delivery,
  ErrorCode,
  JetStreamConsumer,
  NATSBridgeError,
  Subscription,
  fetchWithBackoff,
  plikOneshotUpload,
  smartreceive,
  smartsend,
} from 'natsbridge'
import type {
  ArrowTableLike,
  ConnectOptions,
  ConsumerOptions,
  DownloadHandler,
  EnvelopeHeader,
  ErrorKind,
  FileRef,
  NatsConnectionLike,
  NatsMsgLike,
  PayloadItem,
  PayloadType,
  PlikUploadResult,
  PublishAck,
  RawMessage,
  ReceiveOptions,
  ReceivedEnvelope,
  ReceivedPayload,
  RequestOptions,
  Row,
  SendOptions,
  SentEnvelope,
  SubscribeOptions,
  TlsOptions,
  UploadHandler,
  WirePayload,
} from 'natsbridge'
import * as nats from 'nats'
import * as arrow from 'apache-arrow'

async function seedApi(): Promise<void> {
  const imageData: Uint8Array = new Uint8Array([1, 2, 3])
  const largeFileData: Buffer = Buffer.alloc(10)
  const rows: Row[] = [{ id: 1, name: 'Alice', score: 95 }]
  const table: ArrowTableLike = arrow.tableFromArrays({ a: Float64Array.from([1, 2]) })
  const file: FileRef = { path: '/tmp/x' }
  const data: PayloadItem[] = [
    ['message_text', 'Hello!', 'text'],
    ['config', { wifi_ssid: 'MyNetwork', update_interval: 60 }, 'dictionary'],
    ['list', [1, 2, 3], 'dictionary'],
    ['students', rows, 'table'],
    ['arrow', table, 'table'],
    ['ipc', arrow.tableToIPC(arrow.tableFromArrays({ a: [1] }), 'stream'), 'table'],
    ['user_avatar', imageData, 'image'],
    ['voice', imageData.buffer, 'audio'],
    ['clip', file, 'video'],
    ['large_document', largeFileData, 'binary'],
  ]
  const upload: UploadHandler = async (fileserver_url, dataname, bytes) => `${fileserver_url}/${dataname}/${bytes.length}`
  const uploadObject: UploadHandler = (url) => ({ url })
  const download: DownloadHandler = async (url, max_retries, base_delay, max_delay, correlation_id, info) =>
    new Uint8Array(info.size + max_retries + base_delay + max_delay + url.length + correlation_id.length)
  const opts: SendOptions = {
    broker_url: 'nats://localhost:4222',
    fileserver_url: 'http://localhost:8080',
    fileserver_upload_handler: NATSBridge.plikOneshotUpload,
    size_threshold: 1_000_000,
    correlation_id: 'c',
    msg_purpose: 'chat',
    sender_name: 'NATSBridge',
    receiver_name: '',
    receiver_id: '',
    reply_to: '',
    reply_to_msg_id: '',
    is_publish: true,
    nats_connection: null,
    msg_id: 'm',
    sender_id: 's',
    metadata: { trace: 1 },
    max_payload: 1 << 20,
  }
  const [env, env_json_str]: [SentEnvelope, string] = await NATSBridge.smartsend('/chat/room1', data, opts)
  const wire: WirePayload = env.payloads[0]
  const header: EnvelopeHeader = env
  console.log(env_json_str.length, wire.transport, wire.encoding, wire.sha256, header.msg_id)
  await smartsend('x', data, { fileserver_upload_handler: upload })
  await smartsend('x', data, { fileserver_upload_handler: uploadObject })
  await NATSBridgeDefault.smartsend('x', [['t', 'x', 'text']] as const)

  const recvOpts: ReceiveOptions = {
    fileserver_download_handler: NATSBridge.fetchWithBackoff,
    max_retries: 5,
    base_delay: 100,
    max_delay: 5000,
    allowed_origins: ['http://127.0.0.1:8080'],
    max_in_memory: 1 << 30,
    save_dir: '/tmp',
    table_format: 'arrow',
  }
  const conn = await nats.connect({ servers: 'nats://localhost:4222' })
  const asConn: NatsConnectionLike = conn
  await smartsend('x', data, { nats_connection: asConn })
  await smartsend('x', data, { nats_connection: conn })
  const sub = conn.subscribe('/device/command')
  for await (const msg of sub) {
    const asMsg: NatsMsgLike = msg
    const received: ReceivedEnvelope = await NATSBridge.smartreceive(asMsg, recvOpts)
    const replyTo: string = received.reply_to
    for (const [dataname, value, type] of received.payloads) {
      const t: PayloadType = type
      if (dataname === 'command' && value.action === 'read_sensor' && replyTo) {
        await NATSBridge.smartsend(replyTo, [['data', { sensor_id: 'sensor-001', value: 42.5 }, 'dictionary']])
      }
      console.log(t)
    }
    const p: ReceivedPayload = received.payloads[0]
    console.log(p.id, p.transport, p.size, p.metadata, p[0], p[1], p[2])
  }
  await smartreceive(new Uint8Array(0), { fileserver_download_handler: download })
  await smartreceive(Buffer.from(''))
  await smartreceive(new ArrayBuffer(0))
  await smartreceive('{}')
  const again: ReceivedEnvelope = await smartreceive(await smartreceive('{}'))
  console.log(again.metadata)

  const plik: PlikUploadResult = await plikOneshotUpload('http://localhost:8080', 'name', largeFileData)
  console.log(plik.status, plik.uploadid, plik.fileid, plik.url)
  await plikOneshotUpload('http://localhost:8080', 'name', 'text')
  const bytes: Buffer = await fetchWithBackoff(plik.url, 5, 100, 5000, 'corr')
  await fetchWithBackoff(plik.url)
  console.log(bytes.length)
}

async function bridgeApi(): Promise<void> {
  const tls: TlsOptions = { ca: 'ca.pem', cert: 'c.pem', key: 'k.pem' }
  const connectOpts: ConnectOptions = {
    servers: ['nats://a:4222', 'nats://b:4222'],
    token: 't',
    user: 'u',
    pass: 'p',
    nkey: 'SU...',
    creds: 'x.creds',
    tls,
    name: 'n',
    max_reconnects: -1,
    connect_timeout: 5000,
    retry_on_initial_connect: false,
  }
  const bridge: Bridge = await Bridge.connect(connectOpts)
  await Bridge.connect('nats://localhost:4222')
  await Bridge.connect({ servers: 'nats://localhost:4222', tls: true })
  console.log(bridge.brokerUrl, bridge.maxPayload.toFixed(), bridge.closed)
  const [env, json] = await bridge.smartsend('s', [['a', 'b', 'text']], { sender_name: 'x' })
  console.log(env.msg_id, json)
  const reqOpts: RequestOptions = { timeout: 1000, table_format: 'rows', sender_name: 'r' }
  const reply: ReceivedEnvelope = await bridge.smartrequest('s', [['q', { n: 1 }, 'dictionary']], reqOpts)
  await bridge.reply(reply, [['a', 'b', 'text']])
  await bridge.reply({ reply_to: 'x', msg_id: 'm', correlation_id: 'c' }, [['a', 'b', 'text']], { msg_purpose: 'ACK' })

  const subOpts: SubscribeOptions = {
    queue: 'workers',
    table_format: 'ipc',
    on_error: (e: NATSBridgeError) => console.error(e.code, e.errno),
  }
  const sub: Subscription = await bridge.subscribe('s', subOpts)
  console.log(sub.subject)
  for await (const e of sub) {
    const r: ReceivedEnvelope = e
    console.log(r.payloads.length)
    break
  }
  const next: ReceivedEnvelope | null = await sub.next()
  const raw: RawMessage | null = await sub.nextMessage()
  if (raw) {
    console.log(raw.subject, raw.reply, raw.data.length)
    await smartreceive(raw)
  }
  console.log(next)
  await sub.unsubscribe()

  await bridge.ensureStream('S', ['s.>'])
  const [jsEnv, jsJson, ack]: [SentEnvelope, string, PublishAck] = await bridge.jetstreamPublish('s.x', [['a', 'b', 'text']], {
    msg_id: 'id',
  })
  console.log(jsEnv.msg_id, jsJson, ack.stream, ack.sequence, ack.duplicate)
  const consumerOpts: ReceiveOptions & ConsumerOptions = {
    filter_subject: 's.x',
    ack_mode: 'manual',
    ack_wait: 30000,
    nak_delay: 1000,
    max_deliver: -1,
    max_retries: 3,
  }
  const consumer: JetStreamConsumer = await bridge.jetstreamConsumer('S', 'durable', consumerOpts)
  const d: Delivery | null = await consumer.next(1000)
  if (d) {
    const e: ReceivedEnvelope = d.envelope
    const n: number = d.delivered
    console.log(e, n)
    await d.nak(100)
    await d.nak()
    await d.ack()
  }
  for await (const delivery of consumer) {
    await delivery.ack()
    break
  }
  consumer.stop()
  await bridge.flush()
  await bridge.close()
  await smartsend('s', [['a', 'b', 'text']], { nats_connection: bridge })
}

function errors(e: unknown): void {
  if (e instanceof NATSBridgeError) {
    const kind: ErrorKind = e.code
    const n: number = e.errno
    const same: boolean = ErrorCode[kind] === n && ErrorCode.EnvelopeTooLarge === 6
    const name: string = ErrorCode[6]
    console.log(e.message, e.name, kind, same, name, e instanceof Error)
  }
}

void seedApi
void bridgeApi
void errors
