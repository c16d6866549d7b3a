# Listener: prints every envelope it receives on P["subject"]; answers (echoes the payloads back
# with natsbridge.reply) when the envelope has a reply_to. Exits after P["count"] messages.
import mp_util
import natsbridge as nb

P = mp_util.params()
nc = nb.connect(P["url"])
sid = nc.subscribe(P["subject"])
nc.flush()
mp_util.out(ready=True)
for i in range(P["count"]):
    m = nc.next_msg(sid, P.get("timeout", 30))
    try:
        env = nb.smartreceive(m)
    except nb.NATSBridgeError as e:
        mp_util.out(error=e.kind, message=e.message)
        continue
    mp_util.out(received=mp_util.describe(env), nats_reply=m.reply)
    if env["reply_to"]:
        e2, s = nb.reply(env, env["payloads"], nats_connection=nc, broker_url=P["url"],
                         fileserver_url=P.get("fileserver", "http://localhost:8080"),
                         size_threshold=P.get("size_threshold", 100000), sender_name="mp-echo")
        mp_util.out(replied=e2["msg_id"], transports=[p["transport"] for p in e2["payloads"]])
nc.close()
