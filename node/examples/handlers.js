// Your own claim-check store: JavaScript functions as upload and download handlers (they may
// return Promises). Here an in-memory map stands in for S3 or any other store.
const NATSBridge = require('natsbridge')

const store = new Map()

async function uploadToMyStore(fileserver_url, dataname, data) {
  const url = `${fileserver_url}/objects/${store.size}/${dataname}`
  store.set(url, Buffer.from(data))
  return { url } // or just the URL string
}

async function downloadFromMyStore(url, max_retries, base_delay, max_delay, correlation_id) {
  const data = store.get(url)
  if (!data) throw new Error(`not found: ${url}`)
  return data
}

async function main() {
  const [env, env_json_str] = await NATSBridge.smartsend('reports', [['report', Buffer.alloc(3_000_000, 1), 'binary']], {
    fileserver_url: 'https://my-store.example',
    fileserver_upload_handler: uploadToMyStore,
    is_publish: false, // build only: no NATS needed for this example
  })
  console.log(`report travels as ${env.payloads[0].transport}: ${env.payloads[0].data}`)
  const received = await NATSBridge.smartreceive(env_json_str, { fileserver_download_handler: downloadFromMyStore })
  console.log(`received ${received.payloads[0][1].length} bytes, sha256 checked`)
}

main()
