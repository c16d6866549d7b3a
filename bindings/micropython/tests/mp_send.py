# Sender: runs P["cases"] in order; a case sends its payloads with smartsend, or with
# smartrequest when "request" is true, and prints what it sent and what came back.
import mp_util
import natsbridge as nb

P = mp_util.params()
nc = nb.connect(P["url"])
for c in P["cases"]:
    data = [mp_util.make(s) for s in c["payloads"]]
    kw = {"broker_url": P["url"], "nats_connection": nc, "size_threshold": c.get("size_threshold", 100000),
          "fileserver_url": P.get("fileserver", "http://localhost:8080")}
    try:
        if c.get("request"):
            r = nb.smartrequest(c.get("subject", P["subject"]), data, timeout=c.get("timeout", 20), **kw)
            mp_util.out(case=c["name"], reply=mp_util.describe(r))
        else:
            env, s = nb.smartsend(c.get("subject", P["subject"]), data, **kw)
            mp_util.out(case=c["name"], msg_id=env["msg_id"], transports=[p["transport"] for p in env["payloads"]],
                        size=len(s))
    except nb.NATSBridgeError as e:
        mp_util.out(case=c["name"], error=e.kind, message=e.message)
nc.close()
